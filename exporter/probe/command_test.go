package probe

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/statusd/statusd/internal/status"
)

func TestCommand(t *testing.T) {
	plugin, err := filepath.Abs("testdata/nagios.sh")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		exit     int
		output   string
		level    status.Level
		success  bool
		message  string
		value    float64
		hasValue bool
	}{
		{"ok with perfdata", 0, "OK - load 0.52 | load1=0.52;1;2;0; load5=0.4", status.Fine, true, "OK - load 0.52", 0.52, true},
		{"warning", 1, "WARNING - disk 91% | 'disk used'=91%;90;95", status.Warning, true, "WARNING - disk 91%", 91, true},
		{"critical", 2, "CRITICAL - queue 5000 | queue=5000", status.Problem, false, "CRITICAL - queue 5000", 5000, true},
		{"unknown", 3, "UNKNOWN - cannot reach", status.Problem, false, "unknown (exit 3): UNKNOWN - cannot reach", 0, false},
		{"other exit", 7, "weird", status.Problem, false, "unknown (exit 7): weird", 0, false},
		{"no output", 0, "", status.Fine, true, "exit 0 in", 0, false},
		{"time unit", 0, "OK | time=0.012s;1;2", status.Fine, true, "OK", 0.012, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, `{name: c, kind: command, command: ["`+plugin+`", "`+strconv.Itoa(c.exit)+`", "`+c.output+`"]}`, Env{})
			wantLevel(t, r, c.level, c.success)
			if !strings.Contains(r.Message, c.message) {
				t.Errorf("message %q does not contain %q", r.Message, c.message)
			}
			if (r.Value != nil) != c.hasValue || (c.hasValue && *r.Value != c.value) {
				t.Errorf("value = %v, want %v (%v)", r.Value, c.value, c.hasValue)
			}
			if figures(r)["exit_code"] != c.exit {
				t.Errorf("details = %v", r.Details)
			}
		})
	}
}

func TestCommandEnvAndDir(t *testing.T) {
	dir := t.TempDir()
	r := run(t, `{name: c, kind: command, command: [sh, -c, 'echo "$GREETING from $(pwd)"'], env: {GREETING: hi}, dir: "`+dir+`"}`, Env{})
	wantLevel(t, r, status.Fine, true)
	if r.Message != "hi from "+dir {
		t.Errorf("message = %q", r.Message)
	}
}

func TestCommandMissingProgram(t *testing.T) {
	r := run(t, `{name: c, kind: command, command: [/nonexistent/plugin]}`, Env{})
	wantLevel(t, r, status.Problem, false)
	if !strings.Contains(r.Message, "cannot run /nonexistent/plugin") {
		t.Errorf("message = %q", r.Message)
	}
}

func TestCommandTimeoutKillsProcessGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	script, _ := filepath.Abs("testdata/sleep.sh")
	r := run(t, `{name: c, kind: command, command: ["`+script+`", "`+pidFile+`"], timeout: 500ms}`, Env{})
	wantLevel(t, r, status.Problem, false)
	if r.Message != "timed out after 500ms" {
		t.Errorf("message = %q", r.Message)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	deadline := time.Now().Add(2 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		// The killed child may linger as a zombie until reparented.
		if stat, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); strings.Contains(string(stat), ") Z ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("child %d of the timed-out command is still running", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
