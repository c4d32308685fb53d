package store

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

//go:embed migrations
var migrationFS embed.FS

// Migration is one versioned schema change.
type Migration struct {
	Version  int
	Name     string
	SQL      string
	Checksum string
}

// Migrations returns the embedded migrations of a dialect in version order.
func Migrations(d Dialect) ([]Migration, error) {
	dir := path.Join("migrations", string(d))
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var ms []Migration
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, rest, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must be NNNN_description.sql", name)
		}
		b, err := migrationFS.ReadFile(path.Join(dir, name))
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b)
		ms = append(ms, Migration{Version: v, Name: rest, SQL: string(b), Checksum: hex.EncodeToString(sum[:])})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i := 1; i < len(ms); i++ {
		if ms[i].Version == ms[i-1].Version {
			return nil, fmt.Errorf("two migrations with version %d", ms[i].Version)
		}
	}
	return ms, nil
}

// migrationLockID is the PostgreSQL advisory lock that serialises replicas
// migrating the same database at once.
const migrationLockID = 7_236_871_002

// Migrate applies the pending migrations, each in its own transaction, and
// returns the ones it applied. It refuses a database whose applied
// migrations were edited since, or that a newer statusd migrated.
func (s *Store) Migrate(ctx context.Context) ([]Migration, error) {
	ms, err := Migrations(s.dialect)
	if err != nil {
		return nil, err
	}
	conn, err := s.w.Connx(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	if s.dialect == Postgres {
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrationLockID); err != nil {
			return nil, fmt.Errorf("migrate: take lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLockID) //nolint:errcheck // the lock dies with the session anyway
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		name TEXT NOT NULL,
		checksum TEXT NOT NULL,
		applied_at TIMESTAMP NOT NULL)`); err != nil {
		return nil, fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	var applied []Migration
	if err := conn.SelectContext(ctx, &applied, "SELECT version, name, checksum FROM schema_migrations ORDER BY version"); err != nil {
		return nil, fmt.Errorf("migrate: read applied migrations: %w", err)
	}
	known := map[int]Migration{}
	for _, m := range ms {
		known[m.Version] = m
	}
	done := map[int]bool{}
	for _, a := range applied {
		m, ok := known[a.Version]
		if !ok {
			return nil, fmt.Errorf("migrate: the database has migration %d (%s), which this statusd does not know: it was migrated by a newer version", a.Version, a.Name)
		}
		if m.Checksum != a.Checksum {
			return nil, fmt.Errorf("migrate: migration %d (%s) was changed after it was applied; applied migrations must never be edited", a.Version, a.Name)
		}
		done[a.Version] = true
	}
	var ran []Migration
	for _, m := range ms {
		if done[m.Version] {
			continue
		}
		applied, err := applyMigration(ctx, conn, m)
		if err != nil {
			return ran, fmt.Errorf("migrate: %04d_%s: %w", m.Version, m.Name, err)
		}
		if applied {
			ran = append(ran, m)
		}
	}
	return ran, nil
}

// applyMigration applies m in a transaction, unless another process
// applied it since the applied migrations were read: SQLite has no lock
// across a whole migration run, and two processes opening a new database
// at once (statusd serve and a command) both find every migration
// pending; a transaction of SQLite's writer takes the write lock as it
// begins (_txlock=immediate), so the look inside it sees the other's.
func applyMigration(ctx context.Context, conn *sqlx.Conn, m Migration) (applied bool, err error) {
	tx, err := conn.BeginTxx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer func() {
		if !applied {
			_ = tx.Rollback()
		}
	}()
	var sums []string
	if err := tx.SelectContext(ctx, &sums, tx.Rebind("SELECT checksum FROM schema_migrations WHERE version = ?"), m.Version); err != nil {
		return false, err
	}
	if len(sums) > 0 {
		if sums[0] != m.Checksum {
			return false, fmt.Errorf("applied meanwhile with another checksum, by another statusd")
		}
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)"),
		m.Version, m.Name, m.Checksum, time.Now().UTC()); err != nil {
		return false, err
	}
	if err := tx.Commit(); err != nil {
		return false, err
	}
	return true, nil
}

// SchemaVersion returns the highest applied migration, 0 when none.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v *int
	if err := s.db.GetContext(ctx, &v, "SELECT MAX(version) FROM schema_migrations"); err != nil {
		return 0, err
	}
	if v == nil {
		return 0, nil
	}
	return *v, nil
}
