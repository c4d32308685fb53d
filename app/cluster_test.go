package app

import (
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

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
	checks := ds[0].app.exporter.Len()
	for _, m := range v.Members {
		if m.Checks != checks || m.Address == "" || m.StartedAt.IsZero() || !m.ExpiresAt.After(m.RenewedAt) {
			t.Errorf("member as registered: %+v (the config has %d checks)", m, checks)
		}
	}
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

// Three replicas, one of which cannot reach the API: the services follow
// the leader, which can, so nothing changes and nobody is paged; once the
// replica that cannot reach it is the only one left, it leads, and the
// outage is recorded once, with one incident.
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
	eventually(t, "the first replica to lead", first.app.cluster.Leads)
	second := start(t, config(reachable.URL), dsn)
	blind := start(t, config(unreachable.URL), dsn)
	eventually(t, "the blind replica to see the API at problem", func() bool { return evaluatedLevelOf(t, blind, "api") == "2" })
	// A few more of its results, each of which would have flipped the
	// service had it decided.
	runs := func() string {
		_, m := blind.get(t, "/metrics")
		for _, line := range strings.Split(m, "\n") {
			if strings.HasPrefix(line, `statusd_check_runs_total{check="api",resource="health"} `) {
				return strings.Fields(line)[1]
			}
		}
		return ""
	}
	seen := runs()
	eventually(t, "more runs on the blind replica", func() bool { r := runs(); return r != "" && r != seen })
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
	if h, n := history(), incidents(); len(h) != 0 || n != 0 {
		t.Fatalf("the leader sees the API fine, yet %d changes and %d incidents: %+v", len(h), n, h)
	}

	// The blind replica is left alone: it leads, and the outage is
	// recorded once.
	second.stop()
	first.stop()
	eventually(t, "the blind replica to lead", blind.app.cluster.Leads)
	eventually(t, "the outage recorded", func() bool { return len(history()) > 0 })
	eventually(t, "the incident opened", func() bool { return incidents() > 0 })
	if h, n := history(), incidents(); len(h) != 1 || n != 1 {
		t.Errorf("%d changes and %d incidents, want one of each: %+v", len(h), n, h)
	}
}

// A heartbeat sent to one replica is seen by the others: their heartbeat
// check reports it (and a failed run as failed).
func TestHeartbeatSeenByEveryReplica(t *testing.T) {
	dsn := testsvc.Postgres(t)
	target, _ := testsvc.Target(t)
	a := start(t, daemonConfig(target.URL), dsn)
	b := start(t, daemonConfig(target.URL), dsn)
	backup := func(d *daemon) string {
		_, body := d.get(t, "/api/v1/checks/health/backup")
		return body
	}
	eventually(t, "b's first run, before any report", func() bool { return strings.Contains(backup(b), "never") })
	report := func(query string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, a.url+"/api/v1/heartbeats/health/backup"+query, nil)
		req.Header.Set("Authorization", "Bearer s3cret")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("heartbeat to a: %d", resp.StatusCode)
		}
	}
	report("")
	eventually(t, "b to see the report a received", func() bool {
		return strings.Contains(backup(b), `"success":true`)
	})
	report("?status=fail")
	eventually(t, "b to see the failed run a received", func() bool {
		return strings.Contains(backup(b), `"success":false`) && !strings.Contains(backup(b), "never")
	})
}

// Two replicas run every check; the history of a check holds each run
// once, the leader's (and at most the other's first runs, before it knew
// it does not lead).
func TestHistoryKeptOnce(t *testing.T) {
	dsn := testsvc.Postgres(t)
	target, _ := testsvc.Target(t)
	config := `
storage: {results_interval: 0s}
resources:
  health:
    - {name: api, kind: http, url: "` + target.URL + `", interval: 1s, timeout: 500ms}
`
	leader := start(t, config, dsn)
	eventually(t, "the first replica to lead", leader.app.cluster.Leads)
	other := start(t, config, dsn)
	id := status.CheckID{Resource: "health", Check: "api"}
	runs := func(d *daemon) uint64 {
		c, _ := d.app.exporter.Check(id)
		return c.Runs()
	}
	// Runs before the other replica knew it does not lead are kept too
	// (nothing is lost at start): at most those it had made by then.
	<-other.app.cluster.Settled()
	early := runs(other)
	eventually(t, "five more runs on the other replica", func() bool { return runs(other) >= early+5 })
	other.stop()
	leader.stop() // writes what it queued
	st, err := store.Open(t.Context(), dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rows, err := st.Results(t.Context(), id, 10000)
	if err != nil {
		t.Fatal(err)
	}
	if n, l := uint64(len(rows)), runs(leader); n < l || n > l+early {
		t.Errorf("%d results stored; the leader ran %d times, the other %d (%d before it knew who leads)", n, l, runs(other), early)
	}
}
