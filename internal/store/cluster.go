package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Member is one statusd process of a cluster, as it registered itself.
type Member struct {
	ID        string    `db:"id" json:"id"`
	Address   string    `db:"address" json:"address"`
	Location  string    `db:"location" json:"location,omitempty"`
	Version   string    `db:"version" json:"version"`
	Checks    int       `db:"checks" json:"checks"`
	StartedAt time.Time `db:"started_at" json:"started_at"`
	RenewedAt time.Time `db:"renewed_at" json:"renewed_at"`
	ExpiresAt time.Time `db:"expires_at" json:"expires_at"`
}

// ErrMemberIDTaken is a renewal under the id of another live member.
var ErrMemberIDTaken = errors.New("another live statusd uses this member id; give each its own --cluster.member-id")

// memberRetention is how long a departed member's row is kept, for
// `statusd cluster status` to show who left.
const memberRetention = time.Hour

// Renew registers or renews a member until now+ttl, in one transaction of
// three statements whatever the number of checks, and returns the live
// members by id. Members' clocks are compared, so they must agree to well
// within ttl (NTP).
func (s *Store) Renew(ctx context.Context, m Member, now time.Time, ttl time.Duration) ([]Member, error) {
	now = now.UTC()
	m.RenewedAt, m.ExpiresAt, m.StartedAt = now, now.Add(ttl), m.StartedAt.UTC().Truncate(time.Microsecond)
	var members []Member
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		// A live row of another process (another start time) under the
		// same id is not taken over: two members would be one.
		res, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO cluster_members (id, address, location, version, checks, started_at, renewed_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET address = excluded.address, location = excluded.location, version = excluded.version,
				checks = excluded.checks, started_at = excluded.started_at, renewed_at = excluded.renewed_at, expires_at = excluded.expires_at
			WHERE cluster_members.started_at = excluded.started_at OR cluster_members.expires_at <= ?`),
			m.ID, m.Address, m.Location, m.Version, m.Checks, m.StartedAt, m.RenewedAt, m.ExpiresAt, now)
		if err != nil {
			return fmt.Errorf("renew member %s: %w", m.ID, err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return fmt.Errorf("member %s: %w", m.ID, ErrMemberIDTaken)
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM cluster_members WHERE expires_at < ?"), now.Add(-memberRetention)); err != nil {
			return fmt.Errorf("forget departed members: %w", err)
		}
		return tx.SelectContext(ctx, &members, tx.Rebind("SELECT * FROM cluster_members WHERE expires_at > ? ORDER BY id"), now)
	})
	if err != nil {
		return nil, err
	}
	return members, nil
}

// Leave removes a member, so that the others see it gone at once instead
// of when its lease would have lapsed.
func (s *Store) Leave(ctx context.Context, id string) error {
	if _, err := s.w.ExecContext(ctx, s.w.Rebind("DELETE FROM cluster_members WHERE id = ?"), id); err != nil {
		return fmt.Errorf("remove member %s: %w", id, err)
	}
	return nil
}

// Members reads every member registered in the last hour, live or not
// (compare ExpiresAt with the time), by id.
func (s *Store) Members(ctx context.Context) ([]Member, error) {
	var members []Member
	if err := s.db.SelectContext(ctx, &members, "SELECT * FROM cluster_members ORDER BY id"); err != nil {
		return nil, fmt.Errorf("read cluster members: %w", err)
	}
	return members, nil
}
