package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Token scopes: read tokens read what is not public (the checks
// dashboard); write tokens also write (Alertmanager's intake, later the
// write API).
const (
	ScopeRead  = "read"
	ScopeWrite = "write"
)

// TokenPrefix starts every API token, so that secret scanners and people
// recognise one.
const TokenPrefix = "sdt_"

// Token is an API token as stored: its hash, never the token.
type Token struct {
	ID         int64        `db:"id"`
	Name       string       `db:"name"`
	Hash       string       `db:"token_hash"`
	Scope      string       `db:"scope"`
	CreatedAt  time.Time    `db:"created_at"`
	LastUsedAt sql.NullTime `db:"last_used_at"`
}

// ErrTokenExists is a token name already in use.
var ErrTokenExists = errors.New("a token of that name exists")

// ErrNoToken is a token name the store does not know.
var ErrNoToken = errors.New("no such token")

// HashToken is how a token is stored and looked up: SHA-256 in hex. A
// token is 32 random bytes, so a fast hash is enough (no password to
// stretch).
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// AddToken creates a token and returns it; only its hash is stored, so
// this is the only time it is seen. A revoked token's name can be used
// again.
func (s *Store) AddToken(ctx context.Context, name, scope string, now time.Time) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	token := TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	err := s.Update(ctx, func(t *Tx) error {
		if _, err := t.exec("DELETE FROM api_tokens WHERE name = ? AND revoked_at IS NOT NULL", name); err != nil {
			return err
		}
		var n int
		if err := t.get(&n, "SELECT COUNT(*) FROM api_tokens WHERE name = ?", name); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("token %q: %w", name, ErrTokenExists)
		}
		_, err := t.exec("INSERT INTO api_tokens (name, token_hash, scope, created_at) VALUES (?, ?, ?, ?)", name, HashToken(token), scope, now.UTC())
		return err
	})
	if err != nil {
		return "", fmt.Errorf("add token: %w", err)
	}
	return token, nil
}

// Tokens lists the tokens that are not revoked, by name.
func (s *Store) Tokens(ctx context.Context) ([]Token, error) {
	var ts []Token
	if err := s.selectPrepared(ctx, &ts, "SELECT id, name, token_hash, scope, created_at, last_used_at FROM api_tokens WHERE revoked_at IS NULL ORDER BY name"); err != nil {
		return nil, fmt.Errorf("read tokens: %w", err)
	}
	return ts, nil
}

// RevokeToken revokes a token by name.
func (s *Store) RevokeToken(ctx context.Context, name string, now time.Time) error {
	return s.Update(ctx, func(t *Tx) error {
		res, err := t.exec("UPDATE api_tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL", now.UTC(), name)
		if err != nil {
			return fmt.Errorf("revoke token %q: %w", name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("token %q: %w", name, ErrNoToken)
		}
		return nil
	})
}

// TokensUsed records when tokens (by id) were last used.
func (s *Store) TokensUsed(ctx context.Context, used map[int64]time.Time) error {
	if len(used) == 0 {
		return nil
	}
	return s.Update(ctx, func(t *Tx) error {
		for id, at := range used {
			if _, err := t.exec("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", at.UTC(), id); err != nil {
				return fmt.Errorf("record token use: %w", err)
			}
		}
		return nil
	})
}

// ValidName is what a token's or a user's name may be: it shows in logs
// and listings.
func ValidName(name string) bool {
	return name != "" && len(name) <= 64 && strings.IndexFunc(name, func(r rune) bool {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
		return !ok
	}) < 0
}
