package evaluator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/statusd/statusd/internal/content"
	"github.com/statusd/statusd/internal/message"
	"github.com/statusd/statusd/internal/store"
	"github.com/statusd/statusd/internal/testsvc"
)

// TestSubscribersAreTold: a request appends its confirmation link (and
// nothing for an address subscribed already); confirmed subscribers are
// told of an incident's opening, each update and its resolution, of
// automatic incidents, and of maintenance scheduled, started and finished
// — each once, only about the services they chose, never of statusd's
// notes, and nothing after they leave.
func TestSubscribersAreTold(t *testing.T) {
	testsvc.EachDatabase(t, func(t *testing.T, dsn string) {
		st := openStore(t, dsn)
		tg := newTarget(t)
		clock := clockwork.NewFakeClockAt(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
		cfgText := fmt.Sprintf(outageConfig, tg.URL) + "smtp: {host: 127.0.0.1, from: status@acme.example}\n"
		r := newRig(t, st, clock, cfgText)
		ctx := context.Background()
		who := store.Actor{Name: "ada", Via: store.ViaAdmin}
		r.interval()

		confirmed := func(addr string, services ...string) store.Subscriber {
			t.Helper()
			if err := r.eval.Subscribe(ctx, content.Subscribe{Kind: store.SubscribeEmail, Address: addr, Language: "it", Services: services}); err != nil {
				t.Fatal(err)
			}
			var token string
			for _, row := range pendingRows(t, st) {
				var m message.Message
				if row.Kind == "confirm" && json.Unmarshal([]byte(row.Payload), &m) == nil && m.Confirmation.Address == addr {
					token = m.Confirmation.Token
				}
			}
			sub, err := r.eval.Confirm(ctx, token)
			if err != nil {
				t.Fatalf("confirm %s: %v", addr, err)
			}
			return sub
		}
		all := confirmed("all@example.com")
		status := confirmed("status@example.com", "Status")
		// Subscribed already: no second link.
		before := len(outbox(t, st))
		if err := r.eval.Subscribe(ctx, content.Subscribe{Kind: store.SubscribeEmail, Address: "all@EXAMPLE.com", Language: "en"}); err != nil {
			t.Fatal(err)
		}
		if after := len(outbox(t, st)); after != before {
			t.Errorf("a subscribed address got another link (%d rows, were %d)", after, before)
		}
		if err := r.eval.Subscribe(ctx, content.Subscribe{Kind: store.SubscribeWebhook, Address: "https://x.example/h", Language: "en"}); err != nil {
			t.Errorf("webhook subscription: %v", err)
		}
		var fe content.FieldErrors
		if err := r.eval.Subscribe(ctx, content.Subscribe{Kind: store.SubscribeEmail, Address: "not an address", Language: "en"}); !errors.As(err, &fe) {
			t.Errorf("a bad address: %v", err)
		}

		news := func(sub store.Subscriber) []string {
			t.Helper()
			var out []string
			for _, row := range pendingRows(t, st) {
				if row.Receiver != sub.Receiver() || row.Kind == "confirm" {
					continue
				}
				var m message.Message
				if err := json.Unmarshal([]byte(row.Payload), &m); err != nil || m.News == nil {
					t.Fatalf("row %s: %v", row.Payload, err)
				}
				out = append(out, row.Kind+" "+m.News.What+" "+m.News.Title)
			}
			return out
		}
		inc, err := r.eval.OpenIncident(ctx, who, content.NewIncident{Title: "Checkout is slow", Services: []content.ServiceImpact{{Name: "API"}}})
		if err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Minute)
		if _, err := r.eval.UpdateIncident(ctx, who, inc.ID, content.IncidentUpdate{State: store.Monitoring, Message: "A fix is out"}); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Minute)
		if _, err := r.eval.UpdateIncident(ctx, who, inc.ID, content.IncidentUpdate{State: store.Resolved, Message: "Fixed"}); err != nil {
			t.Fatal(err)
		}
		// Maintenance of Status: scheduled now, started and finished as
		// the clock passes them.
		start := clock.Now().Add(10 * time.Minute)
		end := start.Add(20 * time.Minute)
		if _, err := r.eval.AddMaintenance(ctx, who, content.Maintenance{Title: "Database upgrade", Start: start, End: &end, Services: []string{"Status"}}); err != nil {
			t.Fatal(err)
		}
		for range 80 {
			r.interval() // 40 minutes, refreshed each time
			r.eval.Refresh(ctx)
		}
		want := []string{"incident opened Checkout is slow", "incident updated Checkout is slow", "incident resolved Checkout is slow",
			"maintenance scheduled Database upgrade", "maintenance started Database upgrade", "maintenance finished Database upgrade"}
		if got := news(all); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("the subscriber of all services was told\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if got := news(status); strings.Join(got, "|") != strings.Join(want[3:], "|") {
			t.Errorf("the subscriber of Status was told %q, want its maintenance only", got)
		}
		// An automatic incident (the API's check fails) is news too; the
		// one who left hears nothing.
		if _, err := r.eval.Unsubscribe(ctx, status.Token); err != nil {
			t.Fatal(err)
		}
		tg.up.Store(false)
		r.interval()
		r.interval()
		r.interval()
		got := news(all)
		if len(got) != 7 || !strings.HasPrefix(got[6], "incident opened API") {
			t.Errorf("after the API failed: %q", got)
		}
		if got := news(status); len(got) != 3 {
			t.Errorf("an unsubscribed address got %q", got)
		}
	})
}

// pendingRows are the outbox's pending rows, in order.
func pendingRows(t *testing.T, st *store.Store) []store.OutboxRow {
	t.Helper()
	rows, err := st.Outbox(context.Background(), store.OutboxPending)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}
