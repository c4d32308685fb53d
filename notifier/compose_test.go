package notifier

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/statusd/statusd/internal/message"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// row is an outbox row of a message, decided at t0+at.
func row(id int64, at time.Duration, m message.Message) store.Claimed {
	m.Version, m.Receiver, m.Time = message.Version, "ops", t0.Add(at)
	topic := string(m.Kind)
	switch {
	case m.Service != nil:
		topic = "service:" + m.Service.Name
	case len(m.Checks) > 0:
		topic = "check:" + m.Checks[0].ID
	}
	b, _ := json.Marshal(m)
	return store.Claimed{OutboxRow: store.OutboxRow{ID: id, Receiver: "ops", Kind: string(m.Kind), Topic: topic, Payload: string(b)}}
}

// check is what the evaluator writes for one check's decision at t0+at.
func check(id string, at time.Duration, level, previous status.Level) message.Message {
	kind := message.Instant
	if level == status.Fine {
		kind = message.Resolved
	}
	return message.Message{Kind: kind, Checks: []message.Check{{ID: id, Level: level, Previous: previous, Since: t0.Add(at), Message: "m"}}}
}

func change(name string, from, to status.ServiceStatus) message.Message {
	return message.Message{Kind: message.StatusChange, Service: &message.ServiceChange{Name: name, From: from, To: to, Cause: "checks"}}
}

// describe writes a batch as a line: its rows, kind, and what it says.
func describe(b batch) string {
	ids := make([]string, len(b.rows))
	for i, r := range b.rows {
		ids[i] = fmt.Sprint(r.ID)
	}
	out := strings.Join(ids, ",") + " " + string(b.msg.Kind)
	if b.silent {
		out += " silent"
	}
	if s := b.msg.Service; s != nil {
		out += fmt.Sprintf(" %s %s→%s", s.Name, s.From, s.To)
	}
	for _, c := range b.msg.Checks {
		out += fmt.Sprintf(" %s:%s←%s", c.ID, c.Level, c.Previous)
		if c.DownSince != nil {
			out += " down@" + c.DownSince.Sub(t0).String()
		}
		if c.Collapsed {
			out += " collapsed"
		}
	}
	return out
}

func TestCompose(t *testing.T) {
	const P, W, F = status.Problem, status.Warning, status.Fine
	op, deg, part, major := status.Operational, status.Degraded, status.PartialOutage, status.MajorOutage
	cases := []struct {
		name           string
		ignoreDegraded bool
		rows           []store.Claimed
		want           []string
	}{
		{"a problem alone", false,
			[]store.Claimed{row(1, 0, check("h/api", 0, P, F))},
			[]string{"1 instant h/api:problem←fine"}},
		{"a problem and its recovery read as recovered, with when it was down", false,
			[]store.Claimed{row(1, 0, check("h/api", 0, P, F)), row(2, 6*time.Second, check("h/api", 6*time.Second, F, P))},
			[]string{"1,2 resolved h/api:fine←problem down@0s collapsed"}},
		{"a warning, a problem, then fine: recovered from the worst", false,
			[]store.Claimed{row(1, 0, check("h/api", 0, W, F)), row(2, time.Second, check("h/api", time.Second, P, W)), row(3, 2*time.Second, check("h/api", 2*time.Second, F, P))},
			[]string{"1,2,3 resolved h/api:fine←problem down@0s collapsed"}},
		{"an escalation reads as the problem now, from fine", false,
			[]store.Claimed{row(1, 0, check("h/api", 0, W, F)), row(2, time.Second, check("h/api", time.Second, P, W))},
			[]string{"1,2 instant h/api:problem←fine"}},
		{"recovered, then failing again: at problem", false,
			[]store.Claimed{row(1, 0, check("h/api", 0, F, P)), row(2, time.Second, check("h/api", time.Second, P, F))},
			[]string{"1,2 instant h/api:problem←fine"}},
		{"one check still bad, another recovered: instant, each once", false,
			[]store.Claimed{row(1, 0, check("h/a", 0, P, F)), row(2, 0, check("h/b", 0, P, F)), row(3, time.Second, check("h/b", time.Second, F, P))},
			[]string{"1,2,3 instant h/a:problem←fine h/b:fine←problem down@0s collapsed"}},
		{"A→B→A is not told", false,
			[]store.Claimed{row(1, 0, change("API", op, part)), row(2, time.Second, change("API", part, op))},
			[]string{"1,2 status_change silent API operational→operational"}},
		{"A→B→C is A→C", false,
			[]store.Claimed{row(1, 0, change("API", op, part)), row(2, time.Second, change("API", part, major))},
			[]string{"1,2 status_change API operational→major_outage"}},
		{"two services stay apart", false,
			[]store.Claimed{row(1, 0, change("API", op, part)), row(2, 0, change("Web", op, major)), row(3, time.Second, change("API", part, op))},
			[]string{"1,3 status_change silent API operational→operational", "2 status_change Web operational→major_outage"}},
		{"partial outage then degraded is degraded, ignored by a receiver that ignores it", true,
			[]store.Claimed{row(1, 0, change("API", op, part)), row(2, time.Second, change("API", part, deg))},
			[]string{"1,2 status_change silent API operational→degraded"}},
		{"partial outage then degraded is degraded, told to a receiver that takes it", false,
			[]store.Claimed{row(1, 0, change("API", op, part)), row(2, time.Second, change("API", part, deg))},
			[]string{"1,2 status_change API operational→degraded"}},
		{"digests go alone, after the checks' message", false,
			[]store.Claimed{row(1, 0, check("h/api", 0, P, F)), row(2, 0, message.Message{Kind: message.Digest}), row(3, time.Second, check("h/db", 0, P, F))},
			[]string{"1,3 instant h/api:problem←fine h/db:problem←fine", "2 digest"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			batches := compose(c.rows, Receiver{Name: "ops", IgnoreDegraded: c.ignoreDegraded})
			var got []string
			for _, b := range batches {
				got = append(got, describe(b))
			}
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

// Rows already delivered to some integrations are composed only with
// rows delivered to the same ones; an unreadable payload goes alone.
func TestComposeKeepsDeliveredApart(t *testing.T) {
	a := row(1, 0, check("h/api", 0, status.Problem, status.Fine))
	a.DeliveredTo = "slack"
	b := row(2, time.Second, check("h/api", time.Second, status.Fine, status.Problem))
	bad := store.Claimed{OutboxRow: store.OutboxRow{ID: 3, Receiver: "ops", Kind: "instant", Payload: "{"}}
	batches := compose([]store.Claimed{a, b, bad}, Receiver{Name: "ops"})
	if len(batches) != 3 || describe(batches[0]) != "1 instant h/api:problem←fine" || describe(batches[1]) != "2 resolved h/api:fine←problem" ||
		describe(batches[2]) != "3 instant" || len(batches[0].delivered) != 1 {
		for _, b := range batches {
			t.Log(describe(b))
		}
		t.Error("rows delivered elsewhere, or unreadable, were composed together")
	}
}
