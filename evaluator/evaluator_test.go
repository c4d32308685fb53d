package evaluator

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/statusd/statusd/exporter"
	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/message"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
	"github.com/statusd/statusd/internal/testsvc"
)

func openStore(t *testing.T, dsn string) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// target is an HTTP server a test takes down and brings back.
type target struct {
	*httptest.Server
	up atomic.Bool
}

func newTarget(t *testing.T) *target {
	tg := &target{}
	tg.up.Store(true)
	tg.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !tg.up.Load() {
			http.Error(w, "down for maintenance of the database", http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(tg.Close)
	return tg
}

const outageConfig = `
site: {name: ACME, url: "https://status.acme.example"}
defaults: {interval: 30s, timeout: 5s, failure_threshold: 2, success_threshold: 1}
resources:
  health:
    - name: api
      kind: http
      url: "%s"
      notify: {receivers: [ops, alice], mode: instant, repeat: 6h}
    - {name: ping, kind: ping}
groups:
  - {name: Website, priority: 10}
services:
  - {name: API, group: Website, checks: [health/api, health/ping], auto_incident: true, notify: {receivers: [ops]}}
  - {name: Status, checks: [health/ping]}
receivers:
  ops: {webhook: {url: "https://hooks.example/ops"}}
  alice: {webhook: {url: "https://hooks.example/alice"}}
`

// rig is an evaluator fed by a real exporter whose checks run when the
// test says, on a fake clock.
type rig struct {
	t        *testing.T
	st       *store.Store
	clock    *clockwork.FakeClock
	cfg      *config.Config
	exporter *exporter.Exporter
	eval     *Evaluator
	checks   []*exporter.Check
}

func newRig(t *testing.T, st *store.Store, clock *clockwork.FakeClock, cfgText string) *rig {
	t.Helper()
	return newRigWith(t, st, clock, cfgText, Options{})
}

// newRigWith is a rig whose evaluator has options of the test's (its
// store and clock are the rig's).
func newRigWith(t *testing.T, st *store.Store, clock *clockwork.FakeClock, cfgText string, opts Options) *rig {
	t.Helper()
	cfg, err := config.Parse([]byte(cfgText), "", config.OSEnv())
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, st: st, clock: clock, cfg: cfg}
	opts.Store, opts.Clock = st, clock
	r.eval = New(opts)
	r.eval.Apply(cfg)
	if err := r.eval.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.exporter = exporter.New(exporter.Options{Clock: clock, Observers: []exporter.Observer{r.eval}})
	if err := r.exporter.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	all, _ := r.exporter.Select("")
	for _, res := range all {
		r.checks = append(r.checks, res.Checks...)
	}
	return r
}

// interval runs every check once, a check interval after the last run,
// and evaluates the results.
func (r *rig) interval() {
	r.t.Helper()
	r.clock.Advance(30 * time.Second)
	r.exporter.Fresh(context.Background(), r.checks)
	r.eval.drain(context.Background())
}

// outbox reads the outbox rows of every state, as "receiver kind key".
func outbox(t *testing.T, st *store.Store) []string {
	t.Helper()
	var out []string
	for _, state := range []string{store.OutboxPending, store.OutboxSuppressed, store.OutboxSent} {
		rows, err := st.Outbox(context.Background(), state)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			out = append(out, fmt.Sprintf("%s %s %s %s", r.State, r.Receiver, r.Kind, r.DedupKey))
		}
	}
	slices.Sort(out)
	return out
}

func TestOutage(t *testing.T) {
	testsvc.EachDatabase(t, func(t *testing.T, dsn string) {
		st := openStore(t, dsn)
		tg := newTarget(t)
		clock := clockwork.NewFakeClockAt(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
		cfgText := fmt.Sprintf(outageConfig, tg.URL)
		r := newRig(t, st, clock, cfgText)
		ctx := context.Background()

		r.interval()
		if got := outbox(t, st); len(got) != 0 {
			t.Fatalf("all fine, yet %v", got)
		}
		tg.up.Store(false)
		r.interval() // the first failure is not enough (failure_threshold 2)
		if got := outbox(t, st); len(got) != 0 {
			t.Fatalf("after one failure: %v", got)
		}
		r.interval() // the second raises the level: told, service in outage, incident
		want := []string{
			"pending alice instant check:health/api:instant/1/1",
			"pending ops instant check:health/api:instant/1/1",
			"pending ops status_change service:API:1",
		}
		if got := outbox(t, st); !slices.Equal(got, want) {
			t.Fatalf("outbox after the outage began:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		// The status change is delivered (the notifier's job).
		markSent(t, st, "status_change")

		// statusd restarts in the middle of the outage: nothing is
		// told again.
		r = newRig(t, st, clock, cfgText)
		r.interval()
		if got := outbox(t, st); len(got) != 3 {
			t.Fatalf("after a restart during the outage: %v", got)
		}
		tg.up.Store(true)
		r.interval()
		want = []string{
			"pending alice instant check:health/api:instant/1/1",
			"pending alice resolved check:health/api:resolved/1",
			"pending ops instant check:health/api:instant/1/1",
			"pending ops resolved check:health/api:resolved/1",
			"pending ops status_change service:API:2",
			"sent ops status_change service:API:1",
		}
		if got := outbox(t, st); !slices.Equal(got, want) {
			t.Fatalf("outbox after recovery:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}

		// The messages say what happened.
		rows, _ := st.Outbox(ctx, store.OutboxPending)
		var instant, resolved, change message.Message
		for _, row := range rows {
			var m message.Message
			if err := json.Unmarshal([]byte(row.Payload), &m); err != nil {
				t.Fatal(err)
			}
			switch {
			case row.Receiver == "ops" && row.Kind == "instant":
				instant = m
			case row.Receiver == "ops" && row.Kind == "resolved":
				resolved = m
			case row.Kind == "status_change":
				change = m
			}
		}
		if c := instant.Checks; instant.Version != 1 || instant.Site.Name != "ACME" || len(c) != 1 || c[0].ID != "health/api" ||
			c[0].Level != status.Problem || c[0].Previous != status.Fine || !strings.Contains(c[0].Message, "HTTP 503") ||
			c[0].Link != "https://status.acme.example/checks#health/api" {
			t.Errorf("instant message: %+v", instant)
		}
		if c := resolved.Checks; len(c) != 1 || c[0].Level != status.Fine || c[0].Previous != status.Problem {
			t.Errorf("resolved message: %+v", resolved)
		}
		if s := change.Service; s == nil || s.Name != "API" || s.From != status.PartialOutage || s.To != status.Operational || s.Cause != "checks" {
			t.Errorf("status change message: %+v", change)
		}

		// One change to partial outage and back.
		history, err := st.ServiceHistory(ctx, "API", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(history) != 2 || history[1].New != int(status.PartialOutage) || history[0].New != int(status.Operational) ||
			history[0].Cause != "checks" {
			t.Errorf("history: %+v", history)
		}
		// One automatic incident, opened and resolved.
		incs, _, err := st.Incidents(ctx, store.IncidentQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if len(incs) != 1 || !incs[0].Automatic || !incs[0].Closed || incs[0].Title != "API: partial outage" ||
			len(incs[0].Updates) != 2 || incs[0].Updates[0].State != store.Resolved || incs[0].Updates[1].State != store.Investigating ||
			!strings.Contains(incs[0].Updates[1].Message, "health/api is at problem: HTTP 503") || len(incs[0].Services) != 1 {
			t.Errorf("incidents: %+v", incs)
		}
		if svc, _ := st.Services(ctx); len(svc) != 2 || svc[0].Name != "API" || svc[0].Status != 0 || svc[0].Group.String != "Website" {
			t.Errorf("services: %+v", svc)
		}
	})
}

// markSent marks the pending rows of a kind as sent, as the notifier would.
func markSent(t *testing.T, st *store.Store, kind string) {
	t.Helper()
	rows, err := st.Outbox(context.Background(), store.OutboxPending)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Update(context.Background(), func(tx *store.Tx) error {
		for _, r := range rows {
			if r.Kind == kind {
				if err := tx.MarkSent(r.ID, time.Now()); err != nil {
					return err
				}
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// The evaluator appends each change of a service to the outbox, an
// undone one too, and never edits a row it wrote: collapsing A→B→A is the
// notifier's (notifier's TestCompose).
func TestStatusChangesAppended(t *testing.T) {
	st := openStore(t, "sqlite:"+filepath.Join(t.TempDir(), "statusd.db"))
	tg := newTarget(t)
	clock := clockwork.NewFakeClockAt(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	r := newRig(t, st, clock, fmt.Sprintf(outageConfig, tg.URL))
	r.interval()
	tg.up.Store(false)
	r.interval()
	r.interval()
	tg.up.Store(true)
	r.interval()
	var changes []string
	for _, row := range outbox(t, st) {
		if strings.Contains(row, "status_change") {
			changes = append(changes, row)
		}
	}
	if want := []string{"pending ops status_change service:API:1", "pending ops status_change service:API:2"}; !slices.Equal(changes, want) {
		t.Errorf("status changes in the outbox: %q, want %q", changes, want)
	}
	if h, _ := st.ServiceHistory(context.Background(), "API", 10); len(h) != 2 {
		t.Errorf("history: %+v", h)
	}
}

// A maintenance window mutes the checks of its services: the outage is
// recorded as suppressed, the service is flagged, and when the window
// ends with the check still bad it is notified then.
func TestMaintenanceMutes(t *testing.T) {
	st, tg, clock, r, end := maintenanceRig(t)
	ctx := context.Background()
	tg.up.Store(false)
	r.interval()
	r.interval()
	r.interval()
	want := []string{
		"suppressed alice instant check:health/api:instant/1/-1",
		"suppressed ops instant check:health/api:instant/1/-1",
		"suppressed ops status_change service:API:2",
	}
	if got := outbox(t, st); !slices.Equal(got, want) {
		t.Fatalf("during maintenance:\n%s", strings.Join(got, "\n"))
	}
	// The window ends with the check still bad: told now.
	clock.Advance(end.Sub(clock.Now()))
	r.eval.Refresh(ctx)
	r.interval()
	got := outbox(t, st)
	for _, w := range []string{"pending alice instant check:health/api:instant/1/1", "pending ops instant check:health/api:instant/1/1"} {
		if !slices.Contains(got, w) {
			t.Errorf("after the window: %s missing from\n%s", w, strings.Join(got, "\n"))
		}
	}
	// The service's outage, kept from ops during the window, is told
	// now: from what ops last heard, with what happened meanwhile.
	told := serviceChanges(t, st, "ops", store.OutboxPending)
	if len(told) != 1 {
		t.Fatalf("after the window, ops was told %d service changes, want 1", len(told))
	}
	if s := told[0]; s.From != status.Operational || s.To == status.Operational || s.Cause != store.CauseMaintenance ||
		len(s.Meanwhile) != 1 || s.Meanwhile[0].To != s.To || !strings.HasPrefix(s.During(), "During maintenance: operational → ") {
		t.Errorf("after the window: %+v (%q)", s, s.During())
	}
	history, _ := st.ServiceHistory(ctx, "API", 10)
	var causes []string
	for _, h := range history {
		causes = append(causes, fmt.Sprintf("%s:%v", h.Cause, h.Maintenance))
	}
	// Newest first: the window ended, the checks failed, the window began.
	if !slices.Equal(causes, []string{"maintenance:false", "checks:true", "maintenance:true"}) {
		t.Errorf("history causes: %v", causes)
	}
}

// maintenanceRig is the outage rig with a three-minute maintenance
// window on the API service beginning after one healthy interval; it
// returns when the window ends.
func maintenanceRig(t *testing.T) (*store.Store, *target, *clockwork.FakeClock, *rig, time.Time) {
	t.Helper()
	st := openStore(t, "sqlite:"+filepath.Join(t.TempDir(), "statusd.db"))
	tg := newTarget(t)
	clock := clockwork.NewFakeClockAt(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	r := newRig(t, st, clock, fmt.Sprintf(outageConfig, tg.URL))
	ctx := context.Background()
	r.interval()
	start := clock.Now()
	end := start.Add(3 * time.Minute)
	err := st.Update(ctx, func(tx *store.Tx) error {
		api, err := tx.Service("API")
		if err != nil {
			return err
		}
		_, err = tx.AddMaintenance("Database upgrade", "", start, &end, []int64{api.ID}, start)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	r.eval.Refresh(ctx)
	return st, tg, clock, r, end
}

// Two replicas on one database, one of which cannot reach the API: the
// services follow the leader's view alone, however the two replicas'
// results interleave, and when the other replica takes the lead its view
// decides, once.
func TestOnlyTheLeaderDecidesServices(t *testing.T) {
	dsn := testsvc.Postgres(t)
	clock := clockwork.NewFakeClockAt(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	reachable, unreachable := newTarget(t), newTarget(t)
	unreachable.up.Store(false)
	var aLeads atomic.Bool
	aLeads.Store(true)
	a := newRigWith(t, openStore(t, dsn), clock, fmt.Sprintf(outageConfig, reachable.URL), Options{Leads: aLeads.Load})
	b := newRigWith(t, openStore(t, dsn), clock, fmt.Sprintf(outageConfig, unreachable.URL),
		Options{Leads: func() bool { return !aLeads.Load() }})
	ctx := context.Background()
	history := func() []store.StatusChange {
		t.Helper()
		h, err := a.st.ServiceHistory(ctx, "API", 10)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	// Both replicas run and refresh, in turn, a few times.
	rounds := func(n int) {
		for range n {
			a.eval.Refresh(ctx)
			b.eval.Refresh(ctx)
			a.interval()
			b.interval()
		}
	}
	rounds(4)
	if h := history(); len(h) != 0 {
		t.Fatalf("the leader sees the API fine, yet the service changed: %+v", h)
	}
	if got := outbox(t, a.st); len(got) != 0 {
		t.Errorf("told while the leader sees the API fine:\n%s", strings.Join(got, "\n"))
	}
	incidents := func() int {
		t.Helper()
		_, n, err := a.st.Incidents(ctx, store.IncidentQuery{})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := incidents(); n != 0 {
		t.Errorf("%d incidents opened while the leader sees the API fine", n)
	}

	// b takes the lead: its view decides, and is recorded once.
	aLeads.Store(false)
	rounds(3)
	h := history()
	if len(h) != 1 || h[0].Old != int(status.Operational) || h[0].New == int(status.Operational) || h[0].Cause != store.CauseChecks {
		t.Fatalf("after b took the lead: %+v, want one change to an outage", h)
	}
	if got := serviceChanges(t, a.st, "ops", store.OutboxPending); len(got) != 1 {
		t.Errorf("ops was told %d service changes, want 1", len(got))
	}
	if n := incidents(); n != 1 {
		t.Errorf("%d incidents, want 1", n)
	}
	kinds := func() map[string]int {
		n := map[string]int{}
		for _, row := range outbox(t, a.st) {
			n[strings.Fields(row)[2]]++
		}
		return n
	}
	if got := kinds(); got["instant"] != 2 || got["status_change"] != 1 || got["resolved"] != 0 {
		t.Errorf("after b took the lead, told %v: want alice and ops of the API, ops of the service", got)
	}

	// a leads again, and sees the API fine: it reads what b told, and
	// tells the recovery, once.
	aLeads.Store(true)
	rounds(3)
	if got := kinds(); got["instant"] != 2 || got["resolved"] != 2 || got["status_change"] != 2 {
		t.Errorf("after a took the lead back, told %v:\n%s", got, strings.Join(outbox(t, a.st), "\n"))
	}
	if h := history(); len(h) != 2 || h[0].New != int(status.Operational) {
		t.Errorf("history: %+v, want the outage and its end", h)
	}
}

// serviceChanges reads the service changes in a receiver's outbox rows
// of a state.
func serviceChanges(t *testing.T, st *store.Store, receiver, state string) []*message.ServiceChange {
	t.Helper()
	rows, err := st.Outbox(context.Background(), state)
	if err != nil {
		t.Fatal(err)
	}
	var out []*message.ServiceChange
	for _, row := range rows {
		var m message.Message
		if err := json.Unmarshal([]byte(row.Payload), &m); err != nil {
			t.Fatal(err)
		}
		if row.Receiver == receiver && m.Service != nil {
			out = append(out, m.Service)
		}
	}
	return out
}

// An outage that begins and ends within a maintenance window is not told
// when the window ends: the receivers were last told what is true now.
func TestMaintenanceEndsQuietly(t *testing.T) {
	st, tg, clock, r, end := maintenanceRig(t)
	ctx := context.Background()
	tg.up.Store(false)
	r.interval()
	r.interval()
	tg.up.Store(true)
	r.interval()
	if n := len(serviceChanges(t, st, "ops", store.OutboxSuppressed)); n != 2 {
		t.Fatalf("%d suppressed changes during the window, want 2 (the outage and its end)", n)
	}
	clock.Advance(end.Sub(clock.Now()))
	r.eval.Refresh(ctx)
	r.interval()
	if told := serviceChanges(t, st, "ops", store.OutboxPending); len(told) != 0 {
		t.Errorf("after a window whose outage ended within it, ops was told %+v", told[0])
	}
}

// BenchmarkEvaluate is one result in the steady state, from the exporter
// handing it over to the end of its evaluation.
func BenchmarkEvaluate(b *testing.B) {
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(b.TempDir(), "statusd.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	cfg, err := config.Parse([]byte(fmt.Sprintf(outageConfig, "http://127.0.0.1:1/")), "", config.OSEnv())
	if err != nil {
		b.Fatal(err)
	}
	e := New(Options{Store: st})
	e.Apply(cfg)
	if err := e.Load(context.Background()); err != nil {
		b.Fatal(err)
	}
	id := status.CheckID{Resource: "health", Check: "api"}
	res := status.Result{Level: status.Fine, Success: true, Message: "HTTP 200 in 2ms", CheckedAt: time.Now()}
	ctx := context.Background()
	e.Observe(id, res)
	e.drain(ctx)
	b.ReportAllocs()
	for b.Loop() {
		e.Observe(id, res)
		e.drain(ctx)
	}
}
