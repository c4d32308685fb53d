package evaluator

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/statusd/statusd/internal/message"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
)

// checkJob writes what one result decided: the check's state, its
// notifications (decided again on the stored receiver states) and the
// changes of its services.
func (e *Evaluator) checkJob(c *checkEntry, prev State, events []Event, muted bool, now time.Time) job {
	level, from := c.state.Check.Level, prev.Check.Level
	checkState := c.state
	policy := c.rule.Notify
	var notify []int // receivers with a decision
	for _, ev := range events {
		if ev.Kind == Notify {
			notify = append(notify, ev.Receiver)
		}
	}
	item := message.Check{
		ID:          c.id.String(),
		Description: c.description,
		Level:       level,
		Since:       checkState.Check.Since,
		Message:     c.last.Message,
		Value:       c.last.Value,
		Link:        c.link,
	}
	var services []func(*store.Tx) (func(), error)
	if level != from {
		for _, s := range c.services {
			if to := s.computed(e.levels); to != s.status {
				services = append(services, e.serviceChange(s, to, s.maintenance, store.CauseChecks, now))
			}
		}
	}
	p := e.plan
	decided := make([]ReceiverState, len(notify))
	var afters []func()
	return job{
		what: "check " + c.id.String(),
		run: func(tx *store.Tx) error {
			afters = afters[:0]
			// The receivers with a decision are decided again on their
			// stored state below; the others are saved as they are.
			others := &checkEntry{id: c.id, state: checkState, receivers: slices.Clone(c.receivers)}
			for _, i := range notify {
				others.receivers[i] = ""
			}
			if err := saveState(tx, others, now); err != nil {
				return err
			}
			for n, i := range notify {
				receiver := c.receivers[i]
				stored, err := tx.ReceiverState(c.id, receiver)
				if err != nil {
					return err
				}
				rs, out := Decide(fromStored(stored), level, policy, muted, now)
				if out.Action != Nothing {
					m := item
					m.Repeat = out.Repeat
					if out.Kind == message.Resolved {
						m.Previous = stored.Level
					} else {
						m.Previous = from
					}
					row, err := p.outboxRow(receiver, out.Kind, "check:"+c.id.String()+":"+out.Key, "check:"+c.id.String(), now, m)
					if err != nil {
						return err
					}
					if out.Action == Suppress {
						row.State = store.OutboxSuppressed
					}
					if _, err := tx.Enqueue(row, now); err != nil {
						return err
					}
				}
				if err := tx.SaveReceiverState(c.id, receiver, toStored(rs)); err != nil {
					return err
				}
				decided[n] = rs
			}
			for _, change := range services {
				after, err := change(tx)
				if err != nil {
					return err
				}
				if after != nil {
					afters = append(afters, after)
				}
			}
			return nil
		},
		after: func() {
			for n, i := range notify {
				if i < len(c.state.Receivers) {
					c.state.Receivers[i] = decided[n]
				}
			}
			for _, f := range afters {
				f()
			}
			c.dirty = false
		},
	}
}

// serviceJob writes a service's new status or maintenance flag.
func (e *Evaluator) serviceJob(s *serviceEntry, to status.ServiceStatus, maintenance bool, cause string, now time.Time) job {
	change := e.serviceChange(s, to, maintenance, cause, now)
	var after func()
	return job{
		what: "service " + s.name,
		run: func(tx *store.Tx) error {
			var err error
			after, err = change(tx)
			return err
		},
		after: func() {
			if after != nil {
				after()
			}
		},
	}
}

// serviceChange returns the writes of a service's change of status: the
// status and its history row, the receivers' notifications (A→B→A
// collapsed while undelivered) and the automatic incident. It returns
// what to apply to the evaluator's copy once committed, nil when another
// statusd had already made the change.
func (e *Evaluator) serviceChange(s *serviceEntry, to status.ServiceStatus, maintenance bool, cause string, now time.Time) func(*store.Tx) (func(), error) {
	p := e.plan
	var failing []string
	for _, c := range s.checks {
		if l := c.state.Check.Level; l != status.Fine {
			failing = append(failing, fmt.Sprintf("%s is at %s: %s", c.id, l, c.last.Message))
		}
	}
	return func(tx *store.Tx) (func(), error) {
		row, err := tx.Service(s.name)
		if err != nil {
			return nil, err
		}
		reason := ""
		if cause == store.CauseManual {
			reason = row.ManualReason
		}
		ch, err := tx.SetServiceStatus(row, to, maintenance, cause, reason, now)
		if err != nil || ch == nil {
			return nil, err
		}
		from := status.ServiceStatus(ch.Old)
		if from != to {
			for _, r := range s.receivers {
				if err := p.notifyChange(tx, r, s, ch, now); err != nil {
					return nil, err
				}
			}
			if s.autoIncident && cause == store.CauseChecks {
				if err := autoIncident(tx, row, from, to, failing, now); err != nil {
					return nil, err
				}
			}
		}
		return func() {
			s.status, s.maintenance = to, maintenance
			e.changed()
		}, nil
	}
}

// notifyChange tells a receiver about a service's change, collapsing it
// into an undelivered notification of the same service: A→B then B→C is
// one A→C message, and A→B→A is none.
func (p *plan) notifyChange(tx *store.Tx, receiver string, s *serviceEntry, ch *store.StatusChange, now time.Time) error {
	from, to := status.ServiceStatus(ch.Old), status.ServiceStatus(ch.New)
	topic := "service:" + s.name
	change := &message.ServiceChange{Name: s.name, Group: s.group, From: from, To: to, At: ch.At, Cause: ch.Cause, Link: s.link}
	if ch.Maintenance {
		// A maintenance window mutes the service: recorded, never sent.
		row, err := p.outboxRow(receiver, message.StatusChange, fmt.Sprintf("%s:%d", topic, ch.ID), topic, now, change)
		if err != nil {
			return err
		}
		row.State = store.OutboxSuppressed
		_, err = tx.Enqueue(row, now)
		return err
	}
	pending, err := tx.PendingOutbox(receiver, string(message.StatusChange), topic)
	if err != nil {
		return err
	}
	if pending != nil {
		var m message.Message
		if err := json.Unmarshal([]byte(pending.Payload), &m); err == nil && m.Service != nil {
			if m.Service.From == to || p.ignores(receiver, m.Service.From, to) {
				return tx.DeleteOutbox(pending.ID)
			}
			m.Service.To, m.Time = to, now
			b, err := json.Marshal(m)
			if err != nil {
				return err
			}
			return tx.SetOutboxPayload(pending.ID, string(b))
		}
	}
	if p.ignores(receiver, from, to) {
		return nil
	}
	row, err := p.outboxRow(receiver, message.StatusChange, fmt.Sprintf("%s:%d", topic, ch.ID), topic, now, change)
	if err != nil {
		return err
	}
	_, err = tx.Enqueue(row, now)
	return err
}

// ignores tells whether a receiver drops a change between operational
// and degraded.
func (p *plan) ignores(receiver string, from, to status.ServiceStatus) bool {
	return p.receivers[receiver].IgnoreDegraded && from <= status.Degraded && to <= status.Degraded
}

// outboxRow builds an outbox row with its message: what is a Check or a
// ServiceChange.
func (p *plan) outboxRow(receiver string, kind message.Kind, key, topic string, now time.Time, what any) (store.OutboxRow, error) {
	m := message.Message{Version: message.Version, Kind: kind, Receiver: receiver, Site: p.site, Time: now.UTC()}
	switch w := what.(type) {
	case message.Check:
		m.Checks = []message.Check{w}
	case *message.ServiceChange:
		m.Service = w
	}
	b, err := json.Marshal(m)
	if err != nil {
		return store.OutboxRow{}, fmt.Errorf("encode the message: %w", err)
	}
	return store.OutboxRow{Receiver: receiver, Kind: string(kind), DedupKey: key, Topic: topic, Payload: string(b)}, nil
}

// autoIncident opens, updates or resolves the incident of a service whose
// checks put it in or out of an outage. An incident already open about
// the service (an operator's) is updated instead of opening a second one.
func autoIncident(tx *store.Tx, sv store.ServiceRow, from, to status.ServiceStatus, failing []string, now time.Time) error {
	outage := func(s status.ServiceStatus) bool { return s >= status.PartialOutage }
	label := strings.ReplaceAll(to.String(), "_", " ")
	switch {
	case outage(to):
		text := fmt.Sprintf("%s is in %s.", sv.Name, label)
		if len(failing) > 0 {
			text += "\n" + strings.Join(failing, "\n")
		}
		open, err := tx.OpenIncidentOf(sv.ID, false)
		if err != nil {
			return err
		}
		if open == nil {
			_, err := tx.OpenIncident(fmt.Sprintf("%s: %s", sv.Name, label), []int64{sv.ID}, store.Investigating, text, true, now)
			return err
		}
		state, err := tx.IncidentState(open.ID)
		if err != nil {
			return err
		}
		return tx.AddIncidentUpdate(open.ID, state, text, now)
	case outage(from):
		text := fmt.Sprintf("%s is %s again: its checks recovered.", sv.Name, label)
		if open, err := tx.OpenIncidentOf(sv.ID, true); err != nil || open != nil {
			if err != nil {
				return err
			}
			return tx.AddIncidentUpdate(open.ID, store.Resolved, text, now)
		}
		// An operator's incident is theirs to resolve: say the checks
		// recovered and that it is being watched.
		open, err := tx.OpenIncidentOf(sv.ID, false)
		if err != nil || open == nil {
			return err
		}
		return tx.AddIncidentUpdate(open.ID, store.Monitoring, text, now)
	}
	return nil
}
