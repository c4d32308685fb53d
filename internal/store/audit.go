package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Ways a person or a script writes.
const (
	ViaAdmin = "admin"
	ViaAPI   = "api"
	ViaCLI   = "cli"
)

// Actor is who writes: a user of the admin, an API token's name, or the
// command line's user, and through what.
type Actor struct {
	Name string
	Via  string
}

func (a Actor) String() string { return a.Name + " (" + a.Via + ")" }

// AuditEntry is one recorded write.
type AuditEntry struct {
	ID     int64     `db:"id" json:"id"`
	At     time.Time `db:"at" json:"at"`
	Actor  string    `db:"actor" json:"actor"`
	Via    string    `db:"via" json:"via"`
	Action string    `db:"action" json:"action"`
	Target string    `db:"target" json:"target"`
	// Before and After are the target as JSON, "" when it did not exist
	// (before a creation, after a deletion).
	Before string `db:"before" json:"-"`
	After  string `db:"after" json:"-"`
}

// MarshalJSON writes Before and After as JSON values (null when empty).
func (e AuditEntry) MarshalJSON() ([]byte, error) {
	type plain AuditEntry
	raw := func(s string) json.RawMessage {
		if s == "" {
			return json.RawMessage("null")
		}
		return json.RawMessage(s)
	}
	return json.Marshal(struct {
		plain
		Before json.RawMessage `json:"before"`
		After  json.RawMessage `json:"after"`
	}{plain(e), raw(e.Before), raw(e.After)})
}

// Audit records a write in the same transaction as the write itself:
// action names what was done ("incident.create"), target what it was done
// to ("incident/12"), before and after its state (nil: did not exist).
func (t *Tx) Audit(who Actor, action, target string, before, after any, now time.Time) error {
	enc := func(v any) (string, error) {
		if v == nil {
			return "", nil
		}
		b, err := json.Marshal(v)
		return string(b), err
	}
	b, err := enc(before)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	a, err := enc(after)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	if _, err := t.exec("INSERT INTO audit_log (at, actor, via, action, target, before, after) VALUES (?, ?, ?, ?, ?, ?, ?)",
		now.UTC(), who.Name, who.Via, action, target, b, a); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// AuditQuery selects audit entries, newest first.
type AuditQuery struct {
	// Before keeps entries with a smaller id (0: from the newest), for
	// paging.
	Before int64
	// Limit bounds the entries (0: 100).
	Limit int
}

// Audit reads recorded writes, newest first.
func (s *Store) Audit(ctx context.Context, q AuditQuery) ([]AuditEntry, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	query := "SELECT id, at, actor, via, action, target, before, after FROM audit_log"
	args := []any{}
	if q.Before > 0 {
		query += " WHERE id < ?"
		args = append(args, q.Before)
	}
	query += fmt.Sprintf(" ORDER BY id DESC LIMIT %d", q.Limit)
	entries := []AuditEntry{}
	if err := s.db.SelectContext(ctx, &entries, s.db.Rebind(query), args...); err != nil {
		return nil, fmt.Errorf("read the audit log: %w", err)
	}
	for i := range entries {
		entries[i].At = entries[i].At.UTC()
	}
	return entries, nil
}
