package main

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBinarySignals builds statusd and runs it as a user would: SIGHUP
// reloads the config, SIGTERM shuts it down cleanly.
func TestBinarySignals(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "statusd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "statusd.yml")
	write := func(text string) {
		if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("resources:\n  health:\n    - {name: ping, kind: ping}\n")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	var logs bytes.Buffer
	cmd := exec.Command(bin, "--config.file", cfg, "--storage.dsn", "sqlite:"+filepath.Join(dir, "s.db"), "--web.listen-address", addr)
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill() //nolint:errcheck // the test ends it on success
	metrics := func() string {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	waitUntil := func(what string, cond func(string) bool) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for !cond(metrics()) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; logs:\n%s", what, logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitUntil("the ping check", func(m string) bool { return strings.Contains(m, `check="ping"`) })

	write("resources:\n  health:\n    - {name: ping, kind: ping}\n    - {name: pong, kind: ping}\n")
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitUntil("the reloaded check", func(m string) bool { return strings.Contains(m, `check="pong"`) })

	write("resources: [broken\n")
	_ = cmd.Process.Signal(syscall.SIGHUP)
	waitUntil("the failed reload", func(m string) bool { return strings.Contains(m, "statusd_config_last_reload_successful 0") })
	if !strings.Contains(metrics(), `check="pong"`) {
		t.Error("a failed reload dropped the running checks")
	}

	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("statusd did not stop after SIGTERM")
	}
	for _, want := range []string{"Config reloaded", "Config not reloaded", "Shutting down"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs.String())
		}
	}
}
