package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/statusd/statusd/internal/board"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
)

// boardFixture serves the read API over a real store and board cache.
type boardFixture struct {
	clock *clockwork.FakeClock
	srv   *httptest.Server
	st    *store.Store
	cache *board.Cache
	reg   *prometheus.Registry
}

// sqliteStore is a migrated SQLite store in the test's folder, closed
// with the test.
func sqliteStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "statusd.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st
}

func newBoardFixture(t *testing.T) *boardFixture {
	t.Helper()
	st := sqliteStore(t)
	reg := prometheus.NewRegistry()
	cache := board.New(board.Options{Store: st, Registerer: reg})
	clock := clockwork.NewFakeClockAt(time.Now())
	h, err := Handler(Options{Logger: slog.New(slog.DiscardHandler), Board: cache, History: st, Gatherer: reg, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &boardFixture{srv: srv, st: st, cache: cache, reg: reg, clock: clock}
}

func (f *boardFixture) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(f.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q", path, ct)
	}
	// The read API is public: any site may embed it (CORS).
	if resp.StatusCode == 200 && resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("%s: no Access-Control-Allow-Origin: *", path)
	}
	return resp.StatusCode, b.String()
}

func TestReadAPI(t *testing.T) {
	f := newBoardFixture(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

	// No services: no worst status, no banner.
	if err := f.cache.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if code, body := f.get(t, "/api/v1/summary"); code != 200 || !strings.Contains(body, `"worst_status":null,"banner":null`) {
		t.Errorf("empty summary: %d %s", code, body)
	}
	if v, err := testutil.GatherAndCount(f.reg, "statusd_page_worst_status"); err != nil || v != 1 {
		t.Errorf("worst status series: %d %v", v, err)
	}

	err := f.st.SyncConfig(ctx, []store.GroupSpec{{Name: "Website", Priority: 10, Collapse: "when_operational"}},
		[]store.ServiceSpec{
			{Name: "API", Group: "Website", Priority: 5, OnProblem: status.MajorOutage, Checks: []status.CheckID{{Resource: "health", Check: "api"}}},
			{Name: "Docs"},
		}, now)
	if err != nil {
		t.Fatal(err)
	}
	err = f.st.Update(ctx, func(tx *store.Tx) error {
		api, err := tx.Service("API")
		if err != nil {
			return err
		}
		if _, err := tx.SetServiceStatus(api, status.PartialOutage, false, store.CauseChecks, "", now.Add(time.Minute)); err != nil {
			return err
		}
		id, err := tx.OpenIncident("API: partial outage", []int64{api.ID}, store.Investigating, "<script>alert(1)</script> see https://x.example", true, now.Add(time.Minute))
		if err != nil {
			return err
		}
		if err := tx.AddIncidentUpdate(id, store.Identified, "the database", now.Add(2*time.Minute)); err != nil {
			return err
		}
		_, err = tx.OpenIncident("Old", nil, store.Resolved, "done", false, now.Add(-48*time.Hour))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.cache.Refresh(ctx); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		path string
		code int
		want []string
	}{
		{"/api/v1/summary", 200, []string{`"worst_status":"partial_outage"`, `"banner":"Some systems are experiencing partial outages"`,
			`"groups":[{"name":"Website","priority":10,"collapse":"when_operational","collapsed":false,"worst_status":"partial_outage","services":["API"]}]`,
			`{"name":"API","group":"Website"`, `"status":"partial_outage"`, `"checks":["health/api"]`, `{"name":"Docs","group":null`,
			`"title":"API: partial outage"`, `"state":"identified"`}},
		{"/api/v1/services", 200, []string{`[{"name":"API"`, `"since":"2026-11-23T10:01:00Z"`}},
		{"/api/v1/services/API", 200, []string{`"name":"API"`}},
		{"/api/v1/services/Nope", 404, []string{`"error":"service Nope not found"`}},
		{"/api/v1/services/API/history", 200, []string{`[{"at":"2026-11-23T10:01:00Z","from":"operational","to":"partial_outage","maintenance":false,"cause":"checks"}]`}},
		{"/api/v1/services/API/history?limit=0", 400, []string{"limit must be a whole number from 1 to 10000"}},
		{"/api/v1/incidents", 200, []string{`"total":2`, `"page":1,"per_page":20`}},
		{"/api/v1/incidents?state=open", 200, []string{`"total":1`, `"title":"API: partial outage"`}},
		{"/api/v1/incidents?state=closed", 200, []string{`"total":1`, `"title":"Old"`, `"closed":true`}},
		{"/api/v1/incidents?state=shut", 400, []string{"state must be open or closed"}},
		{"/api/v1/incidents?page=2&per_page=1", 200, []string{`"title":"Old"`, `"page":2,"per_page":1,"total":2`}},
		{"/api/v1/incidents?page=9", 200, []string{`"incidents":[]`}},
		{"/api/v1/incidents/1", 200, []string{`"updates":[{"id":2,"state":"identified","message":"the database"`, `\u003cscript\u003e`}},
		{"/api/v1/incidents/99", 404, []string{"incident 99 not found"}},
		{"/api/v1/incidents/x", 400, []string{"incident id must be a positive number"}},
		{"/api/v1/groups", 200, []string{`"name":"Website"`}},
		{"/api/v1/maintenances", 200, []string{`[]`}},
	}
	for _, c := range cases {
		code, body := f.get(t, c.path)
		if code != c.code {
			t.Errorf("%s = %d %s, want %d", c.path, code, body, c.code)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s lacks %s:\n%s", c.path, w, body)
			}
		}
	}
	want := `
# HELP statusd_incidents_open Incidents not resolved.
# TYPE statusd_incidents_open gauge
statusd_incidents_open 1
# HELP statusd_page_worst_status Worst status of all services (the status page's banner and favicon), -1 when there are no services.
# TYPE statusd_page_worst_status gauge
statusd_page_worst_status 2
# HELP statusd_service_status Status of the service: 0 operational, 1 degraded, 2 partial outage, 3 major outage.
# TYPE statusd_service_status gauge
statusd_service_status{group="",service="Docs"} 0
statusd_service_status{group="Website",service="API"} 2
`
	if err := testutil.GatherAndCompare(f.reg, strings.NewReader(want), "statusd_incidents_open", "statusd_page_worst_status", "statusd_service_status"); err != nil {
		t.Error(err)
	}
}

// A change written elsewhere (the command line, another statusd) shows
// once the store's board version moves.
func TestBoardFollowsTheStore(t *testing.T) {
	f := newBoardFixture(t)
	ctx := context.Background()
	if err := f.cache.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	v := f.cache.Board().Version
	if err := f.st.SyncConfig(ctx, nil, []store.ServiceSpec{{Name: "API"}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	nv, err := f.st.BoardVersion(ctx)
	if err != nil || nv <= v {
		t.Fatalf("board version %d after %d (%v): a write must bump it", nv, v, err)
	}
}

// The summary is served from memory with its ETag and gzip form, made
// again when the board changes and when a maintenance window it shows
// starts.
func TestSummaryCached(t *testing.T) {
	f := newBoardFixture(t)
	ctx := context.Background()
	now := f.clock.Now().UTC()
	var specs []store.ServiceSpec
	for i := range 20 {
		specs = append(specs, store.ServiceSpec{Name: fmt.Sprintf("Service %d", i), Description: "A service of ACME's"})
	}
	if err := f.st.SyncConfig(ctx, nil, specs, now); err != nil {
		t.Fatal(err)
	}
	if err := f.cache.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	get := func(header ...string) (int, http.Header) {
		t.Helper()
		req, _ := http.NewRequest("GET", f.srv.URL+"/api/v1/summary", nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header
	}
	_, first := get("Accept-Encoding", "gzip")
	tag := first.Get("ETag")
	if first.Get("Content-Encoding") != "gzip" || tag == "" || first.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("summary headers: %v", first)
	}
	if code, _ := get("If-None-Match", tag); code != http.StatusNotModified {
		t.Errorf("a poll that has it: %d", code)
	}
	// A window that starts in a moment: the summary made before says it
	// is ahead, the one after it started says it is active.
	err := f.st.Update(ctx, func(tx *store.Tx) error {
		_, err := tx.AddMaintenance("Upgrade", "", now.Add(2*time.Second), nil, nil, now)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.cache.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, body := f.get(t, "/api/v1/summary"); !strings.Contains(body, `"title":"Upgrade"`) || !strings.Contains(body, `"active":false`) {
		t.Fatalf("after the board changed: %s", body)
	}
	// The clock reaches the window's start: the summary made before it
	// is not served after it.
	f.clock.Advance(2 * time.Second)
	if _, body := f.get(t, "/api/v1/summary"); !strings.Contains(body, `"title":"Upgrade","description":"","starts"`) || !strings.Contains(body, `"active":true`) {
		t.Fatalf("the window started and the summary does not say so: %s", body)
	}
}
