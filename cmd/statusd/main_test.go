package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/statusd/statusd/internal/store"
)

func TestCLI(t *testing.T) {
	dir := t.TempDir()
	up := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	cfg := filepath.Join(dir, "statusd.yml")
	if err := os.WriteFile(cfg, []byte("resources:\n  health:\n    - {name: web, kind: http, url: \""+srv.URL+"\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yml")
	if err := os.WriteFile(bad, []byte("resources:\n  health:\n    - {name: web, kind: htp}\n    - {name: db, kind: tcp, address: db, intrval: 1s}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	db := "sqlite:" + filepath.Join(dir, "statusd.db")
	migrations, err := store.Migrations(store.SQLite)
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"version", []string{"version"}, 0, "statusd, version", ""},
		{"unknown command", []string{"frobnicate"}, 2, "", "statusd: unexpected frobnicate"},
		{"bad output", []string{"check", "-o", "xml"}, 2, "", "enum value must be one of text,json,yaml"},
		{"config check ok", []string{"config", "check", cfg}, 0, "valid (1 resources, 1 checks, 0 services, 0 receivers)", ""},
		{"config check flag", []string{"--config.file", cfg, "config", "check"}, 0, "valid", ""},
		{"config check bad", []string{"config", "check", bad}, 1, "", bad + ":3: resources.health[0].kind: unknown kind \"htp\""},
		{"check up", []string{"--config.file", cfg, "--storage.dsn", db, "check", "health", "-e"}, 0, "health/web", ""},
		{"check unknown", []string{"--config.file", cfg, "check", "stats"}, 2, "", "resource stats not found"},
		{"check bad config", []string{"--config.file", bad, "check"}, 2, "", "unknown kind"},
		{"migrate", []string{"--storage.dsn", db, "migrate"}, 0, "applied 0001_schema\napplied 0002_evaluator\napplied 0003_notifier\napplied 0004_alerts_tokens\napplied 0005_outbox_collapsed", ""},
		{"migrate again", []string{"--storage.dsn", db, "migrate"}, 0, fmt.Sprintf("is at schema version %d", len(migrations)), ""},
		{"token add", []string{"--storage.dsn", db, "token", "add", "ci", "--scope", "read"}, 0, "sdt_", ""},
		{"token bad scope", []string{"--storage.dsn", db, "token", "add", "x", "--scope", "admin"}, 2, "", "enum value must be one of read,write"},
		{"token bad name", []string{"--storage.dsn", db, "token", "add", "a b"}, 1, "", `invalid token name "a b"`},
		{"incident update without state", []string{"--storage.dsn", db, "incident", "update", "1", "--message", "x"}, 2, "", "invalid input: state: is required"},
		{"incident bad state", []string{"--storage.dsn", db, "incident", "open", "--title", "x", "--state", "fixed"}, 2, "", "enum value must be one of investigating,identified,monitoring,resolved"},
		{"migrate unreachable", []string{"--storage.dsn", "postgres://u:pw@127.0.0.1:1/x?sslmode=disable", "migrate"}, 1, "", "u:xxxxx@127.0.0.1:1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, c.args...)
			if code != c.code || !strings.Contains(out, c.stdout) || !strings.Contains(errOut, c.stderr) {
				t.Errorf("statusd %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(c.args, " "), code, out, errOut)
			}
		})
	}
	// All three mistakes of bad.yml are listed, with their lines.
	_, _, errOut := runCLI(t, "config", "check", bad)
	for _, want := range []string{bad + ":3: resources.health[0].kind", bad + ":4: resources.health[1].intrval", bad + ":4: resources.health[1].address"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("config check does not list %s:\n%s", want, errOut)
		}
	}
	up = false
	if code, out, _ := runCLI(t, "--config.file", cfg, "--storage.dsn", db, "check", "health", "-e"); code != 1 || !strings.Contains(out, "HTTP 500") {
		t.Errorf("check with the target down: exit %d\n%s", code, out)
	}
}
