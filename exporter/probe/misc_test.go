package probe

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
)

func TestPing(t *testing.T) {
	r := run(t, `{name: ping, kind: ping}`, Env{})
	wantLevel(t, r, status.Fine, true)
	if figures(r)["pong"] != true || r.Value != nil {
		t.Errorf("ping = %+v", r)
	}
}

func TestBuild(t *testing.T) {
	b := BuildInfo{Version: "1.2.3", Revision: "0123456789abcdef0123", Branch: "main", BuildDate: "20261123", GoVersion: "go1.26", Debug: true}
	r := run(t, `{name: code, kind: build}`, Env{Build: b})
	wantLevel(t, r, status.Fine, true)
	if r.Message != "statusd 1.2.3 (0123456789ab)" {
		t.Errorf("message = %q", r.Message)
	}
	for k, want := range map[string]any{"version": "1.2.3", "branch": "main", "debug": true, "go_version": "go1.26", "build_date": "20261123"} {
		if figures(r)[k] != want {
			t.Errorf("details[%s] = %v, want %v", k, figures(r)[k], want)
		}
	}
}

func TestStorage(t *testing.T) {
	r := run(t, `{name: storage, kind: storage}`, Env{})
	wantLevel(t, r, status.Problem, false)

	s, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "s.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r = run(t, `{name: storage, kind: storage}`, Env{Store: s})
	wantLevel(t, r, status.Fine, true)
	if figures(r)["dialect"] != "sqlite" || !strings.Contains(r.Message, "answers in") {
		t.Errorf("storage = %+v", r)
	}
	s.Close()
	r = run(t, `{name: storage, kind: storage}`, Env{Store: s})
	wantLevel(t, r, status.Problem, false)
	if !strings.Contains(r.Message, "does not answer") {
		t.Errorf("closed store: %q", r.Message)
	}
}

func TestHuman(t *testing.T) {
	cases := map[time.Duration]string{
		83 * time.Microsecond:         "83µs",
		850 * time.Millisecond:        "850ms",
		12340 * time.Millisecond:      "12.3s",
		5 * time.Minute:               "5m0s",
		3*time.Hour + 5*time.Minute:   "3h5m",
		50 * time.Hour:                "2d2h",
		30*24*time.Hour - time.Second: "30d0h",
		-(2 * time.Second):            "-2s",
	}
	for d, want := range cases {
		if got := Human(d); got != want {
			t.Errorf("Human(%s) = %q, want %q", d, got, want)
		}
	}
}

// Every kind the config takes has a prober, and every prober a kind the
// config takes: a kind added on one side only fails here.
func TestKindsMatchConfig(t *testing.T) {
	probes, configs := Kinds(), config.KindNames()
	slices.Sort(probes)
	if !slices.Equal(probes, configs) {
		t.Errorf("probe kinds %v, config kinds %v", probes, configs)
	}
}
