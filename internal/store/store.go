// Package store keeps statusd's state in SQL through jmoiron/sqlx: an
// embedded SQLite file by default (modernc.org/sqlite, pure Go) or
// PostgreSQL (lib/pq) for production and several replicas. Both dialects
// share every query but their schema migrations, and one contract test
// suite runs against both.
package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"  // PostgreSQL driver
	_ "modernc.org/sqlite" // SQLite driver, pure Go
)

// Dialect names a supported database.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DefaultSQLitePath is where statusd keeps its database when no DSN is given.
const DefaultSQLitePath = "data/statusd.db"

// Store is statusd's database. Its methods are safe for concurrent use.
type Store struct {
	dialect Dialect
	// db serves reads (and, on PostgreSQL, writes too).
	db *sqlx.DB
	// w serves writes: on SQLite a single connection, so writers queue in Go
	// instead of failing with SQLITE_BUSY.
	w *sqlx.DB
	// where is the DSN with its password redacted, for messages.
	where string
	// dryRun rolls every write transaction back.
	dryRun bool
	// prep are the prepared periodic reads.
	prep prepared
	// lock is the exclusive lock of an Exclusive SQLite store.
	lock *os.File
}

// Options tune Open.
type Options struct {
	// ReadOnly opens an existing database for reading only: nothing is
	// created, and a missing SQLite file is ErrNotExist.
	ReadOnly bool
	// ConnectTimeout bounds the first connection (default 10s).
	ConnectTimeout time.Duration
	// Lazy opens without connecting: the database may be away, and the
	// first query connects. A SQLite file is still created.
	Lazy bool
	// DryRun rolls back every write transaction once it has run (Update
	// returns nil when its function did): what would be written is
	// decided on the stored state, and nothing is written. Open a
	// migrated database this way (Migrate itself does not roll back).
	DryRun bool
	// Exclusive makes this process the only one running on a SQLite
	// file (the daemon): a second Exclusive open of the same file fails
	// with ErrLocked while the first is open. One-shot commands, whose
	// writes are short, open without it. No effect on PostgreSQL, where
	// replicas share the database.
	Exclusive bool
}

// ErrLocked is an Exclusive open of a SQLite file another statusd holds.
var ErrLocked = errors.New("another statusd is running on this SQLite database; SQLite is for one statusd process: stop the other one, or use PostgreSQL (--storage.dsn=postgres://…) to run several")

// ErrNotExist is returned by a read-only Open of a missing SQLite file.
var ErrNotExist = errors.New("database does not exist")

// Open connects to the database a DSN names: "postgres://…" or
// "postgresql://…" (or key=value with host=) selects PostgreSQL; "sqlite:PATH",
// "file:PATH" or a plain path selects SQLite; "" is the default SQLite file,
// whose data/ folder is created when missing. Open does not migrate.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	if opts.ConnectTimeout == 0 {
		opts.ConnectTimeout = 10 * time.Second
	}
	dialect, target := ParseDSN(dsn)
	var (
		s   *Store
		err error
	)
	if dialect == Postgres {
		s, err = openPostgres(target)
	} else {
		s, err = openSQLite(target, dsn == "", opts.ReadOnly, sqlitePragmas(dsn))
		if err == nil && opts.Exclusive && !opts.ReadOnly {
			if s.lock, err = lockFile(target); err != nil {
				s.Close()
				err = fmt.Errorf("%s: %w", s.where, err)
			}
		}
	}
	if err != nil {
		return nil, err
	}
	s.dryRun = opts.DryRun
	if opts.Lazy {
		return s, nil
	}
	pctx, cancel := context.WithTimeout(ctx, opts.ConnectTimeout)
	defer cancel()
	if err := s.Ping(pctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("connect to %s: %w", s.where, err)
	}
	return s, nil
}

// sqlitePragmas are the _pragma parameters of a SQLite DSN
// (sqlite:PATH?_pragma=max_page_count(1000)), applied to every
// connection after statusd's own.
func sqlitePragmas(dsn string) []string {
	_, query, ok := strings.Cut(dsn, "?")
	if !ok {
		return nil
	}
	v, err := url.ParseQuery(query)
	if err != nil {
		return nil
	}
	return v["_pragma"]
}

// ParseDSN tells which dialect a DSN selects and what to open.
func ParseDSN(dsn string) (Dialect, string) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return Postgres, dsn
	case strings.Contains(dsn, "host=") || strings.Contains(dsn, "dbname="):
		return Postgres, dsn
	case dsn == "":
		return SQLite, DefaultSQLitePath
	}
	for _, prefix := range []string{"sqlite://", "sqlite:", "file:"} {
		if strings.HasPrefix(dsn, prefix) {
			path := strings.TrimPrefix(dsn, prefix)
			path, _, _ = strings.Cut(path, "?")
			return SQLite, path
		}
	}
	return SQLite, dsn
}

var kvPassword = regexp.MustCompile(`(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)

// Redact hides the password in a DSN.
func Redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return kvPassword.ReplaceAllString(dsn, "${1}xxxxx")
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

func openPostgres(dsn string) (*Store, error) {
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		return nil, fmt.Errorf("open PostgreSQL %s: %w", Redact(dsn), err)
	}
	db.SetMaxOpenConns(10)
	db.SetMaxIdleConns(5)
	db.SetConnMaxLifetime(30 * time.Minute)
	return &Store{dialect: Postgres, db: db, w: db, where: "PostgreSQL at " + Redact(dsn)}, nil
}

func openSQLite(path string, isDefault, readOnly bool, pragmas []string) (*Store, error) {
	where := "SQLite database " + path
	dir := filepath.Dir(path)
	if readOnly {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("%s: %w", where, ErrNotExist)
		}
	} else {
		if isDefault {
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return nil, fmt.Errorf("create folder for %s: %w", where, err)
			}
		}
		if st, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("%s: folder %s does not exist; create it or choose another --storage.dsn", where, dir)
		} else if !st.IsDir() {
			return nil, fmt.Errorf("%s: %s is not a folder", where, dir)
		}
		// Create the file now, so that a read-only folder is a clear error
		// here instead of a cryptic one at the first write.
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return nil, fmt.Errorf("%s: cannot write it: %w", where, err)
		}
		f.Close()
	}
	params := url.Values{}
	params.Add("_pragma", "busy_timeout(10000)")
	params.Add("_pragma", "foreign_keys(1)")
	for _, p := range pragmas {
		params.Add("_pragma", p)
	}
	params.Set("_time_integer_format", "unix_micro")
	params.Set("_inttotime", "1")
	open := func(extra ...string) (*sqlx.DB, error) {
		p := url.Values{}
		for k, v := range params {
			p[k] = append([]string(nil), v...)
		}
		for i := 0; i+1 < len(extra); i += 2 {
			p.Add(extra[i], extra[i+1])
		}
		return sqlx.Open("sqlite", "file:"+path+"?"+p.Encode())
	}
	// Readers keep a small page cache each (SQLite's default is 2 MB per
	// connection, which four readers made 8 MB of statusd's memory) and
	// close when idle: reads are short, mostly the page's and the API's,
	// and the OS's file cache holds the pages between them.
	r, err := open("_pragma", "query_only(1)", "_pragma", "cache_size(-512)")
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", where, err)
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(1)
	r.SetConnMaxIdleTime(time.Minute)
	s := &Store{dialect: SQLite, db: r, w: r, where: where}
	if readOnly {
		return s, nil
	}
	w, err := open("_pragma", "journal_mode(WAL)", "_pragma", "synchronous(NORMAL)", "_txlock", "immediate")
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("open %s: %w", where, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxLifetime(0)
	s.w = w
	return s, nil
}

// Dialect tells which database this is.
func (s *Store) Dialect() Dialect { return s.dialect }

// String describes the database without secrets.
func (s *Store) String() string { return s.where }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return err
	}
	var one int
	return s.db.GetContext(ctx, &one, "SELECT 1")
}

// Close closes the connections.
func (s *Store) Close() error {
	s.closePrepared()
	err := s.db.Close()
	if s.w != s.db {
		err = errors.Join(err, s.w.Close())
	}
	if s.lock != nil {
		err = errors.Join(err, s.lock.Close())
	}
	return err
}

// inTx runs fn in a write transaction: committed when fn returns nil,
// rolled back otherwise (and always, on a dry-run store).
func (s *Store) inTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := s.w.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil || s.dryRun {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}
