package exporter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/statusd/statusd/exporter/probe"
	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/exposition"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
	"github.com/statusd/statusd/internal/threshold"
)

var discard = slog.New(slog.DiscardHandler)

type dtoHistogram struct{ count, lateOverOne uint64 }

func (h *dtoHistogram) read(t *testing.T, s *scheduler) {
	t.Helper()
	var m dto.Metric
	if err := s.delay.Write(&m); err != nil {
		t.Fatal(err)
	}
	h.count = m.Histogram.GetSampleCount()
	for _, b := range m.Histogram.Bucket {
		if b.GetUpperBound() == 1 {
			h.lateOverOne = h.count - b.GetCumulativeCount()
		}
	}
}

func parseConfig(t *testing.T, text string) *config.Config {
	t.Helper()
	c, err := config.Parse([]byte(text), "", config.OSEnv())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// recorder keeps what the exporter records.
type recorder struct {
	mu         sync.Mutex
	results    []status.CheckID
	heartbeats []status.CheckID
}

func (r *recorder) Observe(id status.CheckID, _ status.Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.results = append(r.results, id)
}

func (r *recorder) RecordHeartbeat(id status.CheckID, _ store.Heartbeat) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.heartbeats = append(r.heartbeats, id)
}

func TestThresholds(t *testing.T) {
	cases := []struct {
		name             string
		value            *float64
		success          bool
		probeLevel       status.Level
		warning, problem string
		want             status.Level
		suffix           string
	}{
		{"below both", status.Float(1), true, status.Fine, "value > 2", "value > 5", status.Fine, ""},
		{"warning", status.Float(3), true, status.Fine, "value > 2", "value > 5", status.Warning, " (warning: value > 2)"},
		{"problem wins", status.Float(6), true, status.Fine, "value > 2", "value > 5", status.Problem, " (problem: value > 5)"},
		{"probe level kept", status.Float(1), true, status.Warning, "value > 2", "value > 5", status.Warning, ""},
		{"failure is problem", status.Float(1), false, status.Fine, "value > 2", "", status.Problem, ""},
		{"no value, no threshold", nil, true, status.Fine, "value > 2", "value > 5", status.Fine, ""},
		{"only problem", status.Float(0.5), true, status.Fine, "", "value < 1", status.Problem, " (problem: value < 1)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ch := &Check{ID: status.CheckID{Resource: "r", Check: "c"}, Timeout: time.Second, state: &checkState{}}
			if c.warning != "" {
				ch.warning = threshold.MustParse(c.warning)
			}
			if c.problem != "" {
				ch.problem = threshold.MustParse(c.problem)
			}
			ch.prober = probe.ProberFunc(func(context.Context) status.Result {
				return status.Result{Level: c.probeLevel, Success: c.success, Value: c.value, Message: "measured"}
			})
			res := ch.execute(context.Background(), time.Now, discard)
			if res.Level != c.want || res.Message != "measured"+c.suffix {
				t.Errorf("level %s message %q, want %s %q", res.Level, res.Message, c.want, "measured"+c.suffix)
			}
		})
	}
}

func TestExecuteTimesAndSurvivesPanics(t *testing.T) {
	clock := clockwork.NewFakeClockAt(t0)
	ch := &Check{ID: status.CheckID{Resource: "r", Check: "c"}, Timeout: time.Second, state: &checkState{}}
	ch.prober = probe.ProberFunc(func(ctx context.Context) status.Result {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("probe runs without a deadline")
		}
		clock.Advance(250 * time.Millisecond)
		panic("peer sent nonsense")
	})
	res := ch.execute(context.Background(), clock.Now, discard)
	if res.Level != status.Problem || res.Success || !strings.Contains(res.Message, "internal error: peer sent nonsense") {
		t.Errorf("panic result = %+v", res)
	}
	if !res.CheckedAt.Equal(t0) || res.Duration != 250*time.Millisecond {
		t.Errorf("timing: at %s took %s", res.CheckedAt, res.Duration)
	}
}

// blockingCheck is a check whose runs wait for release, counting calls.
func blockingCheck(name string, calls *atomic.Int32, release <-chan struct{}) *Check {
	ch := &Check{ID: status.CheckID{Resource: "r", Check: name}, Timeout: 5 * time.Second, state: &checkState{}}
	ch.prober = probe.ProberFunc(func(ctx context.Context) status.Result {
		calls.Add(1)
		select {
		case <-release:
			return status.Result{Level: status.Fine, Success: true, Message: "up"}
		case <-ctx.Done():
			return status.Result{Level: status.Problem, Message: "cut short: " + ctx.Err().Error()}
		}
	})
	return ch
}

func TestFreshCoalesces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		release := make(chan struct{})
		ch := blockingCheck("c", &calls, release)
		rec := &recorder{}
		e := New(Options{Logger: discard, Observers: []Observer{rec}, Heartbeats: rec})
		results := make(chan status.Result, 3)
		for range 3 {
			go func() { results <- e.Fresh(context.Background(), []*Check{ch})[0] }()
		}
		synctest.Wait()
		close(release)
		for range 3 {
			if r := <-results; !r.Success {
				t.Errorf("result = %+v", r)
			}
		}
		if n := calls.Load(); n != 1 {
			t.Errorf("probe ran %d times for 3 concurrent requests", n)
		}
		if len(rec.results) != 1 || ch.state.runs.Load() != 1 {
			t.Errorf("recorded %d results, counted %d runs; want 1", len(rec.results), ch.state.runs.Load())
		}
	})
}

func TestFreshFloor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		release := make(chan struct{})
		close(release)
		ch := blockingCheck("c", &calls, release)
		e := New(Options{Logger: discard})
		e.Fresh(context.Background(), []*Check{ch})
		time.Sleep(DefaultFreshFloor - time.Millisecond)
		e.Fresh(context.Background(), []*Check{ch})
		if n := calls.Load(); n != 1 {
			t.Errorf("a result younger than the floor was probed again: %d runs", n)
		}
		time.Sleep(time.Millisecond)
		e.Fresh(context.Background(), []*Check{ch})
		if n := calls.Load(); n != 2 {
			t.Errorf("a result as old as the floor was served as fresh: %d runs", n)
		}
	})
}

// A client that goes away stops waiting; the run goes on and counts.
func TestFreshIsDetachedFromTheRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		release := make(chan struct{})
		ch := blockingCheck("c", &calls, release)
		rec := &recorder{}
		e := New(Options{Logger: discard, Observers: []Observer{rec}, Heartbeats: rec})
		ctx, cancel := context.WithCancel(context.Background())
		got := make(chan status.Result)
		go func() { got <- e.Fresh(ctx, []*Check{ch})[0] }()
		synctest.Wait()
		cancel()
		if r := <-got; r.Message != "not checked yet" {
			t.Errorf("a gone client got %+v, want the current result", r)
		}
		close(release)
		synctest.Wait()
		r, ok := ch.Latest()
		if !ok || !r.Success || ch.state.failures.Load() != 0 || ch.state.runs.Load() != 1 || len(rec.results) != 1 {
			t.Errorf("after the client left: latest %+v, %d runs, %d failures, %d recorded; want one good run",
				r, ch.state.runs.Load(), ch.state.failures.Load(), len(rec.results))
		}
	})
}

func TestFreshRunsUnderTheConcurrencyBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		release := make(chan struct{})
		e := New(Options{Logger: discard})
		e.sched.setConcurrency(2)
		var checks []*Check
		for _, n := range []string{"a", "b", "c", "d", "e"} {
			checks = append(checks, blockingCheck(n, &calls, release))
		}
		done := make(chan []status.Result)
		go func() { done <- e.Fresh(context.Background(), checks) }()
		synctest.Wait()
		if n := calls.Load(); n != 2 {
			t.Errorf("%d fresh runs at once with max_concurrency 2", n)
		}
		close(release)
		for i, r := range <-done {
			if !r.Success {
				t.Errorf("%s: %+v", checks[i].ID, r)
			}
		}
	})
}

// A run that statusd's own shutdown cuts short is no result: it is not
// kept, counted or recorded.
func TestShutdownDropsRunsItCancels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		release := make(chan struct{}) // never closed
		rec := &recorder{}
		e := New(Options{Logger: discard, Observers: []Observer{rec}, Heartbeats: rec})
		if err := e.Apply(parseConfig(t, "resources:\n  r:\n    - {name: a, kind: ping}\n    - {name: b, kind: ping}\n")); err != nil {
			t.Fatal(err)
		}
		scheduled, _ := e.Check(status.CheckID{Resource: "r", Check: "a"})
		fresh, _ := e.Check(status.CheckID{Resource: "r", Check: "b"})
		scheduled.prober = blockingCheck("a", &calls, release).prober
		fresh.prober = blockingCheck("b", &calls, release).prober
		// b's scheduled run is in flight when asked for: make it a
		// fresh one by asking before the scheduler starts.
		go e.Fresh(context.Background(), []*Check{fresh})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			e.Run(ctx)
			close(done)
		}()
		synctest.Wait()
		if n := calls.Load(); n != 2 {
			t.Fatalf("%d runs in progress, want 2", n)
		}
		cancel()
		<-done
		for _, c := range []*Check{scheduled, fresh} {
			if _, ok := c.Latest(); ok || c.state.runs.Load() != 0 || c.state.failures.Load() != 0 {
				t.Errorf("%s: a run cut short by shutdown counted", c.ID)
			}
		}
		if len(rec.results) != 0 {
			t.Errorf("recorded %v", rec.results)
		}
		// After shutdown, a fresh request gets the current result at once.
		if r := e.Fresh(context.Background(), []*Check{fresh})[0]; r.Message != "not checked yet" {
			t.Errorf("fresh after shutdown: %+v", r)
		}
	})
}

const twoChecks = `
resources:
  health:
    - {name: ping, kind: ping}
    - {name: backup, kind: heartbeat, warning_after: 1h, problem_after: 2h, token: s3cret}
  stats:
    - {name: code, kind: build}
`

// checkMetrics parses what WriteMetrics writes, as Prometheus would.
func checkMetrics(t *testing.T, e *Exporter) prometheus.Gatherer {
	t.Helper()
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		var buf bytes.Buffer
		w := exposition.NewWriter(&buf)
		e.WriteMetrics(w)
		if err := w.Flush(); err != nil {
			return nil, err
		}
		parser := expfmt.NewTextParser(model.LegacyValidation)
		fams, err := parser.TextToMetricFamilies(&buf)
		if err != nil {
			return nil, fmt.Errorf("WriteMetrics wrote invalid text: %w\n%s", err, buf.String())
		}
		var out []*dto.MetricFamily
		for _, f := range fams {
			sort.Slice(f.Metric, func(i, j int) bool { return f.Metric[i].String() < f.Metric[j].String() })
			out = append(out, f)
		}
		sort.Slice(out, func(i, j int) bool { return out[i].GetName() < out[j].GetName() })
		return out, nil
	})
}

func TestApplyAndWriteMetrics(t *testing.T) {
	clock := clockwork.NewFakeClockAt(t0)
	e := New(Options{Logger: discard, Clock: clock})
	reg := checkMetrics(t, e)
	if err := e.Apply(parseConfig(t, twoChecks)); err != nil {
		t.Fatal(err)
	}
	all, _ := e.Select("")
	e.Fresh(context.Background(), []*Check{all[0].Checks[0], all[1].Checks[0]})
	clock.Advance(90 * time.Minute)
	if _, err := e.ReportHeartbeat(context.Background(), status.CheckID{Resource: "health", Check: "backup"}, "s3cret", store.Heartbeat{ReceivedAt: t0}); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP statusd_check_failures_total Runs of the check that did not succeed since statusd started.
# TYPE statusd_check_failures_total counter
statusd_check_failures_total{check="backup",resource="health"} 0
statusd_check_failures_total{check="code",resource="stats"} 0
statusd_check_failures_total{check="ping",resource="health"} 0
# HELP statusd_check_level Level of the last run: 0 fine, 1 warning, 2 problem.
# TYPE statusd_check_level gauge
statusd_check_level{check="backup",resource="health"} 1
statusd_check_level{check="code",resource="stats"} 0
statusd_check_level{check="ping",resource="health"} 0
# HELP statusd_check_runs_total Runs of the check since statusd started.
# TYPE statusd_check_runs_total counter
statusd_check_runs_total{check="backup",resource="health"} 1
statusd_check_runs_total{check="code",resource="stats"} 1
statusd_check_runs_total{check="ping",resource="health"} 1
# HELP statusd_check_success Whether the last run of the check succeeded (1) or not (0).
# TYPE statusd_check_success gauge
statusd_check_success{check="backup",resource="health"} 1
statusd_check_success{check="code",resource="stats"} 1
statusd_check_success{check="ping",resource="health"} 1
# HELP statusd_check_value Value the last run measured, in base units (seconds, bytes, rows…).
# TYPE statusd_check_value gauge
statusd_check_value{check="backup",resource="health"} 5400
`
	names := []string{"statusd_check_failures_total", "statusd_check_level", "statusd_check_runs_total", "statusd_check_success", "statusd_check_value"}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(reg, "statusd_check_last_run_timestamp_seconds", "statusd_check_duration_seconds"); err != nil || n != 6 {
		t.Errorf("timestamp and duration series: %d (%v), want 6", n, err)
	}
	ts, _ := reg.Gather()
	for _, mf := range ts {
		// The first series is backup's, which ran when the heartbeat came in.
		if want := float64(t0.Add(90 * time.Minute).Unix()); mf.GetName() == "statusd_check_last_run_timestamp_seconds" && mf.Metric[0].Gauge.GetValue() != want {
			t.Errorf("last run timestamp = %v, want %v", mf.Metric[0].Gauge.GetValue(), want)
		}
	}

	// A reload keeps the state of checks that stay and drops the others.
	if err := e.Apply(parseConfig(t, "resources:\n  health:\n    - {name: ping, kind: ping}\n")); err != nil {
		t.Fatal(err)
	}
	if n, _ := testutil.GatherAndCount(reg, "statusd_check_runs_total"); n != 1 {
		t.Errorf("after reload %d checks in metrics, want 1", n)
	}
	if c, _ := e.Check(status.CheckID{Resource: "health", Check: "ping"}); c.state.runs.Load() != 1 {
		t.Error("reload lost the ping check's counters")
	}
}

// A check carries what the page asks of its config, which is not kept
// once applied: its description, and whether its runs time a response.
func TestCheckCarriesItsConfig(t *testing.T) {
	e := New(Options{Logger: discard, Clock: clockwork.NewFakeClockAt(t0)})
	cfg := parseConfig(t, "resources:\n  health:\n    - {name: web, kind: http, url: 'http://127.0.0.1:1/', description: The front page}\n    - {name: db, kind: tcp, address: '127.0.0.1:1'}\n")
	if err := e.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, description string
		timed             bool
	}{{"web", "The front page", true}, {"db", "", false}} {
		c, ok := e.Check(status.CheckID{Resource: "health", Check: tc.name})
		if !ok {
			t.Fatalf("%s: not applied", tc.name)
		}
		if c.Description != tc.description || c.ResponseTimed() != tc.timed {
			t.Errorf("%s: description %q, response timed %v; want %q, %v", tc.name, c.Description, c.ResponseTimed(), tc.description, tc.timed)
		}
	}
}

func TestApplyFailureChangesNothing(t *testing.T) {
	e := New(Options{Logger: discard})
	if err := e.Apply(parseConfig(t, twoChecks)); err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad, err := config.Parse([]byte("resources:\n  health:\n    - {name: api, kind: http, url: 'https://x/', ca_file: "+ca+"}\n"), "", config.OSEnv())
	if err == nil {
		err = e.Apply(bad)
	}
	if err == nil {
		t.Fatal("a broken CA file was accepted")
	}
	if _, ok := e.Check(status.CheckID{Resource: "health", Check: "backup"}); !ok {
		t.Error("a failed apply removed the running checks")
	}
}

func TestReportHeartbeat(t *testing.T) {
	clock := clockwork.NewFakeClockAt(t0)
	rec := &recorder{}
	e := New(Options{Logger: discard, Clock: clock, Observers: []Observer{rec}, Heartbeats: rec})
	if err := e.Apply(parseConfig(t, twoChecks)); err != nil {
		t.Fatal(err)
	}
	backup := status.CheckID{Resource: "health", Check: "backup"}
	ctx := context.Background()
	cases := []struct {
		id    status.CheckID
		token string
		err   error
	}{
		{status.CheckID{Resource: "health", Check: "nope"}, "", status.ErrNotFound},
		{status.CheckID{Resource: "health", Check: "ping"}, "", status.ErrNotHeartbeat},
		{backup, "", status.ErrUnauthorized},
		{backup, "s3cre", status.ErrUnauthorized},
	}
	for _, c := range cases {
		if _, err := e.ReportHeartbeat(ctx, c.id, c.token, store.Heartbeat{}); !errors.Is(err, c.err) {
			t.Errorf("%s with %q: err = %v, want %v", c.id, c.token, err, c.err)
		}
	}
	res, err := e.ReportHeartbeat(ctx, backup, "s3cret", store.Heartbeat{Source: "cron"})
	if err != nil || res.Level != status.Fine || *res.Value != 0 {
		t.Fatalf("report: %+v, %v", res, err)
	}
	if hb, _ := e.LastHeartbeat(backup); !hb.ReceivedAt.Equal(t0) || hb.Source != "cron" {
		t.Errorf("last heartbeat = %+v", hb)
	}
	res, _ = e.ReportHeartbeat(ctx, backup, "s3cret", store.Heartbeat{Failed: true})
	if res.Level != status.Problem {
		t.Errorf("failed run reported as %s", res.Level)
	}
	if len(rec.heartbeats) != 2 || len(rec.results) != 2 {
		t.Errorf("recorded %d heartbeats and %d results, want 2 and 2", len(rec.heartbeats), len(rec.results))
	}
}

func TestSelectAndReport(t *testing.T) {
	e := New(Options{Logger: discard})
	if err := e.Apply(parseConfig(t, twoChecks)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Select("nope"); !errors.Is(err, status.ErrNotFound) || err.Error() != "resource nope not found" {
		t.Errorf("unknown resource: %v", err)
	}
	if _, err := e.Select("health", "ping", "nope"); !errors.Is(err, status.ErrNotFound) || err.Error() != "check health/nope not found" {
		t.Errorf("unknown check: %v", err)
	}
	sel, _ := e.Select("health", "ping")
	report := e.Results(context.Background(), sel, false)
	if len(report) != 1 || report[0].Checks[0].Result.Message != "not checked yet" || report.Worst() != status.Problem {
		t.Errorf("before any run: %+v", report)
	}
	report = e.Results(context.Background(), sel, true)
	if report.Worst() != status.Fine || report[0].Checks[0].Result.Details.(map[string]any)["pong"] != true {
		t.Errorf("fresh: %+v", report)
	}
	all, _ := e.Select("")
	b, _ := e.Results(context.Background(), all, false).MarshalJSON()
	if !strings.HasPrefix(string(b), `{"health":{"ping":{"level":"fine"`) || !strings.Contains(string(b), `"backup":{"level":"problem"`) || !strings.Contains(string(b), `},"stats":{"code":`) {
		t.Errorf("report JSON keeps config order: %s", b)
	}
}
