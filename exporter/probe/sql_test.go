package probe

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/testsvc"
)

func execSQL(t *testing.T, driver, dsn string, stmts ...string) {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// sqlCheck is the YAML of a sql check.
func sqlCheck(dsn, query string) string {
	return fmt.Sprintf(`{name: q, kind: sql, timeout: 1s, dsn: %q, query: %q}`, dsn, query)
}

func wantValue(t *testing.T, r status.Result, want float64) {
	t.Helper()
	wantLevel(t, r, status.Fine, true)
	if r.Value == nil || *r.Value != want {
		t.Fatalf("value = %v, want %v (%q)", r.Value, want, r.Message)
	}
}

func wantFailure(t *testing.T, r status.Result, msg string) {
	t.Helper()
	wantLevel(t, r, status.Problem, false)
	if !strings.Contains(r.Message, msg) {
		t.Errorf("message %q does not contain %q", r.Message, msg)
	}
}

func TestSQLPostgres(t *testing.T) {
	dsn := testsvc.Postgres(t)
	execSQL(t, "postgres", dsn,
		"CREATE TABLE mail_queue (id serial PRIMARY KEY, created timestamptz NOT NULL)",
		"INSERT INTO mail_queue (created) VALUES (now() - interval '2 hours'), (now() - interval '1 hour'), (now() - interval '90 seconds')",
		"CREATE TABLE empty (n int)")

	wantValue(t, run(t, sqlCheck(dsn, "SELECT count(*) FROM mail_queue"), Env{}), 3)

	// The age of the newest row, the django_status AgeMonitor.
	r := run(t, sqlCheck(dsn, "SELECT EXTRACT(EPOCH FROM now() - max(created)) FROM mail_queue"), Env{})
	wantLevel(t, r, status.Fine, true)
	if r.Value == nil || *r.Value < 90 || *r.Value > 120 {
		t.Errorf("age = %v, want about 90 s", r.Value)
	}

	wantFailure(t, run(t, sqlCheck(dsn, "WITH d AS (DELETE FROM mail_queue RETURNING 1) SELECT count(*) FROM d"), Env{}),
		"in a read-only transaction")
	wantValue(t, run(t, sqlCheck(dsn, "SELECT count(*) FROM mail_queue"), Env{}), 3)

	wantFailure(t, run(t, sqlCheck(dsn, "SELEC 1"), Env{}), `syntax error at or near "SELEC"`)
	wantFailure(t, run(t, sqlCheck(dsn, "SELECT count(*) FROM no_such_table"), Env{}), `relation "no_such_table" does not exist`)
	wantFailure(t, run(t, sqlCheck(dsn, "SELECT max(n) FROM empty"), Env{}), "NULL; use COALESCE")
	wantValue(t, run(t, sqlCheck(dsn, "SELECT COALESCE(max(n), 0) FROM empty"), Env{}), 0)
	wantFailure(t, run(t, sqlCheck(dsn, "SELECT 1, 2"), Env{}), "2 columns")
	wantFailure(t, run(t, sqlCheck(dsn, "SELECT 1 FROM generate_series(1, 2)"), Env{}), "more than one row")
	wantFailure(t, run(t, sqlCheck(dsn, "SELECT 1 WHERE false"), Env{}), "no row")
	wantFailure(t, run(t, sqlCheck(dsn, "SELECT 'many'"), Env{}), `"many", not a number`)
	wantFailure(t, run(t, sqlCheck(dsn, "SELECT now()"), Env{}), "a time, not a number")
	wantValue(t, run(t, sqlCheck(dsn, "SELECT 2.5::numeric"), Env{}), 2.5)
	wantValue(t, run(t, sqlCheck(dsn, "SELECT true"), Env{}), 1)
	wantTimely(t, sqlCheck(dsn, "SELECT count(*) FROM pg_sleep(5)"))
}

func TestSQLMySQL(t *testing.T) {
	admin := testsvc.MySQL(t)
	table := "statusd_sql_" + strings.ReplaceAll(t.Name(), "/", "_")
	execSQL(t, "mysql", admin, "DROP TABLE IF EXISTS "+table, "CREATE TABLE "+table+" (n INT)", "INSERT INTO "+table+" VALUES (1), (2)")
	t.Cleanup(func() { execSQL(t, "mysql", admin, "DROP TABLE "+table) })
	dsn := testsvc.MySQLUser(t, "Pa55-word")

	wantValue(t, run(t, sqlCheck(dsn, "SELECT SUM(n) FROM "+table), Env{}), 3)
	wantFailure(t, run(t, sqlCheck(dsn, "INSERT INTO "+table+" VALUES (3)"), Env{}), "READ ONLY transaction")
	wantValue(t, run(t, sqlCheck(dsn, "SELECT COUNT(*) FROM "+table), Env{}), 2)
	wantFailure(t, run(t, sqlCheck(dsn, "SELECT * FROM no_such_table"), Env{}), "doesn't exist")
	r := run(t, sqlCheck(strings.Replace(dsn, "Pa55-word", "Wr0ng-pass", 1), "SELECT 1"), Env{})
	wantFailure(t, r, "Access denied")
	wantNoSecret(t, r, "Wr0ng-pass")
	wantTimely(t, sqlCheck(dsn, "SELECT SLEEP(5)"))
}

func TestSQLSQLite(t *testing.T) {
	file := filepath.Join(t.TempDir(), "app.db")
	execSQL(t, "sqlite", file, "CREATE TABLE jobs (state TEXT)", "INSERT INTO jobs VALUES ('failed'), ('done'), ('failed')")

	wantValue(t, run(t, sqlCheck("sqlite:"+file, "SELECT count(*) FROM jobs WHERE state = 'failed'"), Env{}), 2)
	wantFailure(t, run(t, sqlCheck("sqlite:"+file, "DELETE FROM jobs RETURNING 1"), Env{}), "readonly")
	wantValue(t, run(t, sqlCheck("sqlite:"+file, "SELECT count(*) FROM jobs"), Env{}), 3)
	wantFailure(t, run(t, sqlCheck("sqlite:"+filepath.Join(t.TempDir(), "missing.db"), "SELECT 1"), Env{}), "unable to open database file")
}
