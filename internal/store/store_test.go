package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/statusd/statusd/internal/status"
)

func TestParseDSN(t *testing.T) {
	cases := []struct {
		dsn     string
		dialect Dialect
		target  string
	}{
		{"", SQLite, DefaultSQLitePath},
		{"sqlite:/var/lib/statusd/s.db", SQLite, "/var/lib/statusd/s.db"},
		{"sqlite:///abs/s.db", SQLite, "/abs/s.db"},
		{"file:rel.db?mode=rwc", SQLite, "rel.db"},
		{"./x.db", SQLite, "./x.db"},
		{"postgres://u:p@h/db", Postgres, "postgres://u:p@h/db"},
		{"postgresql://h/db", Postgres, "postgresql://h/db"},
		{"host=h dbname=x", Postgres, "host=h dbname=x"},
	}
	for _, c := range cases {
		d, target := ParseDSN(c.dsn)
		if d != c.dialect || target != c.target {
			t.Errorf("ParseDSN(%q) = %s %q, want %s %q", c.dsn, d, target, c.dialect, c.target)
		}
	}
}

func TestRedact(t *testing.T) {
	cases := map[string]string{
		"postgres://statusd:hunter2@db:5432/s":         "postgres://statusd:xxxxx@db:5432/s",
		"host=db user=s password=hunter2 dbname=s":     "host=db user=s password=xxxxx dbname=s",
		"host=db password='hun ter2' dbname=s":         "host=db password=xxxxx dbname=s",
		"postgres://db/s":                              "postgres://db/s",
		"postgres://statusd@db/s?password=hunter2&x=1": "postgres://statusd@db/s?password=xxxxx&x=1",
	}
	for in, want := range cases {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOpenSQLiteErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	_, err := Open(ctx, "sqlite:"+filepath.Join(dir, "missing", "s.db"), Options{})
	if err == nil || !strings.Contains(err.Error(), "folder "+filepath.Join(dir, "missing")+" does not exist") {
		t.Errorf("missing folder: %v", err)
	}
	// /proc refuses new files even to root, like a read-only mount.
	_, err = Open(ctx, "sqlite:/proc/statusd.db", Options{})
	if err == nil || !strings.Contains(err.Error(), "SQLite database /proc/statusd.db: cannot write it") {
		t.Errorf("read-only folder: %v", err)
	}
	_, err = Open(ctx, "sqlite:"+filepath.Join(dir, "none.db"), Options{ReadOnly: true})
	if !errors.Is(err, ErrNotExist) {
		t.Errorf("read-only open of a missing file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "none.db")); !os.IsNotExist(err) {
		t.Error("read-only open created the file")
	}
}

func TestOpenDefaultCreatesDataFolder(t *testing.T) {
	t.Chdir(t.TempDir())
	s, err := Open(context.Background(), "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := os.Stat(DefaultSQLitePath); err != nil {
		t.Fatalf("default database not created: %v", err)
	}
	if s.Dialect() != SQLite || s.String() != "SQLite database "+DefaultSQLitePath {
		t.Errorf("store = %s %s", s.Dialect(), s)
	}
}

func TestReadOnlyStoreRefusesWrites(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	rw := openStore(t, "sqlite:"+path)
	rw.Close()
	ro, err := Open(ctx, "sqlite:"+path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, err := ro.LatestResults(ctx); err != nil {
		t.Errorf("read: %v", err)
	}
	if _, err := ro.EnsureChecks(ctx, []status.CheckID{apiID}, time.Now()); err == nil {
		t.Error("a read-only store accepted a write")
	}
}

func TestOpenPostgresUnreachableRedactsPassword(t *testing.T) {
	_, err := Open(context.Background(), "postgres://statusd:hunter2@127.0.0.1:1/statusd?sslmode=disable", Options{ConnectTimeout: 2 * time.Second})
	if err == nil {
		t.Fatal("connected to a closed port")
	}
	msg := err.Error()
	if strings.Contains(msg, "hunter2") || !strings.Contains(msg, "connect to PostgreSQL at postgres://statusd:xxxxx@127.0.0.1:1/statusd") {
		t.Errorf("error = %s", msg)
	}
}

// Both dialects have the same migrations, by version and name: a
// migration written for one only fails here.
func TestMigrationSetsMatch(t *testing.T) {
	lite, err := Migrations(SQLite)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := Migrations(Postgres)
	if err != nil {
		t.Fatal(err)
	}
	names := func(ms []Migration) []string {
		var out []string
		for _, m := range ms {
			out = append(out, fmt.Sprintf("%04d_%s", m.Version, m.Name))
		}
		return out
	}
	if a, b := names(lite), names(pg); !slices.Equal(a, b) {
		t.Errorf("SQLite migrations %v, PostgreSQL migrations %v", a, b)
	}
}

// A second daemon on one SQLite file is refused while the first runs,
// with an error that says what to do; one-shot commands still open it,
// and the lock goes with the first daemon.
func TestSQLiteIsForOneProcess(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "statusd.db")
	first, err := Open(ctx, "sqlite:"+path, Options{Exclusive: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, "sqlite:"+path, Options{Exclusive: true})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) || !strings.Contains(err.Error(), path) {
		t.Fatalf("second daemon: %v, want ErrLocked naming the file and the holder", err)
	}
	oneShot, err := Open(ctx, "sqlite:"+path, Options{})
	if err != nil {
		t.Fatalf("a one-shot command beside the daemon: %v", err)
	}
	oneShot.Close()
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := Open(ctx, "sqlite:"+path, Options{Exclusive: true})
	if err != nil {
		t.Fatalf("after the first closed: %v", err)
	}
	again.Close()
}

// A daemon and a command opening a new SQLite file at once both migrate
// it: each applies what the other has not, and neither fails on a table
// the other created (statusd serve exited with "table subscribers already
// exists" when a command migrated beside it).
func TestSQLiteMigratedByTwoAtOnce(t *testing.T) {
	ctx := context.Background()
	for round := range 4 {
		path := filepath.Join(t.TempDir(), fmt.Sprintf("statusd-%d.db", round))
		stores := make([]*Store, 3)
		for i := range stores {
			s, err := Open(ctx, "sqlite:"+path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			stores[i] = s
		}
		start := make(chan struct{})
		errs := make(chan error, len(stores))
		applied := make(chan int, len(stores))
		for _, s := range stores {
			go func() {
				<-start
				ran, err := s.Migrate(ctx)
				applied <- len(ran)
				errs <- err
			}()
		}
		close(start)
		total := 0
		for range stores {
			if err := <-errs; err != nil {
				t.Errorf("round %d: %v", round, err)
			}
			total += <-applied
		}
		ms, err := Migrations(SQLite)
		if err != nil {
			t.Fatal(err)
		}
		if total != len(ms) {
			t.Errorf("round %d: %d migrations applied in all, want each of the %d once", round, total, len(ms))
		}
		if v, err := stores[0].SchemaVersion(ctx); err != nil || v != ms[len(ms)-1].Version {
			t.Errorf("round %d: schema version %d (%v), want %d", round, v, err, ms[len(ms)-1].Version)
		}
	}
}
