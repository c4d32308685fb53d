package evaluator

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/statusd/statusd/internal/message"
	"github.com/statusd/statusd/internal/status"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

const (
	F = status.Fine
	W = status.Warning
	P = status.Problem
)

func TestStep(t *testing.T) {
	cases := []struct {
		name               string
		start              status.Level
		failures, success  int
		results            []status.Level
		want               []status.Level // the evaluated level after each result
		changedAtLastIndex int            // the index of the result that made the last change, -1 for none
	}{
		{"one failure is not enough", F, 2, 1, []status.Level{P}, []status.Level{F}, -1},
		{"two failures raise", F, 2, 1, []status.Level{P, P}, []status.Level{F, P}, 1},
		{"a mixed streak rises to what all reached", F, 2, 1, []status.Level{W, P, P}, []status.Level{F, W, P}, 2},
		{"warning to problem counts as rising", W, 2, 1, []status.Level{P, P}, []status.Level{W, P}, 1},
		{"threshold 1 raises at once", F, 1, 1, []status.Level{W}, []status.Level{W}, 0},
		{"threshold 3", F, 3, 1, []status.Level{P, P, F, P, P, P}, []status.Level{F, F, F, F, F, P}, 5},
		{"flapping never rises", F, 2, 1, []status.Level{P, F, P, F, P}, []status.Level{F, F, F, F, F}, -1},
		{"one success lowers", P, 2, 1, []status.Level{F}, []status.Level{F}, 0},
		{"a better level lowers to it", P, 2, 1, []status.Level{W, F}, []status.Level{W, F}, 1},
		{"two successes needed", P, 2, 2, []status.Level{F, P, F, F}, []status.Level{P, P, P, F}, 3},
		{"falling with a mixed streak", P, 2, 2, []status.Level{W, F, F}, []status.Level{P, W, F}, 2},
		{"a worse result at its level changes nothing", W, 2, 1, []status.Level{W, W}, []status.Level{W, W}, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := CheckState{Level: c.start, Since: t0.Add(-time.Hour)}
			rule := Rule{FailureThreshold: c.failures, SuccessThreshold: c.success}
			lastChange := -1
			for i, r := range c.results {
				now := t0.Add(time.Duration(i) * time.Minute)
				prev := s.Level
				s = Step(s, r, rule, now)
				if s.Level != c.want[i] {
					t.Fatalf("after result %d (%s): level %s, want %s", i, r, s.Level, c.want[i])
				}
				if s.Level != prev {
					lastChange = i
					if !s.Since.Equal(now) {
						t.Errorf("since = %s, want the time of result %d", s.Since, i)
					}
				}
			}
			if lastChange != c.changedAtLastIndex {
				t.Errorf("last change at result %d, want %d", lastChange, c.changedAtLastIndex)
			}
		})
	}
}

func TestStepSaturates(t *testing.T) {
	s := CheckState{Level: P, AtLeast: [3]int32{0, saturate, saturate}}
	s = Step(s, P, Rule{FailureThreshold: 2, SuccessThreshold: 1}, t0)
	if s.AtLeast[P] != saturate {
		t.Errorf("streak = %d, want it held at %d", s.AtLeast[P], saturate)
	}
}

// decision is one step of a receiver's story: the check's level at a
// time, muted or not, and what must happen.
type decision struct {
	at    time.Duration // after t0
	level status.Level
	muted bool
	want  string // "" for nothing, else "send KEY", "suppress KEY", with "repeat" for reminders
}

func TestDecide(t *testing.T) {
	policy := Policy{Instant: true, Repeat: 6 * time.Hour, SendResolved: true}
	cases := []struct {
		name   string
		policy Policy
		steps  []decision
	}{
		{"told once, then not again within the delay", policy, []decision{
			{0, P, false, "send instant/1/1"},
			{time.Minute, P, false, ""},
			{6 * time.Hour, P, false, ""}, // the delay has passed exactly: not yet
			{6*time.Hour + time.Second, P, false, "send instant/1/2 repeat"},
			{12 * time.Hour, P, false, ""},
			{12*time.Hour + 2*time.Second, P, false, "send instant/1/3 repeat"},
		}},
		{"escalation is told at once", policy, []decision{
			{0, W, false, "send instant/1/1"},
			{time.Minute, P, false, "send instant/1/2"},
			{2 * time.Minute, W, false, ""}, // de-escalation: nothing
			{3 * time.Minute, P, false, ""}, // told about problem already
		}},
		{"recovery is told and ends the episode", policy, []decision{
			{0, P, false, "send instant/1/1"},
			{time.Minute, F, false, "send resolved/1"},
			{2 * time.Minute, F, false, ""},
			{3 * time.Minute, W, false, "send instant/2/1"},
		}},
		{"recovery without send_resolved", Policy{Instant: true, Repeat: time.Hour}, []decision{
			{0, P, false, "send instant/1/1"},
			{time.Minute, F, false, ""},
			{2 * time.Minute, P, false, "send instant/2/1"},
		}},
		{"no repeat", Policy{Instant: true, SendResolved: true}, []decision{
			{0, P, false, "send instant/1/1"},
			{100 * time.Hour, P, false, ""},
		}},
		{"muted, then told when the mute ends", policy, []decision{
			{0, P, true, "suppress instant/1/-1"},
			{time.Minute, P, true, ""},
			{2 * time.Minute, P, false, "send instant/1/1"},
			{3 * time.Minute, F, false, "send resolved/1"},
		}},
		{"recovered while muted: nothing to say", policy, []decision{
			{0, P, true, "suppress instant/1/-1"},
			{time.Minute, F, true, ""},
			{2 * time.Minute, F, false, ""},
			{3 * time.Minute, P, false, "send instant/2/1"},
		}},
		{"muted after being told: the recovery is suppressed", policy, []decision{
			{0, P, false, "send instant/1/1"},
			{time.Minute, F, true, "suppress resolved/1"},
			{2 * time.Minute, P, false, "send instant/2/1"},
		}},
		{"an escalation while muted is told when the mute ends", policy, []decision{
			{0, W, false, "send instant/1/1"},
			{time.Minute, P, true, "suppress instant/1/-1"},
			{2 * time.Minute, P, true, ""},
			{3 * time.Minute, P, false, "send instant/1/2"},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var rs ReceiverState
			for i, step := range c.steps {
				var out Outcome
				rs, out = Decide(rs, step.level, c.policy, step.muted, t0.Add(step.at))
				if got := describe(out); got != step.want {
					t.Fatalf("step %d (%s at +%s, muted %v): %q, want %q (state %+v)", i, step.level, step.at, step.muted, got, step.want, rs)
				}
			}
		})
	}
}

func describe(o Outcome) string {
	var s string
	switch o.Action {
	case Nothing:
		return ""
	case Send:
		s = "send " + o.Key
	case Suppress:
		s = "suppress " + o.Key
	}
	if o.Repeat {
		s += " repeat"
	}
	if want := message.Instant; strings.HasPrefix(o.Key, "resolved") {
		want = message.Resolved
		if o.Kind != want {
			return fmt.Sprintf("%s with kind %s", s, o.Kind)
		}
	} else if o.Kind != want {
		return fmt.Sprintf("%s with kind %s", s, o.Kind)
	}
	return s
}

func TestNext(t *testing.T) {
	rule := Rule{FailureThreshold: 2, SuccessThreshold: 1, Notify: Policy{Instant: true, Repeat: 6 * time.Hour, SendResolved: true}}
	prev := State{Receivers: make([]ReceiverState, 2)}
	down := status.Result{Level: P}
	s, ev := Next(prev, down, rule, t0)
	if len(ev) != 0 || s.Check.AtLeast[P] != 1 {
		t.Fatalf("first failure: %+v %+v", s, ev)
	}
	s2, ev := Next(s, down, rule, t0.Add(time.Minute))
	if len(ev) != 3 || ev[0].Kind != LevelChanged || ev[0].From != F || ev[0].To != P ||
		ev[1].Kind != Notify || ev[1].Receiver != 0 || ev[1].Outcome.Key != "instant/1/1" ||
		ev[2].Kind != Notify || ev[2].Receiver != 1 {
		t.Fatalf("second failure: %+v", ev)
	}
	if s.Receivers[0] != (ReceiverState{}) {
		t.Error("Next changed its input's receivers")
	}
	if s2.Receivers[0].Level != P || s2.Receivers[1].Sent != 1 {
		t.Errorf("receivers after the change: %+v", s2.Receivers)
	}
	// Digest-only checks decide nothing here.
	digest := rule
	digest.Notify.Instant = false
	if _, ev := Next(s, down, digest, t0.Add(time.Minute)); len(ev) != 1 || ev[0].Kind != LevelChanged {
		t.Errorf("digest mode: %+v", ev)
	}
}

// The steady state, the common case by far, allocates nothing.
func TestNextSteadyStateAllocatesNothing(t *testing.T) {
	rule := Rule{FailureThreshold: 2, SuccessThreshold: 1, Notify: Policy{Instant: true, Repeat: 6 * time.Hour, SendResolved: true}}
	s := State{Receivers: make([]ReceiverState, 3)}
	up := status.Result{Level: F, Success: true}
	allocs := testing.AllocsPerRun(1000, func() {
		var ev []Event
		s, ev = Next(s, up, rule, t0)
		if len(ev) != 0 {
			t.Fatal(ev)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per result", allocs)
	}
}

func TestServiceStatus(t *testing.T) {
	major := status.MajorOutage
	cases := []struct {
		levels    []status.Level
		onProblem status.ServiceStatus
		manual    *status.ServiceStatus
		alert     status.ServiceStatus
		want      status.ServiceStatus
	}{
		{nil, status.PartialOutage, nil, 0, status.Operational},
		{[]status.Level{F, F}, status.PartialOutage, nil, 0, status.Operational},
		{[]status.Level{F, W}, status.PartialOutage, nil, 0, status.Degraded},
		{[]status.Level{W, P}, status.PartialOutage, nil, 0, status.PartialOutage},
		{[]status.Level{P}, status.MajorOutage, nil, 0, status.MajorOutage},
		{[]status.Level{P}, status.PartialOutage, &major, 0, status.MajorOutage},
		{nil, status.PartialOutage, &major, 0, status.MajorOutage},
		// An alert holds a service at its status, or worse from checks.
		{nil, status.PartialOutage, nil, status.MajorOutage, status.MajorOutage},
		{[]status.Level{F}, status.PartialOutage, nil, status.Degraded, status.Degraded},
		{[]status.Level{P}, status.PartialOutage, nil, status.Degraded, status.PartialOutage},
		{[]status.Level{W}, status.PartialOutage, nil, status.PartialOutage, status.PartialOutage},
		// The operator's word wins over an alert too.
		{nil, status.PartialOutage, &major, status.Degraded, status.MajorOutage},
	}
	for _, c := range cases {
		if got := ServiceStatus(c.levels, c.onProblem, c.manual, c.alert); got != c.want {
			t.Errorf("ServiceStatus(%v, %s, %v, %s) = %s, want %s", c.levels, c.onProblem, c.manual, c.alert, got, c.want)
		}
	}
}
