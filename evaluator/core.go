// Package evaluator turns the stream of check results into decisions: the
// level each check is really at (debounced), the status of each service,
// incidents opened and resolved, and the notifications that must go out,
// written into the store's outbox for the notifier to deliver.
//
// The rules are pure functions of a state, an input and the time, in this
// file, table-tested without I/O; evaluator.go is the thin loop around
// them that receives results, keeps the states and persists decisions.
package evaluator

import (
	"slices"
	"strconv"
	"time"

	"github.com/statusd/statusd/internal/message"
	"github.com/statusd/statusd/internal/status"
)

// Rule is how one check's results become its evaluated level and who is
// told about it.
type Rule struct {
	// FailureThreshold is how many results in a row at a level or worse
	// raise the evaluated level to it; warning → problem counts as rising.
	FailureThreshold int
	// SuccessThreshold is how many results in a row at a level or better
	// lower the evaluated level to it.
	SuccessThreshold int
	// Notify is how the check's receivers are told, one policy per
	// receiver in State.Receivers' order; empty when nobody is.
	Notify Policy
	// Muted is set while a maintenance window covers one of the check's
	// services: decisions are recorded as suppressed, not sent.
	Muted bool
}

// Policy is how a check's receivers are told.
type Policy struct {
	// Instant notifies as soon as the evaluated level leaves fine (and
	// on escalation); otherwise only digests report the check.
	Instant bool
	// Repeat is how long after a notification a check still bad is
	// notified again; 0 never repeats.
	Repeat time.Duration
	// SendResolved notifies recovery.
	SendResolved bool
}

// CheckState is what the evaluator knows of one check between results.
type CheckState struct {
	// Level is the evaluated (debounced) level; Since when it was entered.
	Level status.Level
	Since time.Time
	// AtLeast[l] counts the latest results in a row at level l or worse
	// (warning and problem); AtMost[l] the latest at l or better (fine
	// and warning).
	AtLeast [3]int32
	AtMost  [3]int32
}

// ReceiverState is what one receiver was told about one check. It is
// persisted per check and receiver, so that a restart neither repeats nor
// loses a notification, and it is what several statusd processes on one
// database agree on.
type ReceiverState struct {
	// Level is the level the receiver was last told about; Fine when no
	// bad episode is outstanding.
	Level status.Level
	// At is when it was last told.
	At time.Time
	// Episode counts the bad episodes, Sent the notifications of the
	// current one: together they make deterministic outbox keys.
	Episode int
	Sent    int
	// Suppressed is set when a decision of the current episode was
	// suppressed by a maintenance window, so that it is notified when the
	// window ends if the check is still bad.
	Suppressed bool
}

// State is a check's state and its receivers'.
type State struct {
	Check     CheckState
	Receivers []ReceiverState
}

// EventKind tells what an Event is.
type EventKind uint8

// The kinds of events.
const (
	// LevelChanged: the evaluated level changed from From to To.
	LevelChanged EventKind = iota + 1
	// Notify: receiver Receiver must be told (Outcome).
	Notify
)

// Event is something a result caused.
type Event struct {
	Kind     EventKind
	From, To status.Level
	// Receiver is the index of the receiver, for Notify.
	Receiver int
	Outcome  Outcome
}

// Next evaluates one result of a check: its new state and what must be
// done. In the steady state (no change, nothing to tell) it returns no
// events and allocates nothing.
func Next(prev State, r status.Result, rule Rule, now time.Time) (State, []Event) {
	next := prev
	next.Check = Step(prev.Check, r.Level, rule, now)
	var events []Event
	if next.Check.Level != prev.Check.Level {
		events = append(events, Event{Kind: LevelChanged, From: prev.Check.Level, To: next.Check.Level})
	}
	if !rule.Notify.Instant {
		return next, events
	}
	copied := false
	for i, was := range prev.Receivers {
		rs, out := Decide(was, next.Check.Level, rule.Notify, rule.Muted, now)
		if rs == was && out.Action == Nothing {
			continue
		}
		if !copied {
			// Copy on first write, so that prev stays as it was.
			next.Receivers = slices.Clone(prev.Receivers)
			copied = true
		}
		next.Receivers[i] = rs
		if out.Action != Nothing {
			events = append(events, Event{Kind: Notify, Receiver: i, From: prev.Check.Level, To: next.Check.Level, Outcome: out})
		}
	}
	return next, events
}

// saturate keeps a streak counter from overflowing.
const saturate = 1 << 30

// Step applies one result level to a check's debounce state. The level
// rises to the worst level l above it whose AtLeast streak has reached
// FailureThreshold; otherwise it falls to the best level below it whose
// AtMost streak has reached SuccessThreshold.
func Step(prev CheckState, level status.Level, rule Rule, now time.Time) CheckState {
	next := prev
	for l := status.Warning; l <= status.Problem; l++ {
		if level >= l {
			next.AtLeast[l] = min(next.AtLeast[l]+1, saturate)
		} else {
			next.AtLeast[l] = 0
		}
	}
	for l := status.Fine; l <= status.Warning; l++ {
		if level <= l {
			next.AtMost[l] = min(next.AtMost[l]+1, saturate)
		} else {
			next.AtMost[l] = 0
		}
	}
	failures, successes := int32(max(rule.FailureThreshold, 1)), int32(max(rule.SuccessThreshold, 1))
	for l := status.Problem; l > prev.Level; l-- {
		if next.AtLeast[l] >= failures {
			next.Level, next.Since = l, now
			return next
		}
	}
	for l := status.Fine; l < prev.Level; l++ {
		if next.AtMost[l] >= successes {
			next.Level, next.Since = l, now
			return next
		}
	}
	return next
}

// Action is what a decision does.
type Action uint8

// The actions of a decision.
const (
	Nothing Action = iota
	// Send: a notification goes out (written to the outbox).
	Send
	// Suppress: a notification would go out, but a maintenance window
	// mutes the check; it is recorded, not sent.
	Suppress
)

// Outcome is a decision about one receiver.
type Outcome struct {
	Action Action
	// Kind is instant or resolved.
	Kind message.Kind
	// Repeat is set for a reminder of a bad episode already told.
	Repeat bool
	// Key is the outbox dedup key, deterministic for the receiver state,
	// so that two statusd processes deciding the same thing write one row.
	Key string
}

// Decide applies a check's evaluated level to what a receiver was told,
// for a check notified instantly:
//
//   - leaving fine is told at once, once: no repeat until the check has
//     been fine again, or until policy.Repeat has passed (strictly after);
//   - an escalation (warning → problem) is told at once;
//   - recovery is told when policy.SendResolved, and ends the episode;
//   - while muted, the first decision of an episode is suppressed and
//     remembered; when the mute ends and the check is still bad, it is
//     told then. A recovery while muted ends the episode unsaid.
//
// Decide is used twice: on the evaluator's copy of the state, to know
// whether anything must be done, and in the write transaction on the
// stored state, which is the one that counts.
func Decide(rs ReceiverState, level status.Level, policy Policy, muted bool, now time.Time) (ReceiverState, Outcome) {
	switch {
	case level == status.Fine && rs.Level == status.Fine:
		rs.Suppressed = false // an episode that ended while muted
		return rs, Outcome{}
	case level == status.Fine:
		key := keyOf(message.Resolved, rs.Episode, 0)
		muteOrResolve := rs.Suppressed || muted
		rs.Level, rs.At, rs.Suppressed = status.Fine, now, false
		switch {
		case muteOrResolve:
			return rs, Outcome{Action: Suppress, Kind: message.Resolved, Key: key}
		case policy.SendResolved:
			return rs, Outcome{Action: Send, Kind: message.Resolved, Key: key}
		}
		return rs, Outcome{}
	}
	// The check is bad.
	var repeat bool
	switch {
	case rs.Level == status.Fine && !rs.Suppressed:
		rs.Episode, rs.Sent = rs.Episode+1, 0 // a new episode
	case rs.Level == status.Fine:
		// Suppressed so far in this episode: told when the mute ends.
	case level > rs.Level:
		// An escalation.
	case policy.Repeat > 0 && now.After(rs.At.Add(policy.Repeat)):
		repeat = true
	default:
		return rs, Outcome{}
	}
	if muted {
		if rs.Suppressed {
			return rs, Outcome{} // said once
		}
		rs.Suppressed = true
		return rs, Outcome{Action: Suppress, Kind: message.Instant, Repeat: repeat, Key: keyOf(message.Instant, rs.Episode, -1)}
	}
	rs.Sent++
	rs.Level, rs.At, rs.Suppressed = level, now, false
	return rs, Outcome{Action: Send, Kind: message.Instant, Repeat: repeat, Key: keyOf(message.Instant, rs.Episode, rs.Sent)}
}

// keyOf is the part of an outbox dedup key that a receiver state decides:
// kind, episode and the notification's number in it (-1 for a suppressed
// one). The loop prefixes it with the check's address.
func keyOf(kind message.Kind, episode, sent int) string {
	k := string(kind) + "/" + strconv.Itoa(episode)
	if sent != 0 {
		k += "/" + strconv.Itoa(sent)
	}
	return k
}

// ServiceStatus is a service's status from its checks' evaluated levels
// and the alerts that hold it: the worst of the levels mapped (warning →
// degraded, problem → onProblem) and of the alerts' statuses; a service
// without either is operational. A manual status, when set, wins.
func ServiceStatus(levels []status.Level, onProblem status.ServiceStatus, manual *status.ServiceStatus, alert status.ServiceStatus) status.ServiceStatus {
	if manual != nil {
		return *manual
	}
	worst := status.Fine
	for _, l := range levels {
		worst = status.Worst(worst, l)
	}
	switch worst {
	case status.Warning:
		return max(status.Degraded, alert)
	case status.Problem:
		return max(onProblem, alert)
	}
	return alert
}
