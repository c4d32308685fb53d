package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/statusd/statusd/internal/cluster"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
	"github.com/statusd/statusd/internal/testsvc"
)

// clusterView asks a daemon for /api/v1/cluster with a token.
func (d *daemon) clusterView(t *testing.T, token string) (int, cluster.View) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, d.url+"/api/v1/cluster", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v cluster.View
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, v
}

func memberIDs(v cluster.View) []string {
	var ids []string
	for _, m := range v.Members {
		ids = append(ids, m.ID)
	}
	return ids
}

// Three statusd on one PostgreSQL register, see one another with the
// checks each runs, and see one leave as soon as it stops.
func TestClusterMembership(t *testing.T) {
	dsn := testsvc.Postgres(t)
	target, _ := testsvc.Target(t)
	cfg := daemonConfig(target.URL)
	var ds []*daemon
	for range 3 {
		ds = append(ds, start(t, cfg, dsn))
	}
	token := addToken(t, dsn, "ops", store.ScopeRead)
	var v cluster.View
	eventually(t, "three members", func() bool {
		_, v = ds[0].clusterView(t, token)
		return len(v.Members) == 3
	})
	var want []string
	for _, d := range ds {
		want = append(want, d.app.cluster.View().Self)
	}
	slices.Sort(want)
	if got := memberIDs(v); !slices.Equal(got, want) || len(slices.Compact(slices.Clone(want))) != 3 {
		t.Fatalf("members %v, want the three daemons %v, each its own", got, want)
	}
	for _, m := range v.Members {
		if m.Address == "" || m.StartedAt.IsZero() || m.JoinedAt.Before(m.StartedAt) || !m.ExpiresAt.After(m.RenewedAt) {
			t.Errorf("member as registered: %+v", m)
		}
	}
	// The checks are shared out: each member registers the number it
	// runs, and together they run each check once.
	checks := ds[0].app.exporter.Len()
	eventually(t, "the members to register the checks shared out", func() bool {
		_, v = ds[0].clusterView(t, token)
		sum := 0
		for _, m := range v.Members {
			sum += m.Checks
		}
		return sum == checks
	})
	if !v.Current || v.Self != ds[0].app.cluster.View().Self {
		t.Errorf("view: self %q current %v", v.Self, v.Current)
	}
	_, metrics := ds[1].get(t, "/metrics")
	if !strings.Contains(metrics, "\nstatusd_cluster_checks_owned ") {
		t.Errorf("no statusd_cluster_checks_owned in /metrics")
	}
	eventually(t, "statusd_cluster_members 3 on the second", func() bool {
		_, metrics = ds[1].get(t, "/metrics")
		return strings.Contains(metrics, "\nstatusd_cluster_members 3\n")
	})

	// Members' addresses are not for strangers.
	if code, _ := ds[0].clusterView(t, ""); code != http.StatusUnauthorized {
		t.Errorf("without a token: %d, want 401", code)
	}

	// One member leads, the one they all name.
	leader := -1
	eventually(t, "one leader", func() bool {
		leading := 0
		for i, d := range ds {
			if d.app.cluster.Leads() {
				leader, leading = i, leading+1
			}
		}
		return leading == 1
	})
	leaderID := ds[leader].app.cluster.View().Self
	for _, d := range ds {
		eventually(t, "every member to name the leader", func() bool { return d.app.cluster.View().Leader == leaderID })
	}
	if _, metrics := ds[leader].get(t, "/metrics"); !strings.Contains(metrics, "\nstatusd_cluster_leader 1\n") {
		t.Errorf("the leader's statusd_cluster_leader is not 1")
	}

	// The leader stops: it leaves at once, not when its lease lapses, and
	// another takes the lead at its next renewal.
	ds[leader].stop()
	rest := slices.Delete(slices.Clone(ds), leader, leader+1)
	eventually(t, "two members after the leader stopped", func() bool {
		_, v = rest[0].clusterView(t, token)
		return len(v.Members) == 2 && !slices.Contains(memberIDs(v), leaderID)
	})
	eventually(t, "a new leader", func() bool {
		return rest[0].app.cluster.Leads() != rest[1].app.cluster.Leads()
	})
}

// A second daemon on one SQLite file refuses to start, saying why.
func TestSQLiteRefusesASecondDaemon(t *testing.T) {
	target, _ := testsvc.Target(t)
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "statusd.db")
	first := start(t, daemonConfig(target.URL), dsn)
	_, err := New(t.Context(), Options{ConfigFile: first.config, StorageDSN: dsn,
		ListenAddresses: []string{"127.0.0.1:0"}, Logger: discard})
	if !errors.Is(err, store.ErrLocked) || !strings.Contains(err.Error(), "PostgreSQL") {
		t.Fatalf("a second daemon on the same SQLite file: %v", err)
	}
}

// Three replicas, one of which cannot reach the API: the API is run by
// one member, and every member serves what that one sees, so the service
// changes at most once however the check falls; once the replica that
// cannot reach it is the only one left, it runs it, and the outage is
// recorded once, with one incident.
func TestReplicaThatCannotReachATarget(t *testing.T) {
	dsn := testsvc.Postgres(t)
	reachable, _ := testsvc.Target(t)
	unreachable, up := testsvc.Target(t)
	up.Store(false)
	config := func(url string) string {
		return `
resources:
  health:
    - {name: api, kind: http, url: "` + url + `", interval: 1s, timeout: 500ms}
services:
  - {name: API, checks: [health/api], auto_incident: true}
`
	}
	first := start(t, config(reachable.URL), dsn)
	second := start(t, config(reachable.URL), dsn)
	blind := start(t, config(unreachable.URL), dsn)
	ds := []*daemon{first, second, blind}
	id := status.CheckID{Resource: "health", Check: "api"}
	eventually(t, "the members to agree on the API's owner, the three of them counted", func() bool {
		o, _ := blind.app.cluster.Owner(id, time.Now())
		for _, d := range ds {
			if len(d.app.cluster.View().Members) != 3 {
				return false
			}
			if got, _ := d.app.cluster.Owner(id, time.Now()); got != o {
				return false
			}
		}
		// Counted: the grace of the last to join is over.
		for _, m := range blind.app.cluster.View().Members {
			if time.Since(m.JoinedAt) < cluster.DefaultLease {
				return false
			}
		}
		return true
	})
	owner, _ := blind.app.cluster.Owner(id, time.Now())
	blindRuns := owner == blind.app.cluster.View().Self
	want := `"success":true`
	if blindRuns {
		want = `"success":false`
	}
	for _, d := range ds {
		eventually(t, "every member to serve what the owner sees", func() bool {
			_, body := d.get(t, "/api/v1/checks/health/api")
			return strings.Contains(body, want)
		})
	}
	history := func() []store.StatusChange {
		h, err := blind.app.store.ServiceHistory(t.Context(), "API", 10)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	incidents := func() int {
		_, n, err := blind.app.store.Incidents(t.Context(), store.IncidentQuery{})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if !blindRuns {
		if h, n := history(), incidents(); len(h) != 0 || n != 0 {
			t.Fatalf("the owner sees the API fine, yet %d changes and %d incidents: %+v", len(h), n, h)
		}
	}
	eventually(t, "the same summary from every member", sameSummary(t, ds))

	// The blind replica is left alone: it runs the check and leads, and
	// the outage is recorded once.
	second.stop()
	first.stop()
	eventually(t, "the blind replica to lead", blind.app.cluster.Leads)
	eventually(t, "the outage recorded", func() bool { return len(history()) > 0 })
	eventually(t, "the incident opened", func() bool { return incidents() > 0 })
	if h, n := history(), incidents(); len(h) != 1 || n != 1 {
		t.Errorf("%d changes and %d incidents, want one of each (the blind replica ran the check from the start: %v): %+v", len(h), n, blindRuns, h)
	}
}

// A heartbeat sent to the replica that does not run its check is seen by
// the one that does, which runs the check, and by every replica: their
// heartbeat check reports it (and a failed run as failed).
func TestHeartbeatSeenByEveryReplica(t *testing.T) {
	dsn := testsvc.Postgres(t)
	target, _ := testsvc.Target(t)
	a := start(t, daemonConfig(target.URL), dsn)
	b := start(t, daemonConfig(target.URL), dsn)
	id := status.CheckID{Resource: "health", Check: "backup"}
	ds := []*daemon{a, b}
	eventually(t, "one replica to run the heartbeat check, both counted", func() bool {
		o := owners(ds, []status.CheckID{id})[id]
		for _, d := range ds {
			for _, m := range d.app.cluster.View().Members {
				if time.Since(m.JoinedAt) < cluster.DefaultLease {
					return false
				}
			}
		}
		return len(o) == 1 && len(a.app.cluster.View().Members) == 2 && len(b.app.cluster.View().Members) == 2
	})
	owner, other := a, b
	if b.app.cluster.Owns(id, nil, time.Now()) {
		owner, other = b, a
	}
	backup := func(d *daemon) string {
		_, body := d.get(t, "/api/v1/checks/health/backup")
		return body
	}
	eventually(t, "the first run, before any report", func() bool { return strings.Contains(backup(other), "never") })
	report := func(query string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, other.url+"/api/v1/heartbeats/health/backup"+query, nil)
		req.Header.Set("Authorization", "Bearer s3cret")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("heartbeat to the replica that does not run the check: %d", resp.StatusCode)
		}
	}
	runs := func(d *daemon) uint64 {
		c, _ := d.app.exporter.Check(id)
		return c.Runs()
	}
	before, otherBefore := runs(owner), runs(other)
	report("")
	for _, d := range ds {
		eventually(t, "every replica to see the report", func() bool {
			return strings.Contains(backup(d), `"success":true`)
		})
	}
	if runs(owner) == before {
		t.Error("the owner did not run the check for the report")
	}
	if n := runs(other); n != otherBefore {
		t.Errorf("the replica that does not run the check ran it %d times for the report", n-otherBefore)
	}
	report("?status=fail")
	for _, d := range ds {
		eventually(t, "every replica to see the failed run", func() bool {
			return strings.Contains(backup(d), `"success":false`) && !strings.Contains(backup(d), "never")
		})
	}
}

// Two replicas share a check; its history holds each run once, by the
// member that ran it, whichever that was.
func TestHistoryKeptOnce(t *testing.T) {
	dsn := testsvc.Postgres(t)
	target, _ := testsvc.Target(t)
	config := `
storage: {results_interval: 0s}
resources:
  health:
    - {name: api, kind: http, url: "` + target.URL + `", interval: 1s, timeout: 500ms}
`
	a := start(t, config, dsn)
	b := start(t, config, dsn)
	id := status.CheckID{Resource: "health", Check: "api"}
	runs := func(d *daemon) uint64 {
		c, _ := d.app.exporter.Check(id)
		return c.Runs()
	}
	eventually(t, "five runs", func() bool { return runs(a)+runs(b) >= 5 })
	b.stop()
	a.stop() // each writes what it queued
	st, err := store.Open(t.Context(), dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rows, err := st.Results(t.Context(), id, 10000)
	if err != nil {
		t.Fatal(err)
	}
	if n := uint64(len(rows)); n != runs(a)+runs(b) {
		t.Errorf("%d results stored; a ran %d times, b %d", n, runs(a), runs(b))
	}
}

// hits counts the requests to each path of a server.
type hits struct {
	mu sync.Mutex
	at map[string][]time.Time
}

func (h *hits) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.at[r.URL.Path] = append(h.at[r.URL.Path], time.Now())
}

func (h *hits) of(path string) []time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.at[path])
}

// owners returns, for each check, the daemons that run it.
func owners(ds []*daemon, ids []status.CheckID) map[status.CheckID][]int {
	m := map[status.CheckID][]int{}
	for _, id := range ids {
		for i, d := range ds {
			if d.app.cluster.Owns(id, nil, time.Now()) {
				m[id] = append(m[id], i)
			}
		}
	}
	return m
}

// sharedChecks serves n http checks at a 1 s interval, counting each
// one's runs, and returns their config and ids.
func sharedChecks(t *testing.T, n int) (config string, ids []status.CheckID, target *hits) {
	target = &hits{at: map[string][]time.Time{}}
	srv := httptest.NewServer(target)
	t.Cleanup(srv.Close)
	var b strings.Builder
	b.WriteString("resources:\n  health:\n")
	for i := range n {
		name := fmt.Sprintf("c%02d", i)
		ids = append(ids, status.CheckID{Resource: "health", Check: name})
		fmt.Fprintf(&b, "    - {name: %s, kind: http, url: %q, interval: 1s, timeout: 500ms}\n", name, srv.URL+"/"+name)
	}
	return b.String(), ids, target
}

// sharing tells whether the daemons all see the n members, all of them
// past their grace (they count), and each check is run by one.
func sharing(ds []*daemon, ids []status.CheckID, n int) func() bool {
	return func() bool {
		for _, d := range ds {
			v := d.app.cluster.View()
			if len(v.Members) != n {
				return false
			}
			for _, m := range v.Members {
				if time.Since(m.JoinedAt) < cluster.DefaultLease {
					return false
				}
			}
		}
		for _, o := range owners(ds, ids) {
			if len(o) != 1 {
				return false
			}
		}
		return true
	}
}

// ranOnceEach fails the test for a check that ran less than a quarter of
// its 1 s interval after its run before, but the second (a check runs at
// once when it is first configured, then on its slot in the interval).
// Two members running the same slot start within milliseconds of each
// other; a run that starts late on a slow machine leaves a gap to the
// next of most of the interval still.
func ranOnceEach(t *testing.T, target *hits, ids []status.CheckID) {
	t.Helper()
	for _, id := range ids {
		at := target.of("/" + id.Check)
		for i := 2; i < len(at); i++ {
			if gap := at[i].Sub(at[i-1]); gap < 250*time.Millisecond {
				t.Errorf("%s ran twice within %v (run %d of %d)", id, gap, i, len(at))
			}
		}
	}
}

// Three replicas share thirty checks out, one joining while the others
// run: each check runs on one member at a time, never twice within an
// interval, including across the handover to the one that joined; every
// member serves every check's latest result; each member exports the
// checks it runs, and together every check once.
func TestEachCheckRunsOnce(t *testing.T) {
	dsn := testsvc.Postgres(t)
	config, ids, target := sharedChecks(t, 30)
	ds := []*daemon{start(t, config, dsn), start(t, config, dsn)}
	eventually(t, "two members sharing the checks", sharing(ds, ids, 2))
	ds = append(ds, start(t, config, dsn))
	eventually(t, "three members sharing the checks", sharing(ds, ids, 3))
	last := target.of("/c00")
	eventually(t, "three more runs", func() bool { return len(target.of("/c00")) >= len(last)+3 })
	ranOnceEach(t, target, ids)
	// Every member serves every check, from the owner's shared results.
	for _, d := range ds {
		_, body := d.get(t, "/api/v1/checks/health")
		if n := strings.Count(body, `"success":true`); n != len(ids) {
			t.Errorf("%s serves %d successful checks of %d: %s", d.app.cluster.View().Self, n, len(ids), body)
		}
	}
	// Each check is exported once across the members, by the one that
	// runs it, which counts it in statusd_cluster_checks_owned.
	exported, evaluated := 0, 0
	for _, d := range ds {
		_, m := d.get(t, "/metrics")
		exported += strings.Count(m, "\nstatusd_check_success{")
		evaluated += strings.Count(m, "\nstatusd_check_evaluated_level{")
		owned := 0
		for _, id := range ids {
			if d.app.cluster.Owns(id, nil, time.Now()) {
				owned++
			}
		}
		if !strings.Contains(m, fmt.Sprintf("\nstatusd_cluster_checks_owned %d\n", owned)) {
			t.Errorf("%s runs %d checks, and its statusd_cluster_checks_owned says otherwise", d.app.cluster.View().Self, owned)
		}
	}
	if exported != len(ids) || evaluated != len(ids) {
		t.Errorf("%d checks and %d evaluated levels exported across the members, want %d", exported, evaluated, len(ids))
	}

	// A member stops: the others take its checks over.
	ds[0].stop()
	ds = ds[1:]
	eventually(t, "two members sharing the checks after one left", sharing(ds, ids, 2))
	gone := target.of("/c00")
	eventually(t, "runs after the handover", func() bool { return len(target.of("/c00")) >= len(gone)+2 })
	ranOnceEach(t, target, ids)
}

// A rolling restart of three replicas, one after the other: no check runs
// twice within an interval, every check keeps running, and a service
// whose checks stay fine never changes.
func TestRollingRestart(t *testing.T) {
	dsn := testsvc.Postgres(t)
	config, ids, target := sharedChecks(t, 12)
	config += "services:\n  - {name: All, checks: [health/c00, health/c01, health/c02, health/c03], auto_incident: true}\n"
	ds := []*daemon{start(t, config, dsn), start(t, config, dsn), start(t, config, dsn)}
	eventually(t, "three members sharing the checks", sharing(ds, ids, 3))
	for i := range ds {
		ds[i].stop()
		ds[i] = start(t, config, dsn)
		eventuallyWithin(t, 20*time.Second, fmt.Sprintf("three members sharing the checks after restarting the member %d", i+1), sharing(ds, ids, 3))
	}
	before := map[status.CheckID]int{}
	for _, id := range ids {
		before[id] = len(target.of("/" + id.Check))
	}
	eventually(t, "every check to run again", func() bool {
		for _, id := range ids {
			if len(target.of("/"+id.Check)) < before[id]+2 {
				return false
			}
		}
		return true
	})
	ranOnceEach(t, target, ids)
	h, err := ds[0].app.store.ServiceHistory(t.Context(), "All", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 0 {
		t.Errorf("the service changed %d times across the restarts: %+v", len(h), h)
	}
}

// sameSummary tells whether the daemons answer /api/v1/summary alike:
// the worst status, the services and the incidents (not when each read
// them).
func sameSummary(t *testing.T, ds []*daemon) func() bool {
	return func() bool {
		var first string
		for i, d := range ds {
			_, body := d.get(t, "/api/v1/summary")
			var s struct {
				Worst     json.RawMessage `json:"worst_status"`
				Services  json.RawMessage `json:"services"`
				Incidents json.RawMessage `json:"incidents"`
			}
			if err := json.Unmarshal([]byte(body), &s); err != nil {
				t.Fatalf("summary: %v: %s", err, body)
			}
			got := string(s.Worst) + string(s.Services) + string(s.Incidents)
			if i == 0 {
				first = got
			} else if got != first {
				return false
			}
		}
		return true
	}
}

// startIn runs a daemon in a location.
func startIn(t *testing.T, configText, dsn, location string) *daemon {
	t.Helper()
	file := filepath.Join(t.TempDir(), "statusd.yml")
	if err := os.WriteFile(file, []byte(configText), 0o600); err != nil {
		t.Fatal(err)
	}
	return startOptions(t, file, dsn, nil, func(o *Options) { o.Cluster.Location = location })
}

// A check run from two locations, one of which cannot reach the API
// (two members in eu-west, one in us-east that is refused): each
// location runs it once, every member serves both locations' results,
// and the level is the quorum's. With the default quorum (a majority:
// both) nothing changes and nobody is paged; with a quorum of one, the
// outage is recorded once, with one incident.
func TestLocationQuorum(t *testing.T) {
	for _, tc := range []struct {
		quorum  string
		success bool
		changes int
	}{{"", true, 0}, {"quorum: 1,", false, 1}} {
		t.Run("quorum "+tc.quorum, func(t *testing.T) {
			dsn := testsvc.Postgres(t)
			reachable, _ := testsvc.Target(t)
			refused, up := testsvc.Target(t)
			up.Store(false)
			config := func(url string) string {
				return `
resources:
  health:
    - {name: api, kind: http, url: "` + url + `", interval: 1s, timeout: 500ms, ` + tc.quorum + ` locations: [eu-west, us-east]}
services:
  - {name: API, checks: [health/api], auto_incident: true}
`
			}
			ds := []*daemon{
				startIn(t, config(reachable.URL), dsn, "eu-west"),
				startIn(t, config(reachable.URL), dsn, "eu-west"),
				startIn(t, config(refused.URL), dsn, "us-east"),
			}
			id := status.CheckID{Resource: "health", Check: "api"}
			want := fmt.Sprintf(`"success":%v`, tc.success)
			for _, d := range ds {
				eventually(t, "every member to serve both locations and the quorum's verdict", func() bool {
					_, body := d.get(t, "/api/v1/checks/health/api")
					return strings.HasPrefix(body, `{"level":`) && strings.Contains(body, want) &&
						strings.Contains(body, `"eu-west":{`) && strings.Contains(body, `"us-east":{`)
				})
			}
			// One member per location runs it.
			running := 0
			for _, d := range ds {
				if d.app.cluster.Owns(id, []string{"eu-west", "us-east"}, time.Now()) {
					running++
				}
			}
			if running != 2 {
				t.Errorf("%d members run the check, want one per location", running)
			}
			// The us-east member exports its location's run.
			eventually(t, "us-east's series", func() bool {
				_, m := ds[2].get(t, "/metrics")
				return strings.Contains(m, `statusd_check_success{check="api",location="us-east",resource="health"} 0`)
			})
			leader := ds[0]
			for _, d := range ds {
				if d.app.cluster.Leads() {
					leader = d
				}
			}
			// Six more results evaluated by the leader (three runs in
			// each location, each of which could flip the service),
			// then the service's history and incidents.
			evaluated := func() float64 {
				_, m := leader.get(t, "/metrics")
				for _, line := range strings.Split(m, "\n") {
					if v, ok := strings.CutPrefix(line, "statusd_evaluator_results_total "); ok {
						n, _ := strconv.ParseFloat(v, 64)
						return n
					}
				}
				return 0
			}
			before := evaluated()
			eventually(t, "six more results evaluated", func() bool { return evaluated() >= before+6 })
			eventually(t, "the service's status to be decided", func() bool {
				h, err := leader.app.store.ServiceHistory(t.Context(), "API", 10)
				return err == nil && len(h) == tc.changes
			})
			_, n, err := leader.app.store.Incidents(t.Context(), store.IncidentQuery{})
			if err != nil || n != tc.changes {
				t.Errorf("%d incidents (%v), want %d", n, err, tc.changes)
			}
			eventually(t, "the same summary from every member", sameSummary(t, ds))
		})
	}
}
