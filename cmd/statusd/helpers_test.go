package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// runCLI runs statusd with args, as a user would from a shell.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// daemon is a `statusd serve` running in the test's process.
type daemon struct {
	url  string
	logs *logWriter
}

// logWriter keeps a daemon's log and tells where it listens.
type logWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	listen chan string
}

var listeningOn = regexp.MustCompile(`msg="Listening on".* address=(\S+)`)

func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if m := listeningOn.FindSubmatch(p); m != nil {
		select {
		case l.listen <- string(m[1]):
		default:
		}
	}
	return len(p), nil
}

func (l *logWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// serve runs `statusd serve` with a config file and a database on a free
// port, until the test ends.
func serve(t *testing.T, configFile, dsn string) *daemon {
	t.Helper()
	addr, logs := runListening(t, "serve", "--config.file", configFile, "--storage.dsn", dsn, "serve",
		"--web.listen-address", "127.0.0.1:0", "--web.enable-lifecycle")
	return &daemon{url: "http://" + addr, logs: logs}
}

// runListening runs a statusd command that listens (serve, gate) until
// the test ends, and returns the address it listens on and its log.
func runListening(t *testing.T, what string, args ...string) (string, *logWriter) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &logWriter{listen: make(chan string, 1)}
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, io.Discard, logs) }()
	var addr string
	select {
	case addr = <-logs.listen:
	case code := <-done:
		cancel()
		t.Fatalf("statusd %s exited with %d:\n%s", what, code, logs.String())
	}
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("statusd %s exited with %d:\n%s", what, code, logs.String())
		}
	})
	return addr, logs
}

// get fetches a path and returns its status code and body.
func (d *daemon) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(d.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// eventually polls until cond holds, failing after a generous bound (a
// bound, not a measure: the test passes as soon as cond holds, and the
// bound is wide because CI runs this beside the race-built app tests).
// An optional explain says, on failure, what was seen last.
func eventually(t *testing.T, what string, cond func() bool, explain ...func() string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			var seen string
			for _, e := range explain {
				seen += "\n" + e()
			}
			t.Fatalf("timed out waiting for %s%s", what, seen)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lines splits output into its non-empty lines.
func lines(s string) []string { return strings.Split(strings.TrimSpace(s), "\n") }
