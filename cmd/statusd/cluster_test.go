package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/statusd/statusd/internal/testsvc"
)

// `statusd cluster status` lists the daemons on a database, live or gone,
// with the checks each runs; a second daemon on one SQLite file exits
// with the reason.
func TestClusterStatus(t *testing.T) {
	file := filepath.Join(t.TempDir(), "statusd.yml")
	if err := os.WriteFile(file, []byte("resources:\n  health:\n    - {name: ping, kind: ping}\n    - {name: web, kind: ping}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dsn := testsvc.Postgres(t)
	status := func() string {
		t.Helper()
		code, out, errOut := runCLI(t, "--config.file", file, "--storage.dsn", dsn, "cluster", "status")
		if code != 0 {
			t.Fatalf("statusd cluster status exited %d: %s", code, errOut)
		}
		return out
	}
	if out := status(); !strings.Contains(out, "no members") {
		t.Errorf("before any daemon:\n%s", out)
	}
	serve(t, file, dsn)
	serve(t, file, dsn)
	var out string
	// Each runs its share of the two checks, and says so.
	eventually(t, "two live members running the two checks between them", func() bool {
		out = status()
		rows := lines(out)
		if !strings.Contains(out, "2 live member(s) on PostgreSQL") || len(rows) != 5 {
			return false
		}
		sum := 0
		for _, r := range rows[1:3] {
			if f := strings.Fields(r); len(f) == 8 {
				n, _ := strconv.Atoi(f[4])
				sum += n
			}
		}
		return sum == 2
	})
	rows := lines(out)
	if len(rows) != 5 || !strings.HasPrefix(rows[0], "MEMBER") || !strings.HasPrefix(rows[4], "leader: ") {
		t.Fatalf("want a header, two members, a total and the leader:\n%s", out)
	}
	if leader := strings.Fields(rows[4])[1]; !strings.HasPrefix(rows[1], strings.TrimSuffix(leader, ",")) && !strings.HasPrefix(rows[2], strings.TrimSuffix(leader, ",")) {
		t.Errorf("the leader is not one of the members:\n%s", out)
	}
	for _, r := range rows[1:3] {
		if f := strings.Fields(r); len(f) != 8 || f[7] != "live" {
			t.Errorf("member row %q: want 8 columns, live", r)
		}
	}

	sqlite := "sqlite:" + filepath.Join(t.TempDir(), "statusd.db")
	serve(t, file, sqlite)
	eventually(t, "the SQLite daemon to register", func() bool {
		code, out, _ := runCLI(t, "--config.file", file, "--storage.dsn", sqlite, "cluster", "status")
		return code == 0 && strings.Contains(out, "1 live member(s)") && strings.Contains(out, "leader: the statusd running on this file")
	})
	code, _, errOut := runCLI(t, "--config.file", file, "--storage.dsn", sqlite, "serve", "--web.listen-address", "127.0.0.1:0")
	if code == 0 || !strings.Contains(errOut, "another statusd is running on this SQLite database") {
		t.Errorf("a second daemon on one SQLite file: exit %d, %s", code, errOut)
	}
}
