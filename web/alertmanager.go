package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/statusd/statusd/internal/alert"
	"github.com/statusd/statusd/internal/status"
)

// Alerts applies Alertmanager's alerts to services (the evaluator).
type Alerts interface {
	Alerts(ctx context.Context, alerts []alert.Alert) ([]alert.Outcome, error)
}

// Labels of an alert that statusd reads.
const (
	// ServiceLabel names the service an alert is about.
	ServiceLabel = "statusd_service"
	// StatusLabel sets the status the alert gives it; without it the
	// status comes from the severity label.
	StatusLabel = "statusd_status"
)

// amMessage is Alertmanager's webhook payload, version 4 (the fields
// statusd reads). Written here rather than imported: the alertmanager
// module's notify/webhook package brings 65 modules and 19 MB of binary
// with it (measured with a one-line program) for two structs.
type amMessage struct {
	Version  string    `json:"version"`
	Status   string    `json:"status"`
	Receiver string    `json:"receiver"`
	Alerts   []amAlert `json:"alerts"`
}

type amAlert struct {
	Status      string            `json:"status"` // firing or resolved
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    time.Time         `json:"startsAt"`
	Fingerprint string            `json:"fingerprint"`
}

// severityStatus maps an alert's severity to the status it gives its
// service when it has no statusd_status label.
var severityStatus = map[string]status.ServiceStatus{
	"critical": status.MajorOutage,
	"page":     status.MajorOutage,
	"error":    status.PartialOutage,
	"warning":  status.PartialOutage,
	"info":     status.Degraded,
}

// intakeLimit bounds a webhook body: Alertmanager sends at most a group's
// alerts (max_alerts, when set).
const intakeLimit = 4 << 20

type intakeOutcome struct {
	Service string               `json:"service"`
	From    status.ServiceStatus `json:"from"`
	To      status.ServiceStatus `json:"to"`
}

type intakeAnswer struct {
	Applied  int             `json:"applied"`
	Ignored  int             `json:"ignored"`
	Services []intakeOutcome `json:"services"`
	Unknown  []string        `json:"unknown_services,omitempty"`
}

// alertmanager serves POST /api/v1/alertmanager: Alertmanager's webhook.
// Alerts with a statusd_service label hold that service's status while
// they fire (statusd_status, or the severity: critical major outage,
// warning partial outage, info degraded) and tell visitors in an
// incident; resolved ones let it go back. Alerts without the label are
// ignored. An unknown service is answered 200 (Alertmanager retrying
// would not help) and logged; a database that does not answer, 503, so
// that Alertmanager retries.
func (h *handler) alertmanager(w http.ResponseWriter, r *http.Request) {
	var msg amMessage
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, intakeLimit))
	if err := dec.Decode(&msg); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "the payload is larger than 4 MiB")
			return
		}
		writeError(w, http.StatusBadRequest, "not an Alertmanager webhook payload: "+err.Error())
		return
	}
	if _, err := dec.Token(); err != io.EOF {
		writeError(w, http.StatusBadRequest, "not an Alertmanager webhook payload: data after the JSON object")
		return
	}
	if msg.Version != "4" {
		writeError(w, http.StatusBadRequest, "unsupported webhook payload version "+strconv.Quote(msg.Version)+": statusd reads version 4 (Alertmanager 0.x)")
		return
	}
	var alerts []alert.Alert
	answer := intakeAnswer{Services: []intakeOutcome{}}
	for i, a := range msg.Alerts {
		service := strings.TrimSpace(a.Labels[ServiceLabel])
		if service == "" {
			answer.Ignored++
			continue
		}
		st, err := alertStatus(a)
		if err != nil {
			writeError(w, http.StatusBadRequest, "alert "+strconv.Quote(a.Labels["alertname"])+" (#"+strconv.Itoa(i)+"): "+err.Error())
			return
		}
		if a.Status != "firing" && a.Status != "resolved" {
			writeError(w, http.StatusBadRequest, "alert "+strconv.Quote(a.Labels["alertname"])+": status must be firing or resolved, got "+strconv.Quote(a.Status))
			return
		}
		name := a.Labels["alertname"]
		summary := a.Annotations["summary"]
		if summary == "" {
			summary = name
		}
		alerts = append(alerts, alert.Alert{
			Service: service, Fingerprint: fingerprint(a), Name: name, Summary: summary,
			Status: st, Firing: a.Status == "firing", StartsAt: a.StartsAt,
		})
	}
	outcomes, err := h.opts.Alerts.Alerts(r.Context(), alerts)
	if err != nil {
		h.opts.Logger.Warn("Cannot apply Alertmanager's alerts; it will send them again", "err", err)
		writeError(w, http.StatusServiceUnavailable, "the alerts could not be recorded: the database does not answer")
		return
	}
	for _, o := range outcomes {
		if o.Unknown {
			answer.Unknown = append(answer.Unknown, o.Service)
			continue
		}
		answer.Services = append(answer.Services, intakeOutcome{o.Service, o.From, o.To})
	}
	for _, a := range alerts {
		if !slices.Contains(answer.Unknown, a.Service) {
			answer.Applied++
		}
	}
	if len(answer.Unknown) > 0 {
		h.opts.Logger.Warn("Alerts name services statusd does not have", "services", answer.Unknown, "label", ServiceLabel)
	}
	writeJSON(w, http.StatusOK, answer)
}

// alertStatus is the status an alert gives its service.
func alertStatus(a amAlert) (status.ServiceStatus, error) {
	if raw, ok := a.Labels[StatusLabel]; ok {
		st, err := status.ParseServiceStatus(raw)
		if err != nil || st == status.Operational {
			return 0, errors.New(StatusLabel + " must be degraded, partial_outage or major_outage, got " + strconv.Quote(raw))
		}
		return st, nil
	}
	if st, ok := severityStatus[strings.ToLower(a.Labels["severity"])]; ok {
		return st, nil
	}
	return status.PartialOutage, nil
}

// fingerprint identifies an alert: Alertmanager's, or a hash of its
// labels when a sender leaves it out.
func fingerprint(a amAlert) string {
	if a.Fingerprint != "" {
		return a.Fingerprint
	}
	keys := make([]string, 0, len(a.Labels))
	for k := range a.Labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	h := sha256.New()
	for _, k := range keys {
		h.Write([]byte(k + "\xff" + a.Labels[k] + "\xff"))
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}
