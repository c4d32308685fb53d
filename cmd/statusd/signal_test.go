package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
)

// TestBinarySignals builds statusd and runs it as a user would: SIGHUP
// reloads the config, SIGTERM shuts it down cleanly.
func TestBinarySignals(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := binary(t)
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

var (
	buildOnce sync.Once
	built     string
	buildErr  error
)

// binary builds statusd once for the tests that run it as a process.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "statusd-bin")
		if err != nil {
			buildErr = err
			return
		}
		built = filepath.Join(dir, "statusd")
		if out, err := exec.Command("go", "build", "-o", built, ".").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return built
}

// The debounce streaks survive a kill -9: a check that failed at least
// twice before the crash is at problem after its first failure once
// restarted with failure_threshold 3.
func TestStreaksSurviveKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := binary(t)
	dir := t.TempDir()
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer target.Close()
	cfg := filepath.Join(dir, "statusd.yml")
	config := func(interval string, threshold int) {
		if err := os.WriteFile(cfg, []byte("resources:\n  health:\n    - {name: api, kind: http, url: \""+target.URL+"\", interval: "+interval+
			", timeout: 500ms, failure_threshold: "+strconv.Itoa(threshold)+"}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// First a threshold the streak does not reach while the test looks:
	// at its threshold the check is at problem, and the level, not the
	// streak, is what a restart keeps from then on (the stored streak
	// moves on), so a poll that missed the second second would wait for
	// a streak of 2 forever.
	config("1s", 1000)
	db := filepath.Join(dir, "s.db")
	var logs bytes.Buffer
	start := func() (*exec.Cmd, string) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		cmd := exec.Command(bin, "--config.file", cfg, "--storage.dsn", "sqlite:"+db, "--web.listen-address", addr)
		cmd.Stderr = &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, addr
	}
	// metrics reads the check's runs and evaluated level from one scrape.
	metrics := func(addr string) (runs, level string) {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return "", ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		for _, line := range strings.Split(string(b), "\n") {
			switch {
			case strings.HasPrefix(line, `statusd_check_runs_total{check="api",resource="health"} `):
				runs = strings.Fields(line)[1]
			case strings.HasPrefix(line, `statusd_check_evaluated_level{check="api",resource="health"} `):
				level = strings.Fields(line)[1]
			}
		}
		return runs, level
	}
	streak := func() (int, error) {
		st, err := store.Open(context.Background(), "sqlite:"+db, store.Options{ReadOnly: true})
		if err != nil {
			return 0, err
		}
		defer st.Close()
		s, err := st.LoadEvaluatorState(context.Background())
		if err != nil {
			return 0, err
		}
		return s.Checks[status.CheckID{Resource: "health", Check: "api"}].AtLeastProblem, nil
	}

	cmd, addr := start()
	// evaluated is what statusd says of the check's runs and of the
	// evaluator, for a failure's message.
	evaluated := func() string {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var out []string
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "statusd_evaluator_") || strings.HasPrefix(line, `statusd_check_runs_total{check="api"`) ||
				strings.HasPrefix(line, `statusd_check_evaluated_level{check="api"`) {
				out = append(out, line)
			}
		}
		return strings.Join(out, "\n")
	}
	// At least two: under load the poll may first see more, which proves
	// the same (with a threshold of 3 after the restart, one more failure
	// is problem only if the stored streak survived).
	var last string
	eventually(t, "two failures to be stored", func() bool {
		n, err := streak()
		last = fmt.Sprint(n, err)
		return err == nil && n >= 2
	}, func() string {
		return "last streak read: " + last + "\nmetrics:\n" + evaluated() + "\nlogs:\n" + logs.String()
	})
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no shutdown, no final write
		t.Fatal(err)
	}
	_ = cmd.Wait()

	// Restarted with a long interval: one run at start, the next a
	// minute later, so the state after exactly one failure is seen.
	config("1m", 3)
	cmd, addr = start()
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	// Were the streak lost, the level would stay 0 after this one
	// failure, until the wait runs out.
	var runs, level string
	eventually(t, "the first failure after the restart to put the check at problem", func() bool {
		runs, level = metrics(addr)
		return runs == "1" && level == "2"
	}, func() string { return "runs " + runs + ", level " + level + "\nlogs:\n" + logs.String() })
}
