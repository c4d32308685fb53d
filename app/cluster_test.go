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

	// One stops: it leaves at once, not when its lease lapses.
	gone := ds[2].app.cluster.View().Self
	ds[2].stop()
	eventually(t, "two members after one stopped", func() bool {
		_, v = ds[1].clusterView(t, token)
		return len(v.Members) == 2 && !slices.Contains(memberIDs(v), gone)
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
