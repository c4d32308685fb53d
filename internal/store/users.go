package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// User is a person who runs statusd from a browser, as stored: a name and
// a bcrypt hash of the password, never the password.
type User struct {
	Name      string    `db:"name" json:"name"`
	Hash      string    `db:"password_hash" json:"-"`
	CreatedAt time.Time `db:"created_at" json:"created_at"`
	UpdatedAt time.Time `db:"updated_at" json:"updated_at"`
}

// Errors of the users.
var (
	// ErrUserExists is a user name already in use.
	ErrUserExists = errors.New("a user of that name exists")
	// ErrNoUser is a user name the store does not know.
	ErrNoUser = errors.New("no such user")
)

// Bounds of a password: bcrypt reads 72 bytes at most (and Go's refuses
// more rather than ignore them), and a short one is guessed.
const (
	MinPasswordLength = 12
	MaxPasswordLength = 72
	// passwordCost is bcrypt's work factor: its default and OWASP's
	// floor, about 60 ms a hash on this machine's cores, which slows
	// guessing from a stolen database without making a login slow (the
	// admin's login is rate-limited against guessing online).
	passwordCost = bcrypt.DefaultCost
)

// HashPassword checks a password's length and returns its bcrypt hash.
func HashPassword(password string) (string, error) { return hashPassword(password, passwordCost) }

func hashPassword(password string, cost int) (string, error) {
	switch n := len(password); {
	case n < MinPasswordLength:
		return "", fmt.Errorf("the password is %d characters; use at least %d", n, MinPasswordLength)
	case n > MaxPasswordLength:
		return "", fmt.Errorf("the password is %d bytes; bcrypt takes at most %d", n, MaxPasswordLength)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return "", fmt.Errorf("hash the password: %w", err)
	}
	return string(h), nil
}

// CheckPassword tells whether a password is the one a hash was made of,
// in a time that does not depend on where they differ.
func CheckPassword(hash, password string) bool {
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}

// AddUser stores a user with the hash of a password (HashPassword);
// ErrUserExists when the name is taken, by another command at the same
// moment too.
func (s *Store) AddUser(ctx context.Context, name, hash string, now time.Time) error {
	res, err := s.w.ExecContext(ctx, s.w.Rebind(`INSERT INTO users (name, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (name) DO NOTHING`), name, hash, now.UTC(), now.UTC())
	if err != nil {
		return fmt.Errorf("add user %q: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("user %q: %w", name, ErrUserExists)
	}
	return nil
}

// SetPassword replaces a user's password hash and ends the user's
// sessions: a new password logs out whoever had the old one.
func (s *Store) SetPassword(ctx context.Context, name, hash string, now time.Time) error {
	if err := s.changeUser(ctx, name, "UPDATE users SET password_hash = ?, updated_at = ? WHERE name = ?", hash, now.UTC(), name); err != nil {
		return err
	}
	return s.EndSessionsOf(ctx, name)
}

// RemoveUser removes a user.
func (s *Store) RemoveUser(ctx context.Context, name string) error {
	return s.changeUser(ctx, name, "DELETE FROM users WHERE name = ?", name)
}

// changeUser runs a statement on one user's row, ErrNoUser when there is
// none.
func (s *Store) changeUser(ctx context.Context, name, query string, args ...any) error {
	return s.Update(ctx, func(t *Tx) error {
		res, err := t.exec(query, args...)
		if err != nil {
			return fmt.Errorf("user %q: %w", name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("user %q: %w", name, ErrNoUser)
		}
		return nil
	})
}

// Users lists the users by name.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	var us []User
	if err := s.db.SelectContext(ctx, &us, "SELECT name, password_hash, created_at, updated_at FROM users ORDER BY name"); err != nil {
		return nil, fmt.Errorf("read users: %w", err)
	}
	return us, nil
}

// UserByName reads a user; ErrNoUser when there is none.
func (s *Store) UserByName(ctx context.Context, name string) (User, error) {
	var u User
	err := s.db.GetContext(ctx, &u, s.db.Rebind("SELECT name, password_hash, created_at, updated_at FROM users WHERE name = ?"), name)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return u, fmt.Errorf("user %q: %w", name, ErrNoUser)
		}
		return u, fmt.Errorf("read user %q: %w", name, err)
	}
	return u, nil
}
