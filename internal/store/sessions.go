package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"
)

// Session is an admin's session as stored: its id is only in the
// visitor's cookie (HashToken of it here).
type Session struct {
	User      string    `db:"user_name"`
	CSRF      string    `db:"csrf"`
	Data      string    `db:"data"`
	CreatedAt time.Time `db:"created_at"`
	ExpiresAt time.Time `db:"expires_at"`
}

// ErrNoSession is a session id that is unknown or expired.
var ErrNoSession = errors.New("no such session")

// randomToken is 32 random bytes, URL-safe.
func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// NewSession starts a session for a user and returns its id (for the
// cookie) and its CSRF token.
func (s *Store) NewSession(ctx context.Context, user string, ttl time.Duration, now time.Time) (id, csrf string, err error) {
	if id, err = randomToken(); err != nil {
		return "", "", err
	}
	if csrf, err = randomToken(); err != nil {
		return "", "", err
	}
	_, err = s.w.ExecContext(ctx, s.w.Rebind(`INSERT INTO admin_sessions (id_hash, user_name, csrf, data, created_at, expires_at)
		VALUES (?, ?, ?, '{}', ?, ?)`), HashToken(id), user, csrf, now.UTC(), now.Add(ttl).UTC())
	if err != nil {
		return "", "", fmt.Errorf("start a session for %q: %w", user, err)
	}
	return id, csrf, nil
}

// Session reads a session that has not expired; ErrNoSession otherwise.
func (s *Store) Session(ctx context.Context, id string, now time.Time) (Session, error) {
	var ses Session
	err := s.db.GetContext(ctx, &ses, s.db.Rebind(`SELECT user_name, csrf, data, created_at, expires_at FROM admin_sessions
		WHERE id_hash = ? AND expires_at > ?`), HashToken(id), now.UTC())
	if errors.Is(err, sql.ErrNoRows) {
		return ses, ErrNoSession
	}
	if err != nil {
		return ses, fmt.Errorf("read session: %w", err)
	}
	return ses, nil
}

// SaveSession stores a session's values and moves its expiry.
func (s *Store) SaveSession(ctx context.Context, id, data string, expires time.Time) error {
	if _, err := s.w.ExecContext(ctx, s.w.Rebind("UPDATE admin_sessions SET data = ?, expires_at = ? WHERE id_hash = ?"),
		data, expires.UTC(), HashToken(id)); err != nil {
		return fmt.Errorf("save session: %w", err)
	}
	return nil
}

// EndSession ends a session (logout).
func (s *Store) EndSession(ctx context.Context, id string) error {
	if _, err := s.w.ExecContext(ctx, s.w.Rebind("DELETE FROM admin_sessions WHERE id_hash = ?"), HashToken(id)); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// EndSessionsOf ends every session of a user (a new password).
func (s *Store) EndSessionsOf(ctx context.Context, user string) error {
	if _, err := s.w.ExecContext(ctx, s.w.Rebind("DELETE FROM admin_sessions WHERE user_name = ?"), user); err != nil {
		return fmt.Errorf("end the sessions of %q: %w", user, err)
	}
	return nil
}

// RecordAudit records a write made outside a transaction of Tx (tokens,
// users).
func (s *Store) RecordAudit(ctx context.Context, who Actor, action, target string, before, after any, now time.Time) error {
	return s.Update(ctx, func(t *Tx) error { return t.Audit(who, action, target, before, after, now) })
}
