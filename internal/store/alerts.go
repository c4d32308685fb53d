package store

import (
	"context"
	"fmt"
	"time"

	"github.com/statusd/statusd/internal/status"
)

// CauseAlert is a service change an Alertmanager alert made.
const CauseAlert = "alert"

// ServiceAlert is a firing alert that holds a service's status.
type ServiceAlert struct {
	ServiceID   int64     `db:"service_id"`
	Fingerprint string    `db:"fingerprint"`
	Name        string    `db:"alertname"`
	Status      int       `db:"status"`
	Summary     string    `db:"summary"`
	StartsAt    time.Time `db:"starts_at"`
}

// SetServiceAlert records a firing alert of a service; new is true when
// the store did not have it (Alertmanager repeats firing alerts).
func (t *Tx) SetServiceAlert(a ServiceAlert, now time.Time) (isNew bool, err error) {
	var n int
	if err := t.get(&n, "SELECT COUNT(*) FROM service_alerts WHERE service_id = ? AND fingerprint = ?", a.ServiceID, a.Fingerprint); err != nil {
		return false, fmt.Errorf("read alert: %w", err)
	}
	_, err = t.exec(`INSERT INTO service_alerts (service_id, fingerprint, alertname, status, summary, starts_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (service_id, fingerprint) DO UPDATE SET alertname = excluded.alertname, status = excluded.status,
			summary = excluded.summary, updated_at = excluded.updated_at`,
		a.ServiceID, a.Fingerprint, a.Name, a.Status, a.Summary, a.StartsAt.UTC(), now.UTC())
	if err != nil {
		return false, fmt.Errorf("record alert %s: %w", a.Name, err)
	}
	return n == 0, nil
}

// ClearServiceAlert removes a resolved alert; found is false when the
// store did not have it.
func (t *Tx) ClearServiceAlert(serviceID int64, fingerprint string) (found bool, err error) {
	res, err := t.exec("DELETE FROM service_alerts WHERE service_id = ? AND fingerprint = ?", serviceID, fingerprint)
	if err != nil {
		return false, fmt.Errorf("clear alert: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// AlertStatus is the worst status a service's firing alerts give it
// (operational when none fires).
func (t *Tx) AlertStatus(serviceID int64) (status.ServiceStatus, error) {
	var worst int
	if err := t.get(&worst, "SELECT COALESCE(MAX(status), 0) FROM service_alerts WHERE service_id = ?", serviceID); err != nil {
		return 0, fmt.Errorf("read alerts: %w", err)
	}
	return status.ServiceStatus(worst), nil
}

// AlertStatuses is the worst status the firing alerts give each service,
// by name, for the services that have some.
func (s *Store) AlertStatuses(ctx context.Context) (map[string]status.ServiceStatus, error) {
	var rows []struct {
		Name   string `db:"name"`
		Status int    `db:"status"`
	}
	if err := s.selectPrepared(ctx, &rows, `SELECT s.name, MAX(a.status) AS status FROM service_alerts a
		JOIN services s ON s.id = a.service_id GROUP BY s.name`); err != nil {
		return nil, fmt.Errorf("read alerts: %w", err)
	}
	out := make(map[string]status.ServiceStatus, len(rows))
	for _, r := range rows {
		out[r.Name] = status.ServiceStatus(r.Status)
	}
	return out, nil
}
