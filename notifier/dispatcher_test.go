package notifier_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/statusd/statusd/internal/message"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
	"github.com/statusd/statusd/internal/testsvc"
	"github.com/statusd/statusd/notifier"
	"github.com/statusd/statusd/notifier/notifytest"
	"github.com/statusd/statusd/notifier/slack"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func openStore(t testing.TB, dsn string) *store.Store {
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

// checkMessage is an instant (or resolved, at fine) message about a check.
func checkMessage(receiver, check string, level status.Level) message.Message {
	kind := message.Instant
	if level == status.Fine {
		kind = message.Resolved
	}
	return message.Message{
		Version: message.Version, Kind: kind, Receiver: receiver, Site: message.Site{Name: "ACME", URL: "https://status.acme.example"}, Time: t0,
		Checks: []message.Check{{ID: check, Level: level, Previous: status.Problem - level, Message: "HTTP 503 in 2ms", Since: t0,
			Link: "https://status.acme.example/checks#" + check}},
	}
}

// enqueue writes messages into the outbox, in order.
func enqueue(t testing.TB, st *store.Store, now time.Time, msgs ...message.Message) {
	t.Helper()
	err := st.Update(context.Background(), func(tx *store.Tx) error {
		for i, m := range msgs {
			b, err := json.Marshal(m)
			if err != nil {
				return err
			}
			topic := "digest"
			if len(m.Checks) > 0 {
				topic = "check:" + m.Checks[0].ID
			}
			if m.Service != nil {
				topic = "service:" + m.Service.Name
			}
			key := fmt.Sprintf("%s:%s:%d:%d", m.Kind, topic, now.UnixNano(), i)
			if _, err := tx.Enqueue(store.OutboxRow{Receiver: m.Receiver, Kind: string(m.Kind), DedupKey: key, Topic: topic, Payload: string(b)}, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// rig is a dispatcher on a fake clock with a Slack receiver "ops".
type rig struct {
	st    *store.Store
	clock *clockwork.FakeClock
	slack *notifytest.Slack
	d     *notifier.Dispatcher
	reg   *prometheus.Registry
	logs  *testsvc.Buffer
}

const secretPath = "Xy9secretWebhookPath"

func newRig(t *testing.T, dsn string, policy notifier.Policy) *rig {
	r := &rig{st: openStore(t, dsn), clock: clockwork.NewFakeClockAt(t0), slack: notifytest.NewSlack(t), reg: prometheus.NewRegistry(), logs: &testsvc.Buffer{}}
	r.d = notifier.New(notifier.Options{Store: r.st, Clock: r.clock, Registerer: r.reg, Logger: slog.New(slog.NewTextHandler(r.logs, nil))})
	r.d.SetReceivers([]notifier.Receiver{{Name: "ops", Integrations: []notifier.Integration{{Name: "slack", Notifier: slack.New(slack.Config{
		Receiver: "ops", WebhookURL: r.slack.WebhookURL(secretPath), Client: http.DefaultClient,
	})}}}}, policy)
	return r
}

func (r *rig) round(t *testing.T) int {
	t.Helper()
	n, err := r.d.Round(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (r *rig) states(t *testing.T) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, s := range []string{store.OutboxPending, store.OutboxSent, store.OutboxFailed} {
		rows, err := r.st.Outbox(context.Background(), s)
		if err != nil {
			t.Fatal(err)
		}
		out[s] = len(rows)
	}
	return out
}

// sum adds up the samples of a metric.
func sum(t *testing.T, g prometheus.Gatherer, name string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.Metric {
			total += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return total
}

var fast = notifier.Policy{RetryMin: time.Second, RetryMax: time.Minute, GiveUpAfter: time.Hour}

// Slack answers 500 twice, then recovers: the problem and the recovery
// that came while it was retried arrive once, in one message, which says
// the check is fine again (green, with when it was down), never a red
// "not fine" for a check that is fine; nothing is counted failed.
func TestRetriesUntilSlackRecovers(t *testing.T) {
	testsvc.EachDatabase(t, func(t *testing.T, dsn string) {
		r := newRig(t, dsn, fast)
		r.slack.Script(notifytest.Reply{Code: 500, Body: "oops"}, notifytest.Reply{Code: 502, Body: "bad gateway"})
		enqueue(t, r.st, t0, checkMessage("ops", "health/api", status.Problem))
		if n := r.round(t); n != 0 {
			t.Fatalf("delivered %d while Slack fails", n)
		}
		// The recovery comes while the problem waits: it must not pass it.
		enqueue(t, r.st, t0, checkMessage("ops", "health/api", status.Fine))
		if n := r.round(t); n != 0 {
			t.Fatalf("the recovery overtook the problem: %d delivered", n)
		}
		for range 2 {
			r.clock.Advance(2 * time.Minute)
			r.round(t)
		}
		posts := r.slack.Posts()
		delivered := r.slack.Delivered()
		if len(posts) != 3 || len(delivered) != 1 {
			t.Fatalf("%d posts, %d delivered: %+v", len(posts), len(delivered), posts)
		}
		text := fmt.Sprint(delivered[0].Attachments)
		if delivered[0].Text != ":large_green_circle: health/api is fine again" || !strings.Contains(text, "#2eb886") ||
			strings.Contains(text, "#a30200") || strings.Contains(text, ":red_circle:") || !strings.Contains(text, "down from 10:00:00 to 10:00:00 UTC") {
			t.Errorf("the delivered message does not say the check is fine again: %q %s", delivered[0].Text, text)
		}
		if s := r.states(t); s[store.OutboxSent] != 2 || s[store.OutboxPending] != 0 || s[store.OutboxFailed] != 0 {
			t.Errorf("outbox: %v", s)
		}
		if v := sum(t, r.reg, "statusd_notifications_failed_total"); v != 0 {
			t.Errorf("%v failures counted", v)
		}
		if v := sum(t, r.reg, "statusd_notifications_sent_total"); v != 2 {
			t.Errorf("%v sent counted, want 2", v)
		}
	})
}

// Slack's rate limit is honoured: nothing before its Retry-After.
func TestRateLimitIsHonoured(t *testing.T) {
	r := newRig(t, "sqlite:"+filepath.Join(t.TempDir(), "statusd.db"), fast)
	r.slack.Script(notifytest.Reply{Code: http.StatusTooManyRequests, Body: "rate_limited", RetryAfter: 30})
	enqueue(t, r.st, t0, checkMessage("ops", "health/api", status.Problem))
	r.round(t)
	r.clock.Advance(29 * time.Second)
	if n := r.round(t); n != 0 || len(r.slack.Posts()) != 1 {
		t.Fatalf("retried before Retry-After: %d delivered, %d posts", n, len(r.slack.Posts()))
	}
	r.clock.Advance(2 * time.Second)
	if n := r.round(t); n != 1 {
		t.Fatalf("not delivered after Retry-After: %d", n)
	}
}

// A rejected message (4xx) is not retried; a message that keeps failing
// is given up after give_up_after; neither error shows the webhook's
// secret, in the outbox or the log.
func TestRejectedAndGivenUp(t *testing.T) {
	r := newRig(t, "sqlite:"+filepath.Join(t.TempDir(), "statusd.db"), fast)
	r.slack.Script(notifytest.Reply{Code: http.StatusNotFound, Body: "no_service"})
	enqueue(t, r.st, t0, checkMessage("ops", "health/api", status.Problem))
	r.round(t)
	if s := r.states(t); s[store.OutboxFailed] != 1 {
		t.Fatalf("a 404 was not given up at once: %v", s)
	}
	r.slack.Script(notifytest.Reply{Code: 500}, notifytest.Reply{Code: 500}, notifytest.Reply{Code: 500}, notifytest.Reply{Code: 500},
		notifytest.Reply{Code: 500}, notifytest.Reply{Code: 500}, notifytest.Reply{Code: 500}, notifytest.Reply{Code: 500})
	enqueue(t, r.st, r.clock.Now(), checkMessage("ops", "health/db", status.Problem))
	for range 8 {
		r.round(t)
		r.clock.Advance(10 * time.Minute)
	}
	failed, _ := r.st.Outbox(context.Background(), store.OutboxFailed)
	if len(failed) != 2 {
		t.Fatalf("%d failed rows, want 2", len(failed))
	}
	if v := sum(t, r.reg, "statusd_notifications_failed_total"); v != 2 {
		t.Errorf("failed counted %v, want 2", v)
	}
	errs, err := lastErrors(r.st)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errs, "404") || !strings.Contains(errs, "gave up after 1h0m0s") {
		t.Errorf("last errors: %s", errs)
	}
	if strings.Contains(errs+r.logs.String(), secretPath) {
		t.Errorf("the webhook's secret shows:\n%s\n%s", errs, r.logs.String())
	}
}

func lastErrors(st *store.Store) (string, error) {
	rows, err := st.Outbox(context.Background(), store.OutboxFailed)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, r := range rows {
		b.WriteString(r.LastError + "\n")
	}
	return b.String(), nil
}

// Twenty checks failing together reach a receiver as one message.
func TestFloodIsOneMessage(t *testing.T) {
	r := newRig(t, "sqlite:"+filepath.Join(t.TempDir(), "statusd.db"), notifier.Policy{GroupWait: 10 * time.Second, RetryMin: time.Second, RetryMax: time.Minute, GiveUpAfter: time.Hour})
	for i := range 20 {
		enqueue(t, r.st, r.clock.Now(), checkMessage("ops", fmt.Sprintf("health/db%02d", i), status.Problem))
		r.clock.Advance(200 * time.Millisecond)
	}
	if n := r.round(t); n != 0 {
		t.Fatalf("sent before the group wait: %d", n)
	}
	r.clock.Advance(10 * time.Second)
	if n := r.round(t); n != 20 {
		t.Fatalf("delivered %d, want 20", n)
	}
	posts := r.slack.Delivered()
	if len(posts) != 1 || !strings.Contains(posts[0].Text, "20 checks are not fine") {
		t.Fatalf("%d messages: %+v", len(posts), posts)
	}
	if got := fmt.Sprint(posts[0].Attachments); !strings.Contains(got, "health/db00") || !strings.Contains(got, "health/db19") {
		t.Errorf("the message does not name every check: %s", got)
	}
}

// As a bot, a recovery is posted in the thread of the message that
// announced the problem; the token never shows.
func TestSlackBotThreads(t *testing.T) {
	st := openStore(t, "sqlite:"+filepath.Join(t.TempDir(), "statusd.db"))
	fake := notifytest.NewSlack(t)
	clock := clockwork.NewFakeClockAt(t0)
	logs := &testsvc.Buffer{}
	d := notifier.New(notifier.Options{Store: st, Clock: clock, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	const token = "xoxb-1234-s3cr3t"
	d.SetReceivers([]notifier.Receiver{{Name: "ops", Integrations: []notifier.Integration{{Name: "slack", Notifier: slack.New(slack.Config{
		Receiver: "ops", Token: token, Channel: "#ops", APIURL: fake.APIURL(), Client: http.DefaultClient, Threads: st,
	})}}}}, fast)
	ctx := context.Background()
	enqueue(t, st, t0, checkMessage("ops", "health/api", status.Problem))
	if n, err := d.Round(ctx, false); n != 1 || err != nil {
		t.Fatalf("problem: %d %v", n, err)
	}
	clock.Advance(time.Minute)
	enqueue(t, st, clock.Now(), checkMessage("ops", "health/api", status.Fine))
	if n, err := d.Round(ctx, false); n != 1 || err != nil {
		t.Fatalf("recovery: %d %v", n, err)
	}
	posts := fake.Delivered()
	if len(posts) != 2 || posts[0].Path != "/api/chat.postMessage" || posts[0].Token != token || posts[0].Channel != "#ops" ||
		posts[0].Thread != "" || posts[1].Thread != posts[0].TS {
		t.Fatalf("posts: %+v", posts)
	}
	if !strings.Contains(posts[1].Text, "health/api is fine again") {
		t.Errorf("recovery text: %q", posts[1].Text)
	}
	// A bad token is refused for good, and its error does not show it.
	fake.Script(notifytest.Reply{Code: http.StatusOK, Body: `{"ok":false,"error":"invalid_auth"}`})
	enqueue(t, st, clock.Now(), checkMessage("ops", "health/db", status.Problem))
	if _, err := d.Round(ctx, false); err != nil {
		t.Fatal(err)
	}
	errs, _ := lastErrors(st)
	if !strings.Contains(errs, "invalid_auth") || strings.Contains(errs+logs.String(), "s3cr3t") {
		t.Errorf("last error %q, log:\n%s", errs, logs.String())
	}
}

// An outbox longer than a round drains round after round, without waiting
// for the poll interval; the gauges tell how much waits and for how long.
func TestDrainsALongOutbox(t *testing.T) {
	r := newRig(t, "sqlite:"+filepath.Join(t.TempDir(), "statusd.db"), fast)
	var msgs []message.Message
	for i := range 450 {
		msgs = append(msgs, checkMessage("ops", fmt.Sprintf("load/c%03d", i), status.Problem))
	}
	enqueue(t, r.st, t0, msgs...)
	r.slack.Script(notifytest.Reply{Code: 500, Body: "oops"})
	if n := r.round(t); n != 0 {
		t.Fatalf("delivered %d while Slack fails", n)
	}
	r.clock.Advance(45 * time.Second)
	if p, age := sum(t, r.reg, "statusd_notifications_pending"), sum(t, r.reg, "statusd_notifications_oldest_pending_age_seconds"); p != 450 || age != 45 {
		t.Errorf("pending %v, oldest age %vs; want 450 and 45s", p, age)
	}

	// The fake clock stands still: no poll tick comes, only the rounds
	// that follow a full one.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.d.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	// (The gauges are set after the round's deliveries are counted.)
	for sum(t, r.reg, "statusd_notifications_sent_total") < 450 || sum(t, r.reg, "statusd_notifications_pending") != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%v of 450 delivered; %d posts", sum(t, r.reg, "statusd_notifications_sent_total"), len(r.slack.Delivered()))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := len(r.slack.Delivered()); n != 3 {
		t.Errorf("%d messages to Slack, want 3 (200, 200 and 50 checks)", n)
	}
	if age := sum(t, r.reg, "statusd_notifications_oldest_pending_age_seconds"); age != 0 {
		t.Errorf("after the drain: oldest age %vs", age)
	}
}
