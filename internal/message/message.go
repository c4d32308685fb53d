// Package message is the shape of a notification: what the evaluator
// writes into the outbox and every integration of the notifier reads (a
// webhook receives it as is). It is versioned: fields are only added
// within a version.
package message

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/statusd/statusd/internal/status"
)

// Version is the version of Message this statusd writes.
const Version = 1

// Kind is what a notification is about.
type Kind string

// The kinds of notification (the outbox's kind column).
const (
	// Instant tells that checks left fine, escalated or are still bad.
	Instant Kind = "instant"
	// Resolved tells that checks are fine again.
	Resolved Kind = "resolved"
	// Digest lists a receiver's checks at problem and warning, and the
	// open incidents.
	Digest Kind = "digest"
	// StatusChange tells that a service's status changed.
	StatusChange Kind = "status_change"
	// Test checks that a receiver works.
	Test Kind = "test"
	// Confirm asks a visitor to confirm a subscription.
	Confirm Kind = "confirm"
	// IncidentNews tells subscribers an incident was opened, updated or
	// resolved.
	IncidentNews Kind = "incident"
	// MaintenanceNews tells subscribers maintenance was scheduled,
	// started or finished.
	MaintenanceNews Kind = "maintenance"
)

// Message is one notification to one receiver.
type Message struct {
	Version  int       `json:"version"`
	Kind     Kind      `json:"kind"`
	Receiver string    `json:"receiver"`
	Site     Site      `json:"site"`
	Time     time.Time `json:"time"`
	// Checks are the checks the message is about: one for an instant or
	// resolved notification (more when grouped), every bad one of the
	// receiver's for a digest, worst first.
	Checks []Check `json:"checks,omitempty"`
	// Service is the change of a status_change message.
	Service *ServiceChange `json:"service,omitempty"`
	// Incidents are the open incidents, in a digest.
	Incidents []Incident `json:"incidents,omitempty"`
	// News is what a subscriber is told (incident or maintenance).
	News *News `json:"news,omitempty"`
	// Confirmation is a confirm message's link token and expiry; it is
	// in the outbox only until sent.
	Confirmation *Confirmation `json:"confirmation,omitempty"`
	// Subscription is, for a visitor's subscription, the links that let
	// them leave; the notifier fills it when it sends.
	Subscription *Subscription `json:"subscription,omitempty"`
}

// What news tells of an incident or a maintenance window.
const (
	Opened    = "opened"
	Updated   = "updated"
	Closed    = "resolved"
	Scheduled = "scheduled"
	Started   = "started"
	Finished  = "finished"
)

// News is an incident's or a maintenance window's news for subscribers.
type News struct {
	// What happened: opened, updated, resolved (incidents); scheduled,
	// started, finished (maintenance).
	What  string `json:"what"`
	ID    int64  `json:"id"`
	Title string `json:"title"`
	// State is the incident's state after the update; Impact its impact.
	State  string `json:"state,omitempty"`
	Impact string `json:"impact,omitempty"`
	// Message is the update's text (Markdown), or the window's
	// description.
	Message  string     `json:"message,omitempty"`
	Services []string   `json:"services,omitempty"`
	Start    *time.Time `json:"start,omitempty"`
	End      *time.Time `json:"end,omitempty"`
	// Path is the page that tells more, under the status page's root
	// ("incidents/12", "" for the page itself).
	Path string `json:"path"`
}

// Confirmation is a subscription's confirmation link.
type Confirmation struct {
	Token   string    `json:"token"`
	Expires time.Time `json:"expires"`
	// Address is where the subscription goes (an e-mail address or a
	// webhook URL).
	Address string `json:"address"`
	// URL is the link to open, filled when sent.
	URL string `json:"url,omitempty"`
}

// Subscription is how a subscriber leaves.
type Subscription struct {
	Language string `json:"language"`
	// Unsubscribe is the one-click link (RFC 8058).
	Unsubscribe string `json:"unsubscribe"`
}

// Site is the watched site.
type Site struct {
	Name string `json:"name"`
	URL  string `json:"url,omitempty"`
}

// Check is the state of a check a message reports.
type Check struct {
	// ID is resource/check.
	ID          string `json:"id"`
	Description string `json:"description,omitempty"`
	// Level is the evaluated level; Previous the one before the change
	// that caused the message.
	Level    status.Level `json:"level"`
	Previous status.Level `json:"previous"`
	// Since is when the check entered Level.
	Since   time.Time `json:"since"`
	Message string    `json:"message"`
	Value   *float64  `json:"value,omitempty"`
	// Repeat is set when the message repeats an earlier one.
	Repeat bool `json:"repeat,omitempty"`
	// Link points at the check (its link option, or statusd's page).
	Link string `json:"link,omitempty"`
	// DownSince is, for a check that is fine again, when it left fine
	// (when known): a recovery says how long the check was down.
	DownSince *time.Time `json:"down_since,omitempty"`
	// Collapsed is set on a recovery whose problem was never told to the
	// receiver: the check failed and recovered before the problem went
	// out (within the group wait, or while its delivery was retried), so
	// the notifier composed both into this one line.
	Collapsed bool `json:"collapsed,omitempty"`
}

// Downtime says how long a check that is fine again was down, e.g.
// "down from 12:00 to 12:06 UTC, 6m0s"; "" when it is not fine, or when
// nobody knows.
func (c Check) Downtime() string {
	if c.Level != status.Fine || c.DownSince == nil || c.Since.IsZero() || c.Since.Before(*c.DownSince) {
		return ""
	}
	from, to := c.DownSince.UTC(), c.Since.UTC()
	return fmt.Sprintf("down from %s to %s, %s", from.Format("15:04:05"), to.Format("15:04:05 MST"), to.Sub(from).Round(time.Second))
}

// ServiceChange is a service's change of status.
type ServiceChange struct {
	Name  string               `json:"name"`
	Group string               `json:"group,omitempty"`
	From  status.ServiceStatus `json:"from"`
	To    status.ServiceStatus `json:"to"`
	// At is when the first change of a collapsed series happened.
	At    time.Time `json:"at"`
	Cause string    `json:"cause"`
	Link  string    `json:"link,omitempty"`
	// Meanwhile are the changes a maintenance window kept from the
	// receiver, when it ended: From is then what the receiver was last
	// told, To the status now.
	Meanwhile []Step `json:"meanwhile,omitempty"`
}

// Step is one change of a service's status.
type Step struct {
	From status.ServiceStatus `json:"from"`
	To   status.ServiceStatus `json:"to"`
	At   time.Time            `json:"at"`
}

// During tells in one line what changed during the maintenance window
// that kept it from the receiver ("" when nothing did).
func (s *ServiceChange) During() string {
	if len(s.Meanwhile) == 0 {
		return ""
	}
	steps := make([]string, len(s.Meanwhile))
	for i, st := range s.Meanwhile {
		steps[i] = fmt.Sprintf("%s → %s at %s", strings.ToLower(st.From.Label()), strings.ToLower(st.To.Label()), st.At.UTC().Format("15:04 MST"))
	}
	return "During maintenance: " + strings.Join(steps, "; ") + "."
}

// Incident is an open incident, in a digest.
type Incident struct {
	ID       int64     `json:"id"`
	Title    string    `json:"title"`
	State    string    `json:"state"`
	Occurred time.Time `json:"occurred"`
	Services []string  `json:"services,omitempty"`
	Link     string    `json:"link,omitempty"`
}

// TemplateFuncs are what an operator's template of a message may call
// besides Go's built-ins: json (a value as JSON, for a JSON body), label
// (a service status as people read it), subject (the message in one line,
// Summary), num (a value as a number) and problems, warnings and fine
// (the checks at that level).
func TemplateFuncs() map[string]any {
	return map[string]any{
		"json": func(v any) (string, error) {
			b, err := json.Marshal(v)
			return string(b), err
		},
		"label":    func(s status.ServiceStatus) string { return strings.ToLower(s.Label()) },
		"subject":  (*Message).Summary,
		"num":      func(v *float64) string { return strconv.FormatFloat(*v, 'g', -1, 64) },
		"problems": func(cs []Check) []Check { return withLevel(cs, status.Problem) },
		"warnings": func(cs []Check) []Check { return withLevel(cs, status.Warning) },
		"fine":     func(cs []Check) []Check { return withLevel(cs, status.Fine) },
	}
}

func withLevel(cs []Check, l status.Level) []Check {
	var out []Check
	for _, c := range cs {
		if c.Level == l {
			out = append(out, c)
		}
	}
	return out
}

// SplitSubject splits a rendered mail text into its subject, from the
// first line "SUBJECT: …" (django_status's convention), and its body.
func SplitSubject(text string) (subject, body string, err error) {
	first, rest, _ := strings.Cut(text, "\n")
	s, ok := strings.CutPrefix(first, "SUBJECT:")
	if !ok {
		return "", "", errors.New(`the first line must be "SUBJECT: …", the mail's subject`)
	}
	return strings.TrimSpace(s), strings.TrimLeft(rest, "\n"), nil
}

// Summary is the message in one line, without the site's name: an
// e-mail's subject, a webhook template's subject.
func (m *Message) Summary() string {
	switch {
	case m.Service != nil:
		return fmt.Sprintf("%s: %s → %s", m.Service.Name, strings.ToLower(m.Service.From.Label()), strings.ToLower(m.Service.To.Label()))
	case m.Kind == Digest:
		var problems, warnings int
		for _, c := range m.Checks {
			switch c.Level {
			case status.Problem:
				problems++
			case status.Warning:
				warnings++
			}
		}
		return fmt.Sprintf("digest: %d at problem, %d at warning, %d open incidents", problems, warnings, len(m.Incidents))
	case m.Kind == Test:
		return "test notification for " + m.Receiver
	case len(m.Checks) == 1:
		c := m.Checks[0]
		if c.Level == status.Fine {
			return c.ID + " is fine again"
		}
		return fmt.Sprintf("%s is at %s", c.ID, c.Level)
	}
	return fmt.Sprintf("%d checks: %s", len(m.Checks), m.Tally())
}

// Tally counts a message's checks by level, worst first, as the state
// is now: "1 at problem, 2 fine again".
func (m *Message) Tally() string {
	var n [3]int
	for _, c := range m.Checks {
		if c.Level >= status.Fine && c.Level <= status.Problem {
			n[c.Level]++
		}
	}
	var parts []string
	for _, l := range []status.Level{status.Problem, status.Warning} {
		if n[l] > 0 {
			parts = append(parts, fmt.Sprintf("%d at %s", n[l], l))
		}
	}
	if n[status.Fine] > 0 {
		parts = append(parts, fmt.Sprintf("%d fine again", n[status.Fine]))
	}
	return strings.Join(parts, ", ")
}

// Worst is the worst level among the message's checks.
func (m *Message) Worst() status.Level {
	w := status.Fine
	for _, c := range m.Checks {
		w = status.Worst(w, c.Level)
	}
	return w
}
