package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/crypto/bcrypt"

	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/testsvc"
)

// TestContract runs the same assertions against every backend.
func TestContract(t *testing.T) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s *Store)
	}{
		{"Migrations", testMigrations},
		{"EnsureChecks", testEnsureChecks},
		{"Results", testResults},
		{"Rollups", testRollups},
		{"Heartbeats", testHeartbeats},
		{"Prune", testPrune},
		{"Recorder", testRecorder},
		{"RecorderSurvivesWriteFailure", testRecorderRetry},
		{"RecorderKeepsChangesAndSamples", testRecorderSamples},
		{"RecorderBatchesRollups", testRecorderBatchesRollups},
		{"ConcurrentWriters", testConcurrentWriters},
		{"Outbox", testOutbox},
		{"Members", testMembers},
		{"Leases", testLeases},
		{"SharedResults", testSharedResults},
		{"Users", testUsers},
		{"Subscribers", testSubscribers},
	}
	for _, db := range testsvc.Databases() {
		t.Run(db.Name, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					tc.fn(t, openStore(t, db.DSN(t)))
				})
			}
		})
	}
}

func openStore(t *testing.T, dsn string) *Store {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

var (
	t0     = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	apiID  = status.CheckID{Resource: "health", Check: "api"}
	dbID   = status.CheckID{Resource: "health", Check: "db"}
	codeID = status.CheckID{Resource: "stats", Check: "code"}
)

func result(at time.Time, level status.Level, value *float64) status.Result {
	return status.Result{
		Level: level, Success: level != status.Problem, Value: value,
		Message: fmt.Sprintf("%s at %s", level, at.Format(time.TimeOnly)),
		Details: map[string]any{"status_code": float64(200)}, Duration: 250 * time.Millisecond, CheckedAt: at,
	}
}

func testMigrations(t *testing.T, s *Store) {
	ctx := context.Background()
	ms, err := Migrations(s.Dialect())
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.SchemaVersion(ctx)
	if err != nil || v != ms[len(ms)-1].Version {
		t.Fatalf("schema version %d (%v), want %d", v, err, ms[len(ms)-1].Version)
	}
	again, err := s.Migrate(ctx)
	if err != nil || len(again) != 0 {
		t.Fatalf("second migrate applied %d (%v), want none", len(again), err)
	}
	for _, table := range []string{"checks", "check_results", "check_rollups", "check_state", "heartbeats",
		"service_groups", "services", "incidents", "incident_services", "incident_updates", "maintenances",
		"maintenance_services", "downtime_periods", "notification_outbox", "api_tokens", "users", "admin_sessions", "audit_log", "service_alerts"} {
		var n int
		if err := s.db.GetContext(ctx, &n, "SELECT COUNT(*) FROM "+table); err != nil {
			t.Errorf("table %s: %v", table, err)
		}
	}

	if _, err := s.w.ExecContext(ctx, "UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Migrate(ctx); err == nil || !strings.Contains(err.Error(), "was changed after it was applied") {
		t.Errorf("edited migration: err = %v", err)
	}
	if _, err := s.w.ExecContext(ctx, s.w.Rebind("UPDATE schema_migrations SET checksum = ? WHERE version = 1"), ms[0].Checksum); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, s.w.Rebind("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (9999, 'future', 'x', ?)"), t0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Migrate(ctx); err == nil || !strings.Contains(err.Error(), "migrated by a newer version") {
		t.Errorf("newer database: err = %v", err)
	}
}

func testEnsureChecks(t *testing.T, s *Store) {
	ctx := context.Background()
	first, err := s.EnsureChecks(ctx, []status.CheckID{apiID, dbID}, t0)
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.EnsureChecks(ctx, []status.CheckID{dbID, codeID}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if first[apiID] == 0 || first[dbID] == first[apiID] {
		t.Fatalf("ids: %v", first)
	}
	if second[apiID] != first[apiID] || second[dbID] != first[dbID] || second[codeID] == 0 || len(second) != 3 {
		t.Errorf("ids changed or missing: first %v, second %v", first, second)
	}
}

func testResults(t *testing.T, s *Store) {
	ctx := context.Background()
	ids, err := s.EnsureChecks(ctx, []status.CheckID{apiID, codeID}, t0)
	if err != nil {
		t.Fatal(err)
	}
	at := t0.Add(123456 * time.Microsecond)
	rows := []ResultRow{
		{ids[apiID], result(at, status.Fine, status.Float(0.25))},
		{ids[apiID], result(at.Add(time.Minute), status.Problem, status.Float(3))},
		{ids[codeID], status.Result{Level: status.Fine, Success: true, CheckedAt: at, Message: "dev"}},
	}
	if err := s.Write(ctx, Batch{Results: rows}); err != nil {
		t.Fatal(err)
	}
	latest, err := s.LatestResults(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := latest[apiID]
	if got.Level != status.Problem || got.Success || *got.Value != 3 || !got.CheckedAt.Equal(at.Add(time.Minute)) ||
		got.Duration != 250*time.Millisecond || got.Details.(map[string]any)["status_code"] != float64(200) || got.CheckedAt.Location() != time.UTC {
		t.Errorf("latest api result = %+v", got)
	}
	if code := latest[codeID]; code.Value != nil || code.Message != "dev" || len(latest) != 2 {
		t.Errorf("latest code result = %+v (of %d)", code, len(latest))
	}
	hist, err := s.Results(ctx, apiID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[0].Level != status.Problem || hist[1].Level != status.Fine || !hist[1].CheckedAt.Equal(at) {
		t.Errorf("history = %+v", hist)
	}
	// The response-time chart's durations: the api's runs since a time.
	durs, err := s.DurationsOf(ctx, []status.CheckID{apiID}, at.Add(time.Second))
	if err != nil || len(durs) != 1 || len(durs[apiID]) != 1 || durs[apiID][0] != 0.25 {
		t.Errorf("durations since the second run = %v, %v", durs, err)
	}
	// A large batch crosses the multi-row insert limit.
	var many []ResultRow
	for i := range 1234 {
		many = append(many, ResultRow{ids[codeID], result(t0.Add(time.Duration(i)*time.Second), status.Fine, nil)})
	}
	if err := s.Write(ctx, Batch{Results: many}); err != nil {
		t.Fatal(err)
	}
	if hist, _ := s.Results(ctx, codeID, 5000); len(hist) != 1235 {
		t.Errorf("stored %d code results, want 1235", len(hist))
	}
}

func testRollups(t *testing.T, s *Store) {
	ctx := context.Background()
	ids, err := s.EnsureChecks(ctx, []status.CheckID{apiID}, t0)
	if err != nil {
		t.Fatal(err)
	}
	id := ids[apiID]
	part := func(bucket time.Time, levels ...status.Level) Rollup {
		var t tally
		for _, l := range levels {
			t.add(result(bucket, l, nil))
		}
		r := t.rollup(bucket.Unix() / 60)
		r.CheckID = id
		return r
	}
	m0, m1 := t0.Add(5*time.Minute), t0.Add(6*time.Minute)
	nextHour, nextDay := t0.Add(time.Hour), t0.AddDate(0, 0, 1)
	batches := []Batch{
		{Minutes: []Rollup{part(m0, status.Fine, status.Fine)}},
		{Minutes: []Rollup{part(m0, status.Problem), part(m1, status.Warning)}}, // m0 again: adds up
		{Minutes: []Rollup{part(nextHour, status.Fine)}},
		{Minutes: []Rollup{part(nextDay, status.Fine)}},
	}
	for _, b := range batches {
		if err := s.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	minutes, err := s.Rollups(ctx, apiID, Minute, t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(minutes) != 2 || minutes[0].Runs != 3 || minutes[0].Problems != 1 || minutes[0].Failures != 1 ||
		minutes[0].WorstLevel != status.Problem || minutes[0].DurationSeconds != 0.75 || !minutes[0].Bucket.Equal(m0) {
		t.Fatalf("minutes = %+v", minutes)
	}
	hours, err := s.Rollups(ctx, apiID, Hour, t0, nextDay)
	if err != nil {
		t.Fatal(err)
	}
	if len(hours) != 2 || hours[0].Runs != 4 || hours[0].Warnings != 1 || hours[0].WorstLevel != status.Problem || hours[1].Runs != 1 {
		t.Fatalf("hours = %+v", hours)
	}
	days, err := s.Rollups(ctx, apiID, Day, t0.AddDate(0, 0, -1), t0.AddDate(0, 0, 2))
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 2 || days[0].Runs != 5 || days[1].Runs != 1 || !days[0].Bucket.Equal(Day.Truncate(t0)) {
		t.Fatalf("days = %+v", days)
	}
	if up := days[0].Uptime(); up != 0.8 {
		t.Errorf("uptime = %v, want 0.8", up)
	}
}

func testHeartbeats(t *testing.T, s *Store) {
	ctx := context.Background()
	ids, err := s.EnsureChecks(ctx, []status.CheckID{apiID, dbID}, t0)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Write(ctx, Batch{Heartbeats: []HeartbeatRow{
		{ids[apiID], Heartbeat{ReceivedAt: t0, Source: "10.0.0.1"}},
		{ids[apiID], Heartbeat{ReceivedAt: t0.Add(time.Hour), Failed: true, Source: "10.0.0.2"}},
		{ids[dbID], Heartbeat{ReceivedAt: t0.Add(time.Minute), Source: "10.0.0.3"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	last, err := s.LastHeartbeats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if hb := last[apiID]; !hb.Failed || !hb.ReceivedAt.Equal(t0.Add(time.Hour)) || hb.Source != "10.0.0.2" || len(last) != 2 {
		t.Errorf("last heartbeats = %+v", last)
	}
	// What was received since a moment: the latest of each check.
	since, err := s.HeartbeatsSince(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	if hb := since[apiID]; len(since) != 2 || !hb.Failed || !hb.ReceivedAt.Equal(t0.Add(time.Hour)) || !since[dbID].ReceivedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("heartbeats since t0 = %+v", since)
	}
	if since, _ := s.HeartbeatsSince(ctx, t0.Add(time.Minute)); len(since) != 1 || since[apiID].Source != "10.0.0.2" {
		t.Errorf("heartbeats since t0+1m = %+v", since)
	}

	// A flood of reports to one check between two writes is one row, the
	// latest.
	rec := NewRecorder(s, slog.New(slog.DiscardHandler), nil, RecorderOptions{})
	for i := range 1000 {
		rec.RecordHeartbeat(dbID, Heartbeat{ReceivedAt: t0.Add(2*time.Hour + time.Duration(i)*time.Millisecond), Failed: i == 999})
	}
	if err := rec.Flush(ctx, false); err != nil {
		t.Fatal(err)
	}
	var rows int
	if err := s.db.GetContext(ctx, &rows, s.db.Rebind("SELECT COUNT(*) FROM heartbeats WHERE check_id = ?"), ids[dbID]); err != nil {
		t.Fatal(err)
	}
	last, err = s.LastHeartbeats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if hb := last[dbID]; rows != 2 || !hb.Failed || !hb.ReceivedAt.Equal(t0.Add(2*time.Hour+999*time.Millisecond)) {
		t.Errorf("after a flood: %d rows, last %+v", rows, hb)
	}
}

func testPrune(t *testing.T, s *Store) {
	ctx := context.Background()
	ids, err := s.EnsureChecks(ctx, []status.CheckID{apiID, dbID}, t0)
	if err != nil {
		t.Fatal(err)
	}
	var b Batch
	for i := range 10 {
		at := t0.Add(time.Duration(i) * time.Hour)
		b.Results = append(b.Results, ResultRow{ids[apiID], result(at, status.Fine, nil)}, ResultRow{ids[dbID], result(at, status.Fine, nil)})
		b.Heartbeats = append(b.Heartbeats, HeartbeatRow{ids[apiID], Heartbeat{ReceivedAt: at}})
		b.Minutes = append(b.Minutes, Rollup{CheckID: ids[apiID], Resolution: Minute, Bucket: at, Runs: 1})
	}
	if err := s.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(10 * time.Hour)
	// Old notifications go once settled; a pending one stays, however old.
	err = s.Update(ctx, func(tx *Tx) error {
		for i, state := range []string{OutboxSent, OutboxFailed, OutboxPending, OutboxSent} {
			at := t0
			if i == 3 {
				at = now.Add(-time.Minute)
			}
			if _, err := tx.Enqueue(OutboxRow{Receiver: "ops", Kind: "instant", DedupKey: fmt.Sprint(i), State: state, Payload: "{}"}, at); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.Prune(ctx, Retention{
		Results: 5*time.Hour + time.Minute, ResultsPerCheck: 3,
		Minute: 2*time.Hour + time.Minute, Hour: 1000 * time.Hour, Day: 1000 * time.Hour, Heartbeats: time.Minute,
		Notifications: time.Hour,
	}, now)
	if err != nil {
		t.Fatal(err)
	}
	api, _ := s.Results(ctx, apiID, 100)
	db, _ := s.Results(ctx, dbID, 100)
	if len(api) != 3 || len(db) != 3 || !api[2].CheckedAt.Equal(t0.Add(7*time.Hour)) {
		t.Errorf("results left: api %d, db %d", len(api), len(db))
	}
	minutes, _ := s.Rollups(ctx, apiID, Minute, t0, now)
	hours, _ := s.Rollups(ctx, apiID, Hour, t0, now)
	if len(minutes) != 2 || len(hours) != 10 {
		t.Errorf("rollups left: %d minutes, %d hours", len(minutes), len(hours))
	}
	last, _ := s.LastHeartbeats(ctx)
	var hbs int
	_ = s.db.GetContext(ctx, &hbs, "SELECT COUNT(*) FROM heartbeats")
	if hbs != 1 || !last[apiID].ReceivedAt.Equal(t0.Add(9*time.Hour)) {
		t.Errorf("heartbeats left: %d, last %v", hbs, last[apiID])
	}
	var left []string
	_ = s.db.SelectContext(ctx, &left, "SELECT dedup_key FROM notification_outbox ORDER BY id")
	if strings.Join(left, ",") != "2,3" {
		t.Errorf("notifications left: %v, want the pending one and the recent one", left)
	}
	if want := int64(14 + 8 + 9 + 2); n != want {
		t.Errorf("pruned %d rows, want %d", n, want)
	}
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func testRecorder(t *testing.T, s *Store) {
	ctx := context.Background()
	clock := &fakeClock{now: t0.Add(30 * time.Second)}
	reg := prometheus.NewRegistry()
	r := NewRecorder(s, slog.New(slog.DiscardHandler), reg, RecorderOptions{Now: clock.Now, RollupInterval: time.Minute})
	r.Observe(apiID, result(t0.Add(10*time.Second), status.Fine, status.Float(1)))
	r.Observe(apiID, result(t0.Add(20*time.Second), status.Problem, status.Float(9)))
	r.RecordHeartbeat(dbID, Heartbeat{ReceivedAt: t0, Source: "cron"})
	if err := r.Flush(ctx, false); err != nil {
		t.Fatal(err)
	}
	hist, _ := s.Results(ctx, apiID, 10)
	last, _ := s.LastHeartbeats(ctx)
	minutes, _ := s.Rollups(ctx, apiID, Minute, t0, t0.Add(time.Hour))
	if len(hist) != 2 || len(last) != 1 || len(minutes) != 0 {
		t.Fatalf("after first flush: %d results, %d heartbeats, %d minutes (the open minute must wait)", len(hist), len(last), len(minutes))
	}
	clock.Set(t0.Add(61 * time.Second))
	r.Observe(apiID, result(t0.Add(61*time.Second), status.Fine, status.Float(1)))
	if err := r.Flush(ctx, false); err != nil {
		t.Fatal(err)
	}
	minutes, _ = s.Rollups(ctx, apiID, Minute, t0, t0.Add(time.Hour))
	if len(minutes) != 1 || minutes[0].Runs != 2 || minutes[0].Problems != 1 {
		t.Fatalf("closed minute = %+v", minutes)
	}
	if err := r.Flush(ctx, true); err != nil {
		t.Fatal(err)
	}
	minutes, _ = s.Rollups(ctx, apiID, Minute, t0, t0.Add(time.Hour))
	hours, _ := s.Rollups(ctx, apiID, Hour, t0, t0.Add(time.Hour))
	if len(minutes) != 2 || len(hours) != 1 || hours[0].Runs != 3 {
		t.Errorf("after final flush: minutes %+v, hours %+v", minutes, hours)
	}
	if n := testutil.ToFloat64(r.pending); n != 0 {
		t.Errorf("pending = %v", n)
	}
}

func testRecorderRetry(t *testing.T, s *Store) {
	ctx := context.Background()
	clock := &fakeClock{now: t0.Add(2 * time.Minute)}
	r := NewRecorder(s, slog.New(slog.DiscardHandler), nil, RecorderOptions{Now: clock.Now, MaxPending: 3, RollupInterval: time.Minute})
	// Register the check first, then make writes fail by hiding the table.
	r.Observe(dbID, result(t0, status.Fine, nil))
	if err := r.Flush(ctx, false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, "ALTER TABLE check_results RENAME TO check_results_away"); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		r.Observe(apiID, result(t0.Add(time.Duration(i)*time.Second), status.Fine, nil))
	}
	r.RecordHeartbeat(apiID, Heartbeat{ReceivedAt: t0})
	if err := r.Flush(ctx, false); err == nil {
		t.Fatal("flush succeeded without its table")
	}
	if got := testutil.ToFloat64(r.dropped); got != 2 {
		t.Errorf("dropped = %v, want 2 (cap 3 of 5)", got)
	}
	if _, err := s.w.ExecContext(ctx, "ALTER TABLE check_results_away RENAME TO check_results"); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx, false); err != nil {
		t.Fatal(err)
	}
	hist, _ := s.Results(ctx, apiID, 10)
	last, _ := s.LastHeartbeats(ctx)
	minutes, _ := s.Rollups(ctx, apiID, Minute, t0, t0.Add(time.Hour))
	if len(hist) != 3 || !hist[2].CheckedAt.Equal(t0.Add(2*time.Second)) || len(last) != 1 {
		t.Errorf("after retry: %d results (oldest %v), %d heartbeats", len(hist), hist, len(last))
	}
	if len(minutes) != 1 || minutes[0].Runs != 5 {
		t.Errorf("rollups must count every run, dropped or not: %+v", minutes)
	}
}

func testConcurrentWriters(t *testing.T, s *Store) {
	ctx := context.Background()
	ids, err := s.EnsureChecks(ctx, []status.CheckID{apiID}, t0)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				at := t0.Add(time.Duration(w*100+i) * time.Second)
				if err := s.Write(ctx, Batch{Results: []ResultRow{{ids[apiID], result(at, status.Fine, nil)}},
					Minutes: []Rollup{{CheckID: ids[apiID], Resolution: Minute, Bucket: at, Runs: 1}}}); err != nil {
					errs <- err
					return
				}
				if _, err := s.LatestResults(ctx); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if hist, _ := s.Results(ctx, apiID, 1000); len(hist) != 80 {
		t.Errorf("stored %d results, want 80", len(hist))
	}

	// Replicas add to the same hour rollups of many checks, each listing
	// them in its own order (a check changed hands), and share results
	// of the same checks: no writer deadlocks another, and every run
	// counts.
	var many []status.CheckID
	for i := range 40 {
		many = append(many, status.CheckID{Resource: "load", Check: fmt.Sprintf("c%02d", i)})
	}
	mids, err := s.EnsureChecks(ctx, many, t0)
	if err != nil {
		t.Fatal(err)
	}
	errs = make(chan error, 4)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				var minutes []Rollup
				var shared []SharedResult
				for j := range many {
					id := many[j]
					if w%2 == 1 {
						id = many[len(many)-1-j]
					}
					minutes = append(minutes, Rollup{CheckID: mids[id], Resolution: Minute, Bucket: t0.Add(time.Duration(i) * time.Minute), Runs: 1})
					shared = append(shared, SharedResult{ID: id, Result: result(t0.Add(time.Duration(w*10+i)*time.Second), status.Fine, nil)})
				}
				if err := s.Write(ctx, Batch{Minutes: minutes}); err != nil {
					errs <- err
					return
				}
				if err := s.ShareResults(ctx, fmt.Sprint("m", w), t0, shared); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	hours, err := s.Rollups(ctx, many[0], Hour, t0.Add(-time.Hour), t0.Add(time.Hour))
	if err != nil || len(hours) != 1 || hours[0].Runs != 40 {
		t.Errorf("the hour of %s: %+v %v, want 40 runs", many[0], hours, err)
	}
}

func testRecorderSamples(t *testing.T, s *Store) {
	ctx := context.Background()
	clock := &fakeClock{now: t0.Add(10 * time.Minute)}
	r := NewRecorder(s, slog.New(slog.DiscardHandler), nil, RecorderOptions{Now: clock.Now, ResultsInterval: time.Minute})
	levels := []status.Level{status.Fine, status.Fine, status.Fine, status.Warning, status.Warning, status.Fine, status.Fine, status.Fine}
	for i, l := range levels {
		r.Observe(apiID, result(t0.Add(time.Duration(i)*10*time.Second), l, nil))
	}
	if err := r.Flush(ctx, true); err != nil {
		t.Fatal(err)
	}
	hist, _ := s.Results(ctx, apiID, 100)
	var got []string
	for i := len(hist) - 1; i >= 0; i-- {
		got = append(got, fmt.Sprintf("%s@%s", hist[i].Level, hist[i].CheckedAt.Sub(t0)))
	}
	// The first, every change, and an unchanged one a minute after the last kept.
	want := "fine@0s warning@30s fine@50s"
	if strings.Join(got, " ") != want {
		t.Errorf("kept %s, want %s", strings.Join(got, " "), want)
	}
	r.Observe(apiID, result(t0.Add(110*time.Second), status.Fine, nil))
	if err := r.Flush(ctx, true); err != nil {
		t.Fatal(err)
	}
	if hist, _ := s.Results(ctx, apiID, 100); len(hist) != 4 {
		t.Errorf("an unchanged result a minute later was not kept: %d results", len(hist))
	}
	minutes, _ := s.Rollups(ctx, apiID, Minute, t0, t0.Add(time.Hour))
	runs := 0
	for _, m := range minutes {
		runs += m.Runs
	}
	if runs != 9 {
		t.Errorf("rollups counted %d runs, want all 9", runs)
	}
}

func testRecorderBatchesRollups(t *testing.T, s *Store) {
	ctx := context.Background()
	clock := &fakeClock{now: t0.Add(2 * time.Minute)}
	r := NewRecorder(s, slog.New(slog.DiscardHandler), nil, RecorderOptions{Now: clock.Now}) // every 5 minutes
	for i := range 3 {
		r.Observe(apiID, result(t0.Add(time.Duration(i)*time.Minute), status.Fine, nil))
	}
	if err := r.Flush(ctx, false); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.Rollups(ctx, apiID, Minute, t0, t0.Add(time.Hour)); len(m) != 0 {
		t.Fatalf("minutes written before the rollup interval: %+v", m)
	}
	clock.Set(t0.Add(5 * time.Minute))
	if err := r.Flush(ctx, false); err != nil {
		t.Fatal(err)
	}
	minutes, _ := s.Rollups(ctx, apiID, Minute, t0, t0.Add(time.Hour))
	hours, _ := s.Rollups(ctx, apiID, Hour, t0, t0.Add(time.Hour))
	if len(minutes) != 3 || len(hours) != 1 || hours[0].Runs != 3 {
		t.Errorf("after 5 minutes: %d minutes, hours %+v", len(minutes), hours)
	}
}

// The outbox: counted, claimed head first per receiver, never past a row
// that waits for its retry, released and settled.
func testOutbox(t *testing.T, s *Store) {
	ctx := context.Background()
	enqueue := func(receiver, key, state string, at time.Time) {
		t.Helper()
		err := s.Update(ctx, func(tx *Tx) error {
			_, err := tx.Enqueue(OutboxRow{Receiver: receiver, Kind: "instant", DedupKey: key, State: state, Payload: "{}"}, at)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if n, oldest, err := s.OutboxStats(ctx); err != nil || n != 0 || !oldest.IsZero() {
		t.Fatalf("empty outbox: %d, %v, %v", n, oldest, err)
	}
	enqueue("c", "c1", OutboxSent, t0.Add(-time.Hour))
	enqueue("a", "a1", OutboxPending, t0)
	enqueue("a", "a2", OutboxPending, t0.Add(time.Second))
	enqueue("b", "b1", OutboxPending, t0.Add(5*time.Second))
	enqueue("a", "a3", OutboxPending, t0.Add(2*time.Second))
	n, oldest, err := s.OutboxStats(ctx)
	if err != nil || n != 4 || !oldest.Equal(t0) {
		t.Fatalf("stats: %d pending, oldest %v (%v)", n, oldest, err)
	}
	keys := func(m map[string][]Claimed) string {
		var out []string
		for _, r := range slices.Sorted(maps.Keys(m)) {
			for _, c := range m[r] {
				out = append(out, c.DedupKey)
			}
		}
		return strings.Join(out, ",")
	}
	claim := func(at time.Time, wait time.Duration) map[string][]Claimed {
		t.Helper()
		c, err := s.Claim(ctx, ClaimOptions{Now: at, Owner: "test", Lease: time.Minute, GroupWait: wait, PerReceiver: 2})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// b's row is not 10 s old yet: it waits for others to join it.
	c := claim(t0.Add(10*time.Second), 10*time.Second)
	if got := keys(c); got != "a1,a2" {
		t.Fatalf("first claim: %s", got)
	}
	if got := keys(claim(t0.Add(11*time.Second), 0)); got != "b1" {
		t.Fatalf("claimed rows were claimed again, or b's was not: %s", got)
	}
	// a1 is sent; a2 failed and waits a minute; a3 must wait behind it.
	if err := s.Settle(ctx, Settlement{IDs: []int64{c["a"][0].ID}, State: OutboxSent, Attempted: true}, t0.Add(12*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.Settle(ctx, Settlement{IDs: []int64{c["a"][1].ID}, State: OutboxPending, Attempted: true, Error: "HTTP 500",
		NextAttempt: t0.Add(72 * time.Second)}, t0.Add(12*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := keys(claim(t0.Add(20*time.Second), 0)); got != "" {
		t.Fatalf("claimed past a row waiting for its retry, or a leased one: %s", got)
	}
	n, oldest, _ = s.OutboxStats(ctx)
	if n != 3 || !oldest.Equal(t0.Add(time.Second)) {
		t.Errorf("after one sent: %d pending, oldest %v", n, oldest)
	}
	// The lease ends, the retry is due: a2 then a3, in order, and b1.
	c = claim(t0.Add(2*time.Minute), 0)
	if got := keys(c); got != "a2,a3,b1" || c["a"][0].Attempts != 1 {
		t.Errorf("after the retry came due: %s, attempts %d", got, c["a"][0].Attempts)
	}
	// Rows composed into nothing to tell are settled as collapsed, and
	// NextDue tells when the next waiting row comes due.
	if err := s.Settle(ctx, Settlement{IDs: []int64{c["b"][0].ID}, State: OutboxCollapsed}, t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if rows, err := s.Outbox(ctx, OutboxCollapsed); err != nil || len(rows) != 1 || rows[0].DedupKey != "b1" {
		t.Errorf("collapsed rows: %+v %v", rows, err)
	}
	enqueue("z", "z1", "", t0.Add(2*time.Minute))
	if next, ok, err := s.NextDue(ctx, t0.Add(2*time.Minute), 10*time.Second); err != nil || !ok || !next.Equal(t0.Add(2*time.Minute+10*time.Second)) {
		t.Errorf("next due: %v %v %v", next, ok, err)
	}
}

// Members register, renew, lapse and leave; a second process under a
// live member's id is refused.
func testMembers(t *testing.T, s *Store) {
	ctx := context.Background()
	const ttl = 6 * time.Second
	a := Member{ID: "a", Address: "10.0.0.1:9799", Location: "eu-west", Version: "1.0", Checks: 3, StartedAt: t0}
	b := Member{ID: "b", Address: "10.0.0.2:9799", Version: "1.0", StartedAt: t0.Add(time.Second)}
	ids := func(ms []Member) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.ID)
		}
		return out
	}
	if _, _, err := s.Renew(ctx, a, "", t0, ttl); err != nil {
		t.Fatal(err)
	}
	live, _, err := s.Renew(ctx, b, "", t0.Add(time.Second), ttl)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(live); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("live members: %v", got)
	}
	if got := live[0]; got.Address != a.Address || got.Location != "eu-west" || got.Checks != 3 || !got.StartedAt.Equal(t0) || !got.JoinedAt.Equal(t0) || !got.ExpiresAt.Equal(t0.Add(ttl)) {
		t.Errorf("member a as stored: %+v", got)
	}
	// A renewal keeps the time a member joined.
	if live, _, err := s.Renew(ctx, a, "", t0.Add(time.Millisecond), ttl-time.Millisecond); err != nil || !live[0].JoinedAt.Equal(t0) {
		t.Errorf("a renewed: joined %v, %v", live[0].JoinedAt, err)
	}
	// b renews past a's lease: a is gone from the live members, and
	// still listed (as lapsed) for a while.
	live, _, err = s.Renew(ctx, b, "", t0.Add(ttl), ttl)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(live); !slices.Equal(got, []string{"b"}) {
		t.Errorf("after a's lease lapsed: %v", got)
	}
	if all, _ := s.Members(ctx); len(all) != 2 {
		t.Errorf("all members: %+v", all)
	}
	// Another process under b's id while b lives is refused, and takes
	// the id over once b's lease lapsed.
	impostor := b
	impostor.StartedAt = t0.Add(2 * time.Second)
	if _, _, err := s.Renew(ctx, impostor, "", t0.Add(ttl+time.Second), ttl); !errors.Is(err, ErrMemberIDTaken) {
		t.Errorf("a second b: %v, want ErrMemberIDTaken", err)
	}
	if live, _, err := s.Renew(ctx, impostor, "", t0.Add(3*ttl), ttl); err != nil || !live[len(live)-1].JoinedAt.Equal(t0.Add(3*ttl)) {
		t.Errorf("b's id after its lease lapsed: %v, joined %v (a new member joins then)", err, live[len(live)-1].JoinedAt)
	}
	if err := s.Leave(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if all, _ := s.Members(ctx); !slices.Equal(ids(all), []string{"a"}) {
		t.Errorf("after b left: %v", ids(all))
	}
	// Departed members are forgotten after an hour.
	if _, _, err := s.Renew(ctx, b, "", t0.Add(2*time.Hour), ttl); err != nil {
		t.Fatal(err)
	}
	if all, _ := s.Members(ctx); !slices.Equal(ids(all), []string{"b"}) {
		t.Errorf("an hour later: %v", ids(all))
	}
}

// A lease is held by one member until its term is over: renewed by its
// holder, taken over by another only once expired, released on leaving.
func testLeases(t *testing.T, s *Store) {
	ctx := context.Background()
	const ttl = 6 * time.Second
	a := Member{ID: "a", StartedAt: t0}
	b := Member{ID: "b", StartedAt: t0}
	holder := func(m Member, at time.Time) string {
		t.Helper()
		_, l, err := s.Renew(ctx, m, "leader", at, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return l.Holder
	}
	if _, ok, err := s.Lease(ctx, "leader"); ok || err != nil {
		t.Fatalf("a lease before anyone took it: %v %v", ok, err)
	}
	if h := holder(a, t0); h != "a" {
		t.Fatalf("first taker: %s", h)
	}
	if h := holder(b, t0.Add(time.Second)); h != "a" {
		t.Errorf("while a holds it, b got %s", h)
	}
	if h := holder(a, t0.Add(4*time.Second)); h != "a" {
		t.Errorf("a's renewal: %s", h)
	}
	// a stops renewing: b takes the lease once a's term is over, and a
	// does not take it back.
	if h := holder(b, t0.Add(4*time.Second+ttl)); h != "b" {
		t.Errorf("after a's term: %s, want b", h)
	}
	if h := holder(a, t0.Add(5*time.Second+ttl)); h != "b" {
		t.Errorf("a late renewal took the lease back: %s", h)
	}
	l, ok, err := s.Lease(ctx, "leader")
	if err != nil || !ok || l.Holder != "b" || !l.AcquiredAt.Equal(t0.Add(4*time.Second+ttl)) || !l.ExpiresAt.Equal(t0.Add(4*time.Second+2*ttl)) {
		t.Errorf("lease as stored: %+v %v %v", l, ok, err)
	}
	if err := s.Leave(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Lease(ctx, "leader"); ok {
		t.Errorf("b left and still holds the lease")
	}
	if h := holder(a, t0.Add(6*time.Second+ttl)); h != "a" {
		t.Errorf("after b left: %s, want a at once", h)
	}
}

// The owner of a check shares its latest result; the others read what
// they did not write, since a moment; an older result never replaces a
// newer one.
func testSharedResults(t *testing.T, s *Store) {
	ctx := context.Background()
	dbID := status.CheckID{Resource: "health", Check: "db"}
	res := func(at time.Time, ok bool) status.Result {
		return status.Result{Level: status.Fine, Success: ok, Value: status.Float(0.25), Message: "200 OK",
			Details: map[string]any{"rows": 3.0}, Duration: 250 * time.Millisecond, CheckedAt: at}
	}
	if err := s.ShareResults(ctx, "a", t0, []SharedResult{{ID: apiID, Result: res(t0, true)}, {ID: dbID, Result: res(t0, true)}, {ID: dbID, Location: "us-east", Result: res(t0, false)}}); err != nil {
		t.Fatal(err)
	}
	if err := s.ShareResults(ctx, "b", t0.Add(time.Second), []SharedResult{{ID: dbID, Result: res(t0.Add(time.Second), false)}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.SharedResultsSince(ctx, t0.Add(-time.Second), "b", nil)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, func(x, y SharedResult) int { return strings.Compare(x.ID.Check+x.Location, y.ID.Check+y.Location) })
	if len(got) != 2 || got[0].ID != apiID || got[0].Owner != "a" || !reflect.DeepEqual(got[0].Result, res(t0, true)) ||
		got[1].ID != dbID || got[1].Location != "us-east" || got[1].Result.Success {
		t.Errorf("b reads %+v, want a's results of %s and of %s in us-east", got, apiID, dbID)
	}
	// a wrote an older result of db late: b's newer one stays.
	if err := s.ShareResults(ctx, "a", t0.Add(2*time.Second), []SharedResult{{ID: dbID, Result: res(t0, true)}}); err != nil {
		t.Fatal(err)
	}
	got, err = s.SharedResultsSince(ctx, t0.Add(500*time.Millisecond), "a", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != dbID || got[0].Owner != "b" || got[0].Result.Success {
		t.Errorf("a reads %+v, want b's newer failed result of %s", got, dbID)
	}
	if got, err := s.SharedResultsSince(ctx, t0.Add(time.Second), "a", nil); err != nil || len(got) != 0 {
		t.Errorf("nothing written since: %+v %v", got, err)
	}
}

// Users are added once, listed by name, given a new password and
// removed; a hash checks its password only.
func testUsers(t *testing.T, s *Store) {
	ctx := context.Background()
	// bcrypt's least work, for speed; the cost is the hash's own.
	hash, err := hashPassword("correct horse battery", bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := HashPassword("short"); err == nil {
		t.Error("a 5-character password was hashed")
	}
	if _, err := HashPassword(strings.Repeat("x", 73)); err == nil {
		t.Error("a 73-byte password was hashed")
	}
	if err := s.AddUser(ctx, "bob", hash, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.AddUser(ctx, "alice", hash, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.AddUser(ctx, "alice", hash, t0); !errors.Is(err, ErrUserExists) {
		t.Errorf("alice twice: %v", err)
	}
	us, err := s.Users(ctx)
	if err != nil || len(us) != 2 || us[0].Name != "alice" || !us[0].CreatedAt.Equal(t0) || !CheckPassword(us[0].Hash, "correct horse battery") {
		t.Fatalf("users: %+v %v", us, err)
	}
	other, _ := hashPassword("staple battery horse", bcrypt.MinCost)
	if err := s.SetPassword(ctx, "alice", other, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	u, err := s.UserByName(ctx, "alice")
	if err != nil || CheckPassword(u.Hash, "correct horse battery") || !CheckPassword(u.Hash, "staple battery horse") || !u.UpdatedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("alice after passwd: %+v %v", u, err)
	}
	if err := s.RemoveUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{s.RemoveUser(ctx, "alice"), s.SetPassword(ctx, "alice", other, t0)} {
		if !errors.Is(err, ErrNoUser) {
			t.Errorf("alice gone: %v, want ErrNoUser", err)
		}
	}
	if _, err := s.UserByName(ctx, "alice"); !errors.Is(err, ErrNoUser) {
		t.Errorf("alice read after removal: %v", err)
	}
}
