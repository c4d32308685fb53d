package main

import (
	"bytes"
	"encoding/json"
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
	"sync/atomic"
	"testing"
	"time"

	"github.com/statusd/statusd/internal/cluster"
	"github.com/statusd/statusd/internal/store"
	"github.com/statusd/statusd/internal/testsvc"
)

// member is one statusd process of a cluster under test.
type member struct {
	id, addr string
	cmd      *exec.Cmd
	logs     *testsvc.Buffer
}

func (m *member) metrics() string {
	resp, err := http.Get("http://" + m.addr + "/metrics")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// runs is how many times the member ran the api check.
func (m *member) runs() int {
	for _, line := range strings.Split(m.metrics(), "\n") {
		if v, ok := strings.CutPrefix(line, `statusd_check_runs_total{check="api",resource="health"} `); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	return 0
}

func (m *member) leads() bool { return strings.Contains(m.metrics(), "\nstatusd_cluster_leader 1\n") }

// Three statusd processes on one PostgreSQL, an API that is down, and the
// leader killed with SIGKILL in the middle of the outage, then the member
// that runs the API's check (when it was not the leader): another member
// leads within two lease periods, another runs the check, and the outage
// and its recovery are each recorded once, with one incident and one
// message each.
func TestKillTheLeader(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := binary(t)
	dsn := testsvc.Postgres(t)
	var apiUp atomic.Bool
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !apiUp.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(api.Close)
	var (
		mu      sync.Mutex
		changes []string // "from→to" of each status change received
	)
	hook := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		var m struct {
			Kind    string `json:"kind"`
			Service struct{ From, To string }
		}
		if err := json.NewDecoder(r.Body).Decode(&m); err == nil && m.Kind == "status_change" {
			mu.Lock()
			changes = append(changes, m.Service.From+"→"+m.Service.To)
			mu.Unlock()
		}
	}))
	t.Cleanup(hook.Close)
	told := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), changes...)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "statusd.yml")
	if err := os.WriteFile(cfg, []byte(`
resources:
  health:
    - {name: api, kind: http, url: "`+api.URL+`", interval: 1s, timeout: 500ms}
services:
  - {name: API, checks: [health/api], auto_incident: true, notify: {receivers: [ops]}}
receivers:
  ops: {webhook: {url: "`+hook.URL+`"}}
notifier: {group_wait: 0s}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	const lease = 3 * time.Second
	members := make([]*member, 3)
	for i := range members {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		m := &member{id: fmt.Sprintf("m%d", i+1), addr: l.Addr().String(), logs: &testsvc.Buffer{}}
		l.Close()
		m.cmd = exec.Command(bin, "--config.file", cfg, "--storage.dsn", dsn, "--web.listen-address", m.addr,
			"--cluster.member-id", m.id, "--cluster.lease-duration", lease.String())
		m.cmd.Stderr = m.logs
		if err := m.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = m.cmd.Process.Kill(); _ = m.cmd.Wait() })
		members[i] = m
	}
	waitFor := func(what string, within time.Duration, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(within)
		for !cond() {
			if time.Now().After(deadline) {
				var logs bytes.Buffer
				for _, m := range members {
					fmt.Fprintf(&logs, "--- %s:\n%s\n", m.id, m.logs)
				}
				t.Fatalf("timed out waiting for %s\n%s", what, logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	leader := func(among []*member) *member {
		var found *member
		for _, m := range among {
			if m.leads() {
				if found != nil {
					return nil
				}
				found = m
			}
		}
		return found
	}
	var first *member
	waitFor("one leader", 20*time.Second, func() bool { first = leader(members); return first != nil })
	waitFor("the outage to be told", 20*time.Second, func() bool { return len(told()) == 1 })
	// The member that runs the check (it may be the leader).
	owner := func(among []*member) *member {
		var found *member
		for _, m := range among {
			if strings.Contains(m.metrics(), "\nstatusd_cluster_checks_owned 1\n") {
				if found != nil {
					return nil
				}
				found = m
			}
		}
		return found
	}
	var runner *member
	waitFor("one member to run the check", 20*time.Second, func() bool { runner = owner(members); return runner != nil })

	// SIGKILL: no leaving, the lease must lapse.
	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = first.cmd.Wait()
	killed := time.Now()
	var rest []*member
	for _, m := range members {
		if m != first {
			rest = append(rest, m)
		}
	}
	var next *member
	waitFor("another leader", 30*time.Second, func() bool { next = leader(rest); return next != nil })
	t.Logf("%s took over from %s %s after the kill", next.id, first.id, time.Since(killed).Round(100*time.Millisecond))
	st, err := store.Open(t.Context(), dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// Within two lease periods of the dead leader's last renewal, on the
	// members' own clocks: its lease ended a period after that renewal,
	// and the new one took it at most a period later (a renewal every
	// third of it).
	registered, err := st.Members(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	held, ok, err := st.Lease(t.Context(), cluster.LeaderLease)
	if err != nil || !ok || held.Holder != next.id {
		t.Fatalf("leader's lease: %+v %v %v, want %s's", held, ok, err, next.id)
	}
	for _, m := range registered {
		if m.ID == first.id {
			if late := held.AcquiredAt.Sub(m.ExpiresAt); late > lease {
				t.Errorf("taken over %s after %s's lease ended, want within a lease (%s)", late, first.id, lease)
			}
		}
	}

	// The member that ran the check is killed too, mid-outage, unless it
	// was the leader: a survivor runs the check, and the outage goes on
	// being the same outage.
	if runner != first {
		if err := runner.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = runner.cmd.Wait()
		killed = time.Now()
		for i, m := range rest {
			if m == runner {
				rest = append(rest[:i:i], rest[i+1:]...)
				break
			}
		}
	}
	var taker *member
	waitFor("a survivor to run the check", 30*time.Second, func() bool {
		taker = owner(rest)
		return taker != nil && taker.runs() > 0
	})
	t.Logf("%s runs the check %s after its owner %s was killed", taker.id, time.Since(killed).Round(100*time.Millisecond), runner.id)
	if len(told()) != 1 {
		t.Errorf("told %v after the owner was killed, want the outage alone", told())
	}

	// The API recovers: the new leader records and tells it, once.
	apiUp.Store(true)
	waitFor("the recovery to be told", 20*time.Second, func() bool { return len(told()) == 2 })
	var closed int
	waitFor("the incident to be resolved", 10*time.Second, func() bool {
		_, closed, err = st.Incidents(t.Context(), store.IncidentQuery{State: "closed"})
		return err == nil && closed == 1
	})
	// Six more runs of the check, by whichever survivor owns it (past a
	// refresh of each, which would correct a service it saw wrong):
	// nothing more is recorded.
	runs := func() (n int) {
		for _, m := range rest {
			n += m.runs()
		}
		return n
	}
	start := runs()
	waitFor("six more runs", 20*time.Second, func() bool { return runs() >= start+6 })
	history, err := st.ServiceHistory(t.Context(), "API", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(history) != 2 {
		t.Errorf("history %+v: want one outage and one recovery", history)
	}
	if got := told(); len(got) != 2 || !strings.HasPrefix(got[0], "operational→") || !strings.HasSuffix(got[1], "→operational") {
		t.Errorf("told %v, want the outage then the recovery", got)
	}
	if _, all, _ := st.Incidents(t.Context(), store.IncidentQuery{}); all != 1 {
		t.Errorf("%d incidents, want 1", all)
	}
}
