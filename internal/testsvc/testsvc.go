// Package testsvc gives tests the real services they talk to: PostgreSQL
// and the others the development machine runs. A test that cannot reach
// its service is skipped on a developer's machine and fails when CI is set,
// so CI never passes by skipping.
package testsvc

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/lib/pq" // PostgreSQL driver
)

// DefaultPostgresDSN is used when STATUSD_TEST_POSTGRES_DSN is not set.
const DefaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// Unavailable skips the test, or fails it when the CI variable is set.
func Unavailable(t testing.TB, service string, err error, hint string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not available (%v); CI must run every test: %s", service, err, hint)
	}
	t.Skipf("%s is not available (%v): %s", service, err, hint)
}

// Env returns an environment variable or a default.
func Env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Postgres returns a DSN for a fresh, empty schema in the test PostgreSQL
// database, dropped when the test ends.
func Postgres(t testing.TB) string {
	t.Helper()
	base := Env("STATUSD_TEST_POSTGRES_DSN", DefaultPostgresDSN)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	db, err := sql.Open("postgres", base)
	if err == nil {
		err = db.PingContext(ctx)
	}
	if err != nil {
		Unavailable(t, "PostgreSQL", err, "set STATUSD_TEST_POSTGRES_DSN or run `make test`, which starts a throwaway server")
	}
	schema := "statusd_test_" + randomHex(6)
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		db.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		defer db.Close()
		if _, err := db.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("STATUSD_TEST_POSTGRES_DSN must be a postgres:// URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Database is a kind of database statusd stores in, and a way to make a
// fresh, empty one for a test.
type Database struct {
	Name string
	DSN  func(t *testing.T) string
}

// Databases lists the databases statusd stores in: SQLite and PostgreSQL.
func Databases() []Database {
	return []Database{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "statusd.db") }},
		{"postgres", func(t *testing.T) string { return Postgres(t) }},
	}
}

// EachDatabase runs f as a subtest on each database statusd stores in: a
// fresh SQLite file and a fresh PostgreSQL schema.
func EachDatabase(t *testing.T, f func(t *testing.T, dsn string)) {
	for _, db := range Databases() {
		t.Run(db.Name, func(t *testing.T) { f(t, db.DSN(t)) })
	}
}
