package probe

import (
	"strings"
	"testing"
	"time"

	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/testsvc"
)

func TestPostgres(t *testing.T) {
	dsn := testsvc.Postgres(t)

	r := run(t, `{name: pg, kind: postgres, dsn: "`+dsn+`"}`, Env{})
	wantLevel(t, r, status.Fine, true)
	if r.Value == nil || *r.Value <= 0 || !status.NoDetails(r.Details) || !strings.HasPrefix(r.Message, "PostgreSQL answers in ") {
		t.Errorf("health only: value %v details %v message %q", r.Value, r.Details, r.Message)
	}

	r = run(t, `{name: pg, kind: postgres, dsn: "`+dsn+`", stats: true, value: connection_ratio}`, Env{})
	wantLevel(t, r, status.Fine, true)
	d := figures(r)
	if v, _ := d["version"].(string); v == "" || d["max_connections"].(float64) < 1 || d["connections"].(float64) < 1 ||
		d["database_size"].(float64) <= 0 || d["uptime_seconds"].(float64) <= 0 || d["replica"] != false {
		t.Errorf("stats: %v", d)
	}
	if _, ok := d["replication_lag_seconds"]; ok {
		t.Errorf("a primary reports a replication lag: %v", d)
	}
	if want := d["connections"].(float64) / d["max_connections"].(float64); r.Value == nil || *r.Value != want {
		t.Errorf("value = %v, want connections/max_connections = %v", r.Value, want)
	}
	if !strings.Contains(r.Message, d["version"].(string)) || !strings.Contains(r.Message, "connections") {
		t.Errorf("message %q", r.Message)
	}
}

func TestPostgresBroken(t *testing.T) {
	dsn := testsvc.Postgres(t)
	host := dsn[strings.Index(dsn, "@")+1:]
	host = host[:strings.Index(host, "/")]

	t.Run("server down", func(t *testing.T) {
		r := run(t, `{name: pg, kind: postgres, dsn: "postgres://statusd:pw-123@`+closedAddr(t)+`/test?sslmode=disable"}`, Env{})
		wantLevel(t, r, status.Problem, false)
		if !strings.Contains(r.Message, "connect to PostgreSQL") || !strings.Contains(r.Message, "refused") {
			t.Errorf("message %q", r.Message)
		}
		wantNoSecret(t, r, "pw-123")
	})
	t.Run("unknown role", func(t *testing.T) {
		r := run(t, `{name: pg, kind: postgres, dsn: "postgres://no_such_role:Sekr1t@`+host+`/test?sslmode=disable"}`, Env{})
		wantLevel(t, r, status.Problem, false)
		// The user is a secret too.
		if !strings.Contains(r.Message, `role "xxxxx" does not exist`) {
			t.Errorf("message %q", r.Message)
		}
		wantNoSecret(t, r, "Sekr1t", "no_such_role")
	})
	t.Run("unknown database", func(t *testing.T) {
		r := run(t, `{name: pg, kind: postgres, dsn: "postgres://postgres@`+host+`/no_such_db?sslmode=disable"}`, Env{})
		wantLevel(t, r, status.Problem, false)
		if !strings.Contains(r.Message, `database "no_such_db" does not exist`) {
			t.Errorf("message %q", r.Message)
		}
	})
	t.Run("hung server", func(t *testing.T) {
		r := wantTimely(t, `{name: pg, kind: postgres, timeout: 1s, dsn: "postgres://statusd:pw-123@`+blackHole(t)+`/test?sslmode=disable"}`)
		wantNoSecret(t, r, "pw-123")
	})
}

func TestMySQL(t *testing.T) {
	dsn := testsvc.MySQL(t)

	r := run(t, `{name: db, kind: mysql, dsn: "`+dsn+`"}`, Env{})
	wantLevel(t, r, status.Fine, true)
	if r.Value == nil || *r.Value <= 0 || !status.NoDetails(r.Details) || !strings.HasPrefix(r.Message, "MySQL answers in ") {
		t.Errorf("health only: value %v details %v message %q", r.Value, r.Details, r.Message)
	}

	userDSN := testsvc.MySQLUser(t, "Pa55-word")
	r = run(t, `{name: db, kind: mysql, dsn: "`+userDSN+`", stats: true, value: connections}`, Env{})
	wantLevel(t, r, status.Fine, true)
	d := figures(r)
	if v, _ := d["version"].(string); v == "" || d["max_connections"].(float64) < 1 || d["connections"].(float64) < 1 ||
		d["uptime_seconds"].(float64) <= 0 || d["replica"] != false {
		t.Errorf("stats: %v", d)
	}
	if r.Value == nil || *r.Value != d["connections"].(float64) {
		t.Errorf("value = %v, want the connections %v", r.Value, d["connections"])
	}
	wantNoSecret(t, r, "Pa55-word")

	// The URL form gives the same server.
	url := "mysql://" + strings.Replace(strings.Replace(userDSN, "@tcp(", "@", 1), ")/", "/", 1)
	r = run(t, `{name: db, kind: mysql, dsn: "`+url+`"}`, Env{})
	wantLevel(t, r, status.Fine, true)
}

func TestMySQLBroken(t *testing.T) {
	good := testsvc.MySQLUser(t, "Pa55-word")
	t.Run("wrong password", func(t *testing.T) {
		bad := strings.Replace(good, "Pa55-word", "Wr0ng-pass", 1)
		r := run(t, `{name: db, kind: mysql, dsn: "`+bad+`"}`, Env{})
		wantLevel(t, r, status.Problem, false)
		if !strings.Contains(r.Message, "Access denied for user 'xxxxx'") {
			t.Errorf("message %q", r.Message)
		}
		user, _, _ := strings.Cut(good, ":")
		wantNoSecret(t, r, "Wr0ng-pass", "Pa55-word", user)
	})
	t.Run("server down", func(t *testing.T) {
		r := run(t, `{name: db, kind: mysql, dsn: "mysql://statusd:Wr0ng-pass@`+closedAddr(t)+`/test"}`, Env{})
		wantLevel(t, r, status.Problem, false)
		if !strings.Contains(r.Message, "connect to MySQL") || !strings.Contains(r.Message, "refused") {
			t.Errorf("message %q", r.Message)
		}
		wantNoSecret(t, r, "Wr0ng-pass")
	})
	t.Run("hung server", func(t *testing.T) {
		r := wantTimely(t, `{name: db, kind: mysql, timeout: 1s, dsn: "statusd:Wr0ng-pass@tcp(`+blackHole(t)+`)/test"}`)
		wantNoSecret(t, r, "Wr0ng-pass")
	})
}

func TestPostgresReplica(t *testing.T) {
	primary, replica := testsvc.PostgresReplica(t)

	r := run(t, `{name: pg, kind: postgres, dsn: "`+primary+`", stats: true}`, Env{})
	wantLevel(t, r, status.Fine, true)
	if figures(r)["replica"] != false {
		t.Errorf("primary: %v", r.Details)
	}

	r = run(t, `{name: pg, kind: postgres, dsn: "`+replica+`", stats: true, value: replication_lag}`, Env{})
	wantLevel(t, r, status.Fine, true)
	lag, ok := figures(r)["replication_lag_seconds"].(float64)
	if figures(r)["replica"] != true || !ok || lag < 0 || !strings.Contains(r.Message, ", replica") {
		t.Fatalf("replica: %v %q", r.Details, r.Message)
	}
	if r.Value == nil || *r.Value != lag {
		t.Errorf("value = %v, want the lag %v", r.Value, lag)
	}

	// Writes on the primary reach the replica; once replayed, the lag of
	// an idle primary's replica stays 0 rather than growing.
	execSQL(t, "postgres", primary, "CREATE TABLE t (n int)", "INSERT INTO t VALUES (1)")
	waitForReplica(t, replica, "SELECT count(*) FROM t")
	// Not a synchronisation: the replica's last replayed transaction must
	// be over a second old, so that a naive lag (now - last replay) would
	// read 1 or more, which the check must not report.
	time.Sleep(1100 * time.Millisecond)
	r = run(t, `{name: pg, kind: postgres, dsn: "`+replica+`", stats: true, value: replication_lag}`, Env{})
	if r.Value == nil || *r.Value != 0 {
		t.Errorf("caught-up replica: lag %v (%q)", r.Value, r.Message)
	}
}

func TestMySQLReplica(t *testing.T) {
	primary, replica := testsvc.MySQLReplica(t)
	execSQL(t, "mysql", primary, "CREATE DATABASE app", "CREATE TABLE app.t (n INT)", "INSERT INTO app.t VALUES (1)")
	waitForReplica(t, replica, "SELECT COUNT(*) FROM app.t")

	r := run(t, `{name: db, kind: mysql, dsn: "`+primary+`", stats: true}`, Env{})
	wantLevel(t, r, status.Fine, true)
	if figures(r)["replica"] != false {
		t.Errorf("primary: %v", r.Details)
	}
	r = run(t, `{name: db, kind: mysql, dsn: "`+replica+`", stats: true, value: replication_lag}`, Env{})
	wantLevel(t, r, status.Fine, true)
	if figures(r)["replica"] != true || figures(r)["replication_lag_seconds"] != 0.0 || r.Value == nil || *r.Value != 0 ||
		!strings.HasSuffix(r.Message, ", replica 0s behind") {
		t.Errorf("replica: %v %v %q", r.Details, r.Value, r.Message)
	}

	// A stopped replica has no lag to report: the check says so.
	execSQL(t, "mysql", replica, "STOP REPLICA")
	r = run(t, `{name: db, kind: mysql, dsn: "`+replica+`", stats: true, value: replication_lag}`, Env{})
	if _, ok := figures(r)["replication_lag_seconds"]; ok || r.Value != nil || !strings.HasSuffix(r.Message, "(replication lag unknown)") {
		t.Errorf("stopped replica: %v %v %q", r.Details, r.Value, r.Message)
	}
}

// waitForReplica waits until query succeeds on the replica: a write on
// the primary has been replayed.
func waitForReplica(t *testing.T, replica, query string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := run(t, sqlCheck(replica, query), Env{})
		if r.Success {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the write never reached the replica: %q", r.Message)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
