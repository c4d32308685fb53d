package notifier

import (
	"encoding/json"
	"time"

	"github.com/statusd/statusd/internal/message"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
)

// batch is one message made of one or more rows.
type batch struct {
	rows      []store.Claimed
	msg       *message.Message
	delivered []string
	// silent is set when the rows say nothing to tell (a service that
	// changed and came back): they are settled as collapsed, unsent.
	silent bool
}

// compose turns a receiver's claimed rows, in the order they were
// decided, into the messages to send, in that order. It alone decides
// what a message says; the evaluator only appends what it decided.
//
//   - Instant and resolved rows become one message (flood control: one
//     outage failing twenty checks is one message) that reports each
//     check once, at its latest state. A check that failed and recovered
//     before its problem went out reads as recovered, with when it was
//     down. The message's kind, and so its headline, colour and subject,
//     follow the state now: resolved when every check in it is fine.
//   - The status changes of one service become one message from the
//     status before the first to the status after the last (A→B then B→C
//     is A→C). One that ends where it began (A→B→A), or that only moves
//     between operational and degraded for a receiver that ignores that,
//     is not sent.
//   - Digests go alone.
//
// Rows are composed only with rows already delivered to the same
// integrations (by an attempt that half failed). A row whose payload
// cannot be read goes alone, as its kind.
func compose(rows []store.Claimed, r Receiver) []batch {
	var out []batch
	type key struct{ topic, delivered string }
	checks := map[string]*checkBatch{} // by delivered set
	changes := map[key]int{}           // index in out
	var checkOrder []*checkBatch
	for _, row := range rows {
		var m message.Message
		if err := json.Unmarshal([]byte(row.Payload), &m); err != nil {
			m = message.Message{Version: message.Version, Kind: message.Kind(row.Kind), Receiver: row.Receiver}
			out = append(out, batch{rows: []store.Claimed{row}, msg: &m, delivered: row.Delivered()})
			continue
		}
		switch {
		case m.Kind == message.Instant || m.Kind == message.Resolved:
			cb := checks[row.DeliveredTo]
			if cb == nil {
				cb = &checkBatch{index: len(out), byID: map[string]*checkSeries{}}
				checks[row.DeliveredTo] = cb
				checkOrder = append(checkOrder, cb)
				out = append(out, batch{msg: &m, delivered: row.Delivered()})
			}
			cb.add(row, &m)
		case m.Kind == message.StatusChange && m.Service != nil:
			k := key{row.Topic, row.DeliveredTo}
			if i, ok := changes[k]; ok {
				b := &out[i]
				b.rows = append(b.rows, row)
				last := m.Service
				b.msg.Service.To, b.msg.Service.Cause, b.msg.Service.Link, b.msg.Service.Group = last.To, last.Cause, last.Link, last.Group
				b.msg.Service.Meanwhile = append(b.msg.Service.Meanwhile, last.Meanwhile...)
				b.msg.Time = m.Time
				continue
			}
			changes[k] = len(out)
			out = append(out, batch{rows: []store.Claimed{row}, msg: &m, delivered: row.Delivered()})
		default:
			out = append(out, batch{rows: []store.Claimed{row}, msg: &m, delivered: row.Delivered()})
		}
	}
	for _, cb := range checkOrder {
		b := &out[cb.index]
		b.rows = cb.rows
		b.msg.Checks = cb.checks()
		b.msg.Time = cb.time
		b.msg.Kind = message.Resolved
		if b.msg.Worst() != status.Fine {
			b.msg.Kind = message.Instant
		}
	}
	for _, i := range changes {
		s := out[i].msg.Service
		out[i].silent = s.From == s.To || (r.IgnoreDegraded && s.From <= status.Degraded && s.To <= status.Degraded)
	}
	return out
}

// checkBatch gathers the instant and resolved rows of one message.
type checkBatch struct {
	index int // in compose's output
	rows  []store.Claimed
	order []*checkSeries
	byID  map[string]*checkSeries
	time  time.Time
}

// checkSeries is what the rows of a batch say of one check, in order.
type checkSeries struct {
	seen []message.Check
}

func (cb *checkBatch) add(row store.Claimed, m *message.Message) {
	cb.rows = append(cb.rows, row)
	if m.Time.After(cb.time) {
		cb.time = m.Time
	}
	for _, c := range m.Checks {
		s := cb.byID[c.ID]
		if s == nil {
			s = &checkSeries{}
			cb.byID[c.ID] = s
			cb.order = append(cb.order, s)
		}
		s.seen = append(s.seen, c)
	}
}

// checks reports each check once, in the order they first appear.
func (cb *checkBatch) checks() []message.Check {
	out := make([]message.Check, len(cb.order))
	for i, s := range cb.order {
		out[i] = s.latest()
	}
	return out
}

// latest is a check at its last state. A check that is fine again after
// bad rows in the same message was not told about them: it reads as a
// recovery from the worst of them, down since the first. A check that is
// bad reads as the last run of bad rows began: its previous level is the
// one before them.
func (s *checkSeries) latest() message.Check {
	last := s.seen[len(s.seen)-1]
	if last.Level == status.Fine {
		worst := last.Previous
		var down *time.Time
		if last.DownSince != nil {
			down = last.DownSince
		}
		for _, c := range s.seen[:len(s.seen)-1] {
			if c.Level == status.Fine {
				continue
			}
			last.Collapsed = true
			worst = status.Worst(worst, c.Level)
			if since := c.Since; !since.IsZero() && (down == nil || since.Before(*down)) {
				down = &since
			}
		}
		last.Previous, last.DownSince = worst, down
		return last
	}
	first := len(s.seen) - 1
	for first > 0 && s.seen[first-1].Level != status.Fine {
		first--
	}
	last.Previous = s.seen[first].Previous
	last.Repeat = last.Repeat && s.seen[first].Repeat
	return last
}
