package evaluator

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/statusd/statusd/internal/message"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
)

// A job is what one evaluation decided, as data: the writes of one
// transaction, re-runnable when the store fails. Running it writes the
// decisions (checkWrite.write, serviceWrite.write); once the transaction
// has committed, apply updates the evaluator's copy of the state. The
// evaluator only ever appends to the outbox: what a message says, and
// whether changes that cancel out are told at all, is the notifier's.
type job struct {
	what string
	// plan and at are the config and the time the decisions were made
	// with; a retry writes them as they were.
	plan     *plan
	at       time.Time
	check    *checkWrite
	services []*serviceWrite
}

// moment is when a decision was made and when it is written: the same,
// but for a decision kept while the database was away. History, messages
// and incidents tell the decision's time; the outbox counts its group
// wait from the write, so that what waited is composed together.
type moment struct{ decided, written time.Time }

// write runs a job's writes in tx, at written.
func (j *job) write(tx *store.Tx, written time.Time) error {
	at := moment{j.at, written}
	if j.check != nil {
		if err := j.check.write(tx, j.plan, at); err != nil {
			return err
		}
	}
	for _, s := range j.services {
		if err := s.write(tx, j.plan, at); err != nil {
			return err
		}
	}
	return nil
}

// apply updates the evaluator's copy once the job's transaction has
// committed; it tells whether what the page shows changed.
func (j *job) apply() (changed bool) {
	if j.check != nil {
		j.check.apply()
	}
	for _, s := range j.services {
		changed = s.apply() || changed
	}
	return changed
}

// checkWrite is what a result of a check decided: its state, and the
// receivers to tell.
type checkWrite struct {
	c     *checkEntry
	state State
	// notify are the receivers (indexes in c.receivers) with a decision:
	// they are decided again on their stored state, which is the one
	// that counts when several statusd processes share a database.
	notify []int
	from   status.Level
	// since is when the check entered its previous level: a recovery's
	// message says the check was down since then.
	since  time.Time
	muted  bool
	policy Policy
	item   message.Check
	// decided are the receivers' states written, for apply.
	decided []ReceiverState
	// leads is set when the job was decided by the leader, which alone
	// saves what the receivers were told.
	leads bool
}

// newCheckJob is the job of a result that changed a check's level or
// made someone to be told.
func (e *Evaluator) newCheckJob(c *checkEntry, prev State, events []Event, muted bool, now time.Time) job {
	cw := &checkWrite{
		c: c, state: c.state, from: prev.Check.Level, since: prev.Check.Since, muted: muted, policy: c.rule.Notify, leads: e.led,
		item: message.Check{
			ID: c.id.String(), Description: c.description, Level: c.state.Check.Level,
			Since: c.state.Check.Since, Message: c.last.Message, Value: c.last.Value, Link: c.link,
		},
	}
	for _, ev := range events {
		if ev.Kind == Notify {
			cw.notify = append(cw.notify, ev.Receiver)
		}
	}
	j := job{what: "check " + c.id.String(), plan: e.plan, at: now, check: cw}
	// The services follow the check's level, decided by the leader alone
	// among replicas (the others follow what it stores, see refresh).
	if cw.item.Level != cw.from && e.led {
		for _, s := range c.services {
			if to := s.computed(e.levels); to != s.status {
				j.services = append(j.services, e.newServiceWrite(s, to, s.maintenance, store.CauseChecks))
			}
		}
	}
	return j
}

func (w *checkWrite) write(tx *store.Tx, p *plan, at moment) error {
	now := at.decided
	c := w.c
	// The receivers with a decision are saved below, once decided on
	// their stored state; the others as the evaluator has them.
	others := &checkEntry{id: c.id, state: w.state, receivers: append([]string(nil), c.receivers...)}
	for _, i := range w.notify {
		others.receivers[i] = ""
	}
	if err := saveState(tx, others, now, w.leads); err != nil {
		return err
	}
	w.decided = w.decided[:0]
	topic := "check:" + c.id.String()
	for _, i := range w.notify {
		receiver := c.receivers[i]
		stored, err := tx.ReceiverState(c.id, receiver)
		if err != nil {
			return err
		}
		rs, out := Decide(fromStored(stored), w.item.Level, w.policy, w.muted, now)
		if out.Action != Nothing {
			m := w.item
			m.Repeat = out.Repeat
			m.Previous = w.from
			if out.Kind == message.Resolved {
				m.Previous = stored.Level
				if !w.since.IsZero() {
					down := w.since
					m.DownSince = &down
				}
			}
			row, err := p.outboxRow(receiver, out.Kind, topic+":"+out.Key, topic, now, message.Message{Checks: []message.Check{m}})
			if err != nil {
				return err
			}
			if out.Action == Suppress {
				row.State = store.OutboxSuppressed
			}
			if _, err := tx.Enqueue(row, at.written); err != nil {
				return err
			}
		}
		if err := tx.SaveReceiverState(c.id, receiver, toStored(rs)); err != nil {
			return err
		}
		w.decided = append(w.decided, rs)
	}
	return nil
}

func (w *checkWrite) apply() {
	for n, i := range w.notify {
		if i < len(w.c.state.Receivers) && n < len(w.decided) {
			w.c.state.Receivers[i] = w.decided[n]
		}
	}
	// Stored as it is now, unless results came after the decision.
	if storedState(w.c.state.Check, w.c.rule) == storedState(w.state.Check, w.c.rule) {
		w.c.dirty = false
	}
}

// serviceWrite is a service's change of status or maintenance flag.
type serviceWrite struct {
	s           *serviceEntry
	to          status.ServiceStatus
	maintenance bool
	cause       string
	// failing describes the service's checks that are not fine, for
	// an automatic incident.
	failing []string
	// changed is set when the write changed the service (another
	// statusd may have made the change already), for apply.
	changed bool
}

func (e *Evaluator) newServiceWrite(s *serviceEntry, to status.ServiceStatus, maintenance bool, cause string) *serviceWrite {
	w := &serviceWrite{s: s, to: to, maintenance: maintenance, cause: cause}
	for _, c := range s.checks {
		if l := c.state.Check.Level; l != status.Fine {
			w.failing = append(w.failing, fmt.Sprintf("%s is at %s: %s", c.id, l, c.last.Message))
		}
	}
	return w
}

// newServiceJob is the job of a service's change alone.
func (e *Evaluator) newServiceJob(s *serviceEntry, to status.ServiceStatus, maintenance bool, cause string, now time.Time) job {
	return job{what: "service " + s.name, plan: e.plan, at: now, services: []*serviceWrite{e.newServiceWrite(s, to, maintenance, cause)}}
}

// write records the status and its history row, appends the change to
// each of the service's receivers' outbox (suppressed in maintenance),
// and opens, updates or resolves the automatic incident.
func (w *serviceWrite) write(tx *store.Tx, p *plan, at moment) error {
	now := at.decided
	w.changed = false
	row, err := tx.Service(w.s.name)
	if err != nil {
		return err
	}
	reason := ""
	if w.cause == store.CauseManual {
		reason = row.ManualReason
	}
	ch, err := tx.SetServiceStatus(row, w.to, w.maintenance, w.cause, reason, now)
	if err != nil || ch == nil {
		return err
	}
	w.changed = true
	from := status.ServiceStatus(ch.Old)
	ended := row.Maintenance && !w.maintenance
	if from == w.to && !ended {
		return nil // the maintenance flag alone changed
	}
	for _, r := range w.s.receivers {
		notify := p.notifyChange
		if ended {
			notify = p.notifyAfterMaintenance
		}
		if err := notify(tx, r, w.s, ch, at); err != nil {
			return err
		}
	}
	if from == w.to {
		return nil
	}
	if w.s.autoIncident && w.cause == store.CauseChecks {
		return autoIncident(tx, p, row, from, w.to, w.failing, now)
	}
	return nil
}

// apply tells whether the write changed the service. (The evaluator took
// the status as the service's when it decided it: see decided.)
func (w *serviceWrite) apply() bool { return w.changed }

// notifyChange appends a service's change to a receiver's outbox: sent,
// or suppressed while a maintenance window mutes the service. A change
// between operational and degraded is not told to a receiver that
// ignores those. Changes that follow one another before they are sent
// (A→B then B→A) are the notifier's to compose.
func (p *plan) notifyChange(tx *store.Tx, receiver string, s *serviceEntry, ch *store.StatusChange, at moment) error {
	now := at.decided
	from, to := status.ServiceStatus(ch.Old), status.ServiceStatus(ch.New)
	if !ch.Maintenance && p.ignores(receiver, from, to) {
		return nil
	}
	topic := "service:" + s.name
	change := &message.ServiceChange{Name: s.name, Group: s.group, From: from, To: to, At: ch.At, Cause: ch.Cause, Link: s.link}
	row, err := p.outboxRow(receiver, message.StatusChange, fmt.Sprintf("%s:%d", topic, ch.ID), topic, now, message.Message{Service: change})
	if err != nil {
		return err
	}
	if ch.Maintenance {
		row.State = store.OutboxSuppressed
	}
	_, err = tx.Enqueue(row, at.written)
	return err
}

// notifyAfterMaintenance tells a receiver, when a maintenance window
// ends, the service's status now if it is not what the receiver was last
// told, with the changes the window kept from it meanwhile.
func (p *plan) notifyAfterMaintenance(tx *store.Tx, receiver string, s *serviceEntry, ch *store.StatusChange, at moment) error {
	topic := "service:" + s.name
	told, suppressed, err := tx.SinceTold(receiver, string(message.StatusChange), topic)
	if err != nil {
		return err
	}
	from := status.Operational // what a receiver told nothing assumes
	if told != "" {
		var m message.Message
		if err := json.Unmarshal([]byte(told), &m); err == nil && m.Service != nil {
			from = m.Service.To
		}
	}
	var steps []message.Step
	for _, payload := range suppressed {
		var m message.Message
		if err := json.Unmarshal([]byte(payload), &m); err == nil && m.Service != nil {
			steps = append(steps, message.Step{From: m.Service.From, To: m.Service.To, At: m.Service.At})
		}
	}
	if ch.Old != ch.New {
		steps = append(steps, message.Step{From: status.ServiceStatus(ch.Old), To: status.ServiceStatus(ch.New), At: ch.At})
	}
	to := status.ServiceStatus(ch.New)
	if from == to || p.ignores(receiver, from, to) {
		return nil
	}
	change := &message.ServiceChange{Name: s.name, Group: s.group, From: from, To: to, At: ch.At, Cause: store.CauseMaintenance, Link: s.link, Meanwhile: steps}
	row, err := p.outboxRow(receiver, message.StatusChange, fmt.Sprintf("%s:%d", topic, ch.ID), topic, at.decided, message.Message{Service: change})
	if err != nil {
		return err
	}
	_, err = tx.Enqueue(row, at.written)
	return err
}

// ignores tells whether a receiver drops a change between operational
// and degraded.
func (p *plan) ignores(receiver string, from, to status.ServiceStatus) bool {
	return p.receivers[receiver].IgnoreDegraded && from <= status.Degraded && to <= status.Degraded
}

// outboxRow builds an outbox row from what a message says (its checks or
// its service change); the rest of the message is the plan's.
func (p *plan) outboxRow(receiver string, kind message.Kind, key, topic string, now time.Time, what message.Message) (store.OutboxRow, error) {
	m := what
	m.Version, m.Kind, m.Receiver, m.Site, m.Time = message.Version, kind, receiver, p.site, now.UTC()
	b, err := json.Marshal(m)
	if err != nil {
		return store.OutboxRow{}, fmt.Errorf("encode the message: %w", err)
	}
	return store.OutboxRow{Receiver: receiver, Kind: string(kind), DedupKey: key, Topic: topic, Payload: string(b)}, nil
}

// autoIncident opens, updates or resolves the incident of a service whose
// checks put it in or out of an outage. In an incident already open about
// the service that an operator opened, statusd writes notes instead (at
// most one per noteEvery): they neither change nor claim its state, which
// is the operator's to give.
func autoIncident(tx *store.Tx, p *plan, sv store.ServiceRow, from, to status.ServiceStatus, failing []string, now time.Time) error {
	outage := func(s status.ServiceStatus) bool { return s >= status.PartialOutage }
	label := strings.ReplaceAll(to.String(), "_", " ")
	var text string
	switch {
	case outage(to):
		text = fmt.Sprintf("%s is in %s.", sv.Name, label)
		if len(failing) > 0 {
			text += "\n" + strings.Join(failing, "\n")
		}
	case outage(from):
		text = fmt.Sprintf("%s is %s again: its checks recovered.", sv.Name, label)
	default:
		return nil
	}
	// A recovery resolves statusd's own incident first.
	open, err := tx.OpenIncidentOf(sv.ID, !outage(to))
	if err == nil && open == nil && !outage(to) {
		open, err = tx.OpenIncidentOf(sv.ID, false)
	}
	if err != nil {
		return err
	}
	switch {
	case open == nil && outage(to):
		id, err := tx.OpenIncident(fmt.Sprintf("%s: %s", sv.Name, label), []int64{sv.ID}, store.Investigating, text, true, now)
		if err != nil {
			return err
		}
		return announceIncident(tx, p, id, now)
	case open == nil:
		return nil
	case !open.Automatic:
		return noteOnce(tx, open.ID, text, p.noteEvery, now)
	}
	state := store.Resolved
	if outage(to) {
		if state, err = tx.IncidentState(open.ID); err != nil {
			return err
		}
	}
	if err := tx.AddIncidentUpdate(open.ID, state, text, now); err != nil {
		return err
	}
	return announceIncident(tx, p, open.ID, now)
}

// noteOnce adds statusd's note to an operator's incident unless it added
// one less than every ago.
func noteOnce(tx *store.Tx, id int64, text string, every time.Duration, now time.Time) error {
	last, err := tx.LastNote(id)
	if err != nil {
		return err
	}
	if !last.IsZero() && now.Sub(last) < every {
		return nil
	}
	return tx.AddIncidentNote(id, text, now)
}
