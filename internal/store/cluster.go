package store

import (
	"context"
	"database/sql"
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
	// JoinedAt is when this process last joined: its first renewal, or
	// the first after its lease had lapsed.
	JoinedAt  time.Time `db:"joined_at" json:"joined_at"`
	RenewedAt time.Time `db:"renewed_at" json:"renewed_at"`
	ExpiresAt time.Time `db:"expires_at" json:"expires_at"`
}

// Lease is a named lease and the member holding it.
type Lease struct {
	Name       string    `db:"name" json:"name"`
	Holder     string    `db:"holder" json:"holder"`
	AcquiredAt time.Time `db:"acquired_at" json:"acquired_at"`
	ExpiresAt  time.Time `db:"expires_at" json:"expires_at"`
}

// ErrMemberIDTaken is a renewal under the id of another live member.
var ErrMemberIDTaken = errors.New("another live statusd uses this member id; give each its own --cluster.member-id")

// memberRetention is how long a departed member's row is kept, for
// `statusd cluster status` to show who left.
const memberRetention = time.Hour

// Renew registers or renews a member until now+ttl and, when lease is
// not empty, takes or renews that lease for it until then (taken when
// nobody holds it or its term is over), in one transaction of a handful
// of statements whatever the number of checks. It returns the live
// members by id and the lease as it now stands. Members' clocks are
// compared, so they must agree to well within ttl (NTP).
func (s *Store) Renew(ctx context.Context, m Member, lease string, now time.Time, ttl time.Duration) ([]Member, Lease, error) {
	now = now.UTC()
	m.RenewedAt, m.ExpiresAt, m.StartedAt = now, now.Add(ttl), m.StartedAt.UTC().Truncate(time.Microsecond)
	var (
		members []Member
		held    Lease
	)
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		// A live row of another process (another start time) under the
		// same id is not taken over: two members would be one.
		// It joins anew when its row is another process's or had lapsed.
		res, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO cluster_members (id, address, location, version, checks, started_at, joined_at, renewed_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET address = excluded.address, location = excluded.location, version = excluded.version,
				checks = excluded.checks, started_at = excluded.started_at, renewed_at = excluded.renewed_at, expires_at = excluded.expires_at,
				joined_at = CASE WHEN cluster_members.started_at = excluded.started_at AND cluster_members.expires_at > excluded.renewed_at
					THEN cluster_members.joined_at ELSE excluded.joined_at END
			WHERE cluster_members.started_at = excluded.started_at OR cluster_members.expires_at <= ?`),
			m.ID, m.Address, m.Location, m.Version, m.Checks, m.StartedAt, now, m.RenewedAt, m.ExpiresAt, now)
		if err != nil {
			return fmt.Errorf("renew member %s: %w", m.ID, err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return fmt.Errorf("member %s: %w", m.ID, ErrMemberIDTaken)
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM cluster_members WHERE expires_at < ?"), now.Add(-memberRetention)); err != nil {
			return fmt.Errorf("forget departed members: %w", err)
		}
		if lease != "" {
			if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO cluster_leases (name, holder, acquired_at, expires_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (name) DO UPDATE SET
					acquired_at = CASE WHEN cluster_leases.holder = excluded.holder THEN cluster_leases.acquired_at ELSE excluded.acquired_at END,
					holder = excluded.holder, expires_at = excluded.expires_at
				WHERE cluster_leases.holder = excluded.holder OR cluster_leases.expires_at <= ?`),
				lease, m.ID, now, m.ExpiresAt, now); err != nil {
				return fmt.Errorf("renew lease %s: %w", lease, err)
			}
			if err := tx.GetContext(ctx, &held, tx.Rebind("SELECT name, holder, acquired_at, expires_at FROM cluster_leases WHERE name = ?"), lease); err != nil {
				return fmt.Errorf("read lease %s: %w", lease, err)
			}
		}
		return tx.SelectContext(ctx, &members, tx.Rebind("SELECT * FROM cluster_members WHERE expires_at > ? ORDER BY id"), now)
	})
	if err != nil {
		return nil, Lease{}, err
	}
	return members, held, nil
}

// Leave removes a member and gives up the leases it holds, so that the
// others see it gone, and take its leases over, at once instead of when
// its lease would have lapsed.
func (s *Store) Leave(ctx context.Context, id string) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM cluster_leases WHERE holder = ?"), id); err != nil {
			return fmt.Errorf("release the leases of %s: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM cluster_members WHERE id = ?"), id); err != nil {
			return fmt.Errorf("remove member %s: %w", id, err)
		}
		return nil
	})
}

// Lease reads a named lease; ok is false when nobody holds it.
func (s *Store) Lease(ctx context.Context, name string) (l Lease, ok bool, err error) {
	err = s.db.GetContext(ctx, &l, s.db.Rebind("SELECT name, holder, acquired_at, expires_at FROM cluster_leases WHERE name = ?"), name)
	if errors.Is(err, sql.ErrNoRows) {
		return l, false, nil
	}
	if err != nil {
		return l, false, fmt.Errorf("read lease %s: %w", name, err)
	}
	return l, true, nil
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
