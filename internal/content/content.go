// Package content is what operators write on the status page —
// incidents with their updates, services' statuses set by hand,
// maintenance windows — as the admin, the API and the command line hand it
// to the evaluator, which writes it. Each input validates itself, so the
// three say the same thing about the same mistake.
package content

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
)

// Bounds of what an operator writes.
const (
	MaxTitle   = 200
	MaxMessage = 20000
	MaxReason  = 500
)

// FieldErrors are the mistakes of an input, by field name (the API's JSON
// names).
type FieldErrors map[string]string

func (f FieldErrors) Error() string {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + f[k]
	}
	return strings.Join(parts, "; ")
}

// err returns f as an error, nil when it is empty.
func (f FieldErrors) err() error {
	if len(f) == 0 {
		return nil
	}
	return f
}

// ServiceImpact names a service an incident affects, with the status the
// incident sets on it (nil: none; the service keeps the status its checks
// give).
type ServiceImpact struct {
	Name   string
	Status *status.ServiceStatus
}

// NewIncident opens an incident with its first update.
type NewIncident struct {
	// Template names a config template (incidents.templates) whose
	// fields fill those left empty.
	Template string
	Title    string
	Impact   string // default none
	State    string // default investigating
	Message  string // default: the state's default message
	// Occurred dates the incident back (zero: now); never in the future.
	Occurred time.Time
	Services []ServiceImpact
}

// Validate checks the input against now and fills its defaults.
func (n *NewIncident) Validate(now time.Time) error {
	f := FieldErrors{}
	checkText(f, "title", n.Title, MaxTitle, true)
	if n.Impact == "" {
		n.Impact = store.ImpactNone
	}
	checkEnum(f, "impact", n.Impact, store.Impacts)
	if n.State == "" {
		n.State = store.Investigating
	}
	checkEnum(f, "state", n.State, store.IncidentStates)
	checkText(f, "message", n.Message, MaxMessage, false)
	if n.Message == "" {
		n.Message = DefaultMessage(n.State)
	}
	if n.Occurred.After(now) {
		f["occurred"] = "is in the future"
	}
	checkServices(f, n.Services)
	return f.err()
}

// IncidentChange edits an incident; nil fields stay.
type IncidentChange struct {
	Title    *string
	Impact   *string
	Occurred *time.Time
	// Services, when not nil, replace the incident's services.
	Services *[]ServiceImpact
}

// Validate checks the change.
func (c *IncidentChange) Validate(now time.Time) error {
	f := FieldErrors{}
	if c.Title != nil {
		checkText(f, "title", *c.Title, MaxTitle, true)
	}
	if c.Impact != nil {
		checkEnum(f, "impact", *c.Impact, store.Impacts)
	}
	if c.Occurred != nil && c.Occurred.After(now) {
		f["occurred"] = "is in the future"
	}
	if c.Services != nil {
		checkServices(f, *c.Services)
	}
	if c.Title == nil && c.Impact == nil && c.Occurred == nil && c.Services == nil {
		f["body"] = "changes nothing: give title, impact, occurred or services"
	}
	return f.err()
}

// IncidentUpdate is an operator's update of an incident.
type IncidentUpdate struct {
	// Template names a config template whose state and message fill
	// those left empty.
	Template string
	State    string
	Message  string // default: the state's default message
	// Services set statuses on services (added to the incident when it
	// did not name them).
	Services []ServiceImpact
}

// Validate checks the update and fills its defaults.
func (u *IncidentUpdate) Validate() error {
	f := FieldErrors{}
	if u.State == "" {
		f["state"] = "is required"
	} else {
		checkEnum(f, "state", u.State, store.IncidentStates)
	}
	checkText(f, "message", u.Message, MaxMessage, false)
	if u.Message == "" {
		u.Message = DefaultMessage(u.State)
	}
	checkServices(f, u.Services)
	return f.err()
}

// ManualStatus sets (Status != nil) or clears a service's status by hand.
type ManualStatus struct {
	Service string
	Status  *status.ServiceStatus
	Reason  string
}

// Validate checks the input.
func (m *ManualStatus) Validate() error {
	f := FieldErrors{}
	checkText(f, "reason", m.Reason, MaxReason, false)
	return f.err()
}

// Maintenance schedules a maintenance window.
type Maintenance struct {
	Title       string
	Description string
	Start       time.Time
	End         *time.Time // nil: until cancelled
	Services    []string
}

// Validate checks the window.
func (m *Maintenance) Validate() error {
	f := FieldErrors{}
	checkText(f, "title", m.Title, MaxTitle, true)
	checkText(f, "description", m.Description, MaxMessage, false)
	if m.Start.IsZero() {
		f["start"] = "is required"
	}
	if m.End != nil && !m.End.After(m.Start) {
		f["end"] = "is not after start"
	}
	checkNames(f, "services", m.Services)
	return f.err()
}

// MaintenanceChange edits a maintenance window; nil fields stay.
type MaintenanceChange struct {
	Title       *string
	Description *string
	Start       *time.Time
	End         *time.Time
	// NoEnd removes the end: the window lasts until cancelled.
	NoEnd    bool
	Services *[]string
}

// Validate checks the change against the window as stored.
func (c *MaintenanceChange) Validate(start time.Time, end *time.Time) error {
	f := FieldErrors{}
	if c.Title != nil {
		checkText(f, "title", *c.Title, MaxTitle, true)
	}
	if c.Description != nil {
		checkText(f, "description", *c.Description, MaxMessage, false)
	}
	if c.Start != nil {
		start = *c.Start
	}
	if c.End != nil {
		end = c.End
	}
	if c.NoEnd {
		end = nil
	}
	if end != nil && !end.After(start) {
		f["end"] = "is not after start"
	}
	if c.Services != nil {
		checkNames(f, "services", *c.Services)
	}
	return f.err()
}

// Fill fills the fields of an incident left empty from a template.
func (n *NewIncident) Fill(t config.IncidentTemplate) {
	fill(&n.Title, t.Title)
	fill(&n.Impact, t.Impact)
	fill(&n.State, t.State)
	fill(&n.Message, t.Message)
}

// Fill fills the fields of an update left empty from a template.
func (u *IncidentUpdate) Fill(t config.IncidentTemplate) {
	fill(&u.State, t.State)
	fill(&u.Message, t.Message)
}

func fill(dst *string, v string) {
	if *dst == "" {
		*dst = v
	}
}

// Service is a service an operator makes (the config's are the
// config's): its status comes from incidents and from statuses set by
// hand.
type Service struct {
	Name        string
	Group       string
	Description string
	Link        string
	Priority    int
}

// Validate checks the service.
func (s *Service) Validate() error {
	f := FieldErrors{}
	checkName(f, "name", s.Name)
	checkText(f, "description", s.Description, MaxMessage, false)
	checkLink(f, "link", s.Link)
	return f.err()
}

// ServiceChange edits a service an operator made; nil fields stay (Group
// "" takes it out of its group).
type ServiceChange struct {
	Group       *string
	Description *string
	Link        *string
	Priority    *int
}

// Validate checks the change.
func (c *ServiceChange) Validate() error {
	f := FieldErrors{}
	if c.Description != nil {
		checkText(f, "description", *c.Description, MaxMessage, false)
	}
	if c.Link != nil {
		checkLink(f, "link", *c.Link)
	}
	if c.Group == nil && c.Description == nil && c.Link == nil && c.Priority == nil {
		f["body"] = "changes nothing: give group, description, link or priority"
	}
	return f.err()
}

// Collapses are how a group folds on the page.
var Collapses = []string{"never", "always", "when_operational"}

// Group is a group of services an operator makes.
type Group struct {
	Name     string
	Priority int
	Collapse string // default never
}

// Validate checks the group and fills its defaults.
func (g *Group) Validate() error {
	f := FieldErrors{}
	checkName(f, "name", g.Name)
	if g.Collapse == "" {
		g.Collapse = "never"
	}
	checkEnum(f, "collapse", g.Collapse, Collapses)
	return f.err()
}

// GroupChange edits a group an operator made; nil fields stay.
type GroupChange struct {
	Priority *int
	Collapse *string
}

// Validate checks the change.
func (c *GroupChange) Validate() error {
	f := FieldErrors{}
	if c.Collapse != nil {
		checkEnum(f, "collapse", *c.Collapse, Collapses)
	}
	if c.Priority == nil && c.Collapse == nil {
		f["body"] = "changes nothing: give priority or collapse"
	}
	return f.err()
}

// checkName checks a service's or group's name: what visitors read, on
// one line.
func checkName(f FieldErrors, field, v string) {
	checkText(f, field, v, MaxTitle, true)
	if strings.ContainsAny(v, "\r\n\t/") || strings.TrimSpace(v) != v {
		f[field] = "has a line break, a tab, a slash or spaces around it"
	}
}

// checkLink accepts an http(s) address or nothing.
func checkLink(f FieldErrors, field, v string) {
	if v == "" {
		return
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		f[field] = "is not an http(s) address"
	}
}

// Downtime is a period of downtime mode: a site's down page, its
// services in maintenance and their notifications held.
type Downtime struct {
	// Start is when it begins; nil is now.
	Start *time.Time
	// End is when it ends; nil is when it is ended (`downtime end`).
	End      *time.Time
	Reason   string
	Services []string
}

// Validate checks the period against now and fills its start.
func (d *Downtime) Validate(now time.Time) error {
	f := FieldErrors{}
	if d.Start == nil {
		d.Start = &now
	}
	checkText(f, "reason", d.Reason, MaxReason, false)
	switch {
	case d.End != nil && !d.End.After(*d.Start):
		f["end"] = "is not after start"
	case d.End != nil && !d.End.After(now):
		f["end"] = "is in the past: the period would never apply"
	}
	checkNames(f, "services", d.Services)
	return f.err()
}

// DefaultMessage is the text of an update written without one.
func DefaultMessage(state string) string {
	return map[string]string{
		store.Investigating: "We are investigating this issue.",
		store.Identified:    "The cause has been identified.",
		store.Monitoring:    "A fix is in place; we are monitoring the results.",
		store.Resolved:      "This incident has been resolved.",
	}[state]
}

func checkText(f FieldErrors, field, v string, limit int, required bool) {
	switch {
	case required && strings.TrimSpace(v) == "":
		f[field] = "is required"
	case !utf8.ValidString(v):
		f[field] = "is not valid UTF-8"
	case utf8.RuneCountInString(v) > limit:
		f[field] = fmt.Sprintf("is longer than %d characters", limit)
	}
}

func checkEnum(f FieldErrors, field, v string, allowed []string) {
	if !slices.Contains(allowed, v) {
		f[field] = fmt.Sprintf("%q is not one of %s", v, strings.Join(allowed, ", "))
	}
}

func checkServices(f FieldErrors, services []ServiceImpact) {
	names := make([]string, len(services))
	for i, s := range services {
		names[i] = s.Name
	}
	checkNames(f, "services", names)
}

func checkNames(f FieldErrors, field string, names []string) {
	seen := map[string]bool{}
	for _, n := range names {
		switch {
		case strings.TrimSpace(n) == "":
			f[field] = "has an empty service name"
		case seen[n]:
			f[field] = fmt.Sprintf("names %q twice", n)
		}
		seen[n] = true
	}
}

// Operator writes what operators write, each change with its audit entry
// (the evaluator), and reads the audit log; the admin and the API write
// through it.
type Operator interface {
	SetManual(ctx context.Context, who store.Actor, in ManualStatus) (from, to status.ServiceStatus, err error)
	OpenIncident(ctx context.Context, who store.Actor, in NewIncident) (*store.Incident, error)
	EditIncident(ctx context.Context, who store.Actor, id int64, c IncidentChange) (*store.Incident, error)
	UpdateIncident(ctx context.Context, who store.Actor, id int64, u IncidentUpdate) (*store.Incident, error)
	DeleteIncident(ctx context.Context, who store.Actor, id int64) error
	AddMaintenance(ctx context.Context, who store.Actor, m Maintenance) (*store.Maintenance, error)
	EditMaintenance(ctx context.Context, who store.Actor, id int64, c MaintenanceChange) (*store.Maintenance, error)
	CancelMaintenance(ctx context.Context, who store.Actor, id int64) error
	AddService(ctx context.Context, who store.Actor, s Service) error
	EditService(ctx context.Context, who store.Actor, name string, c ServiceChange) error
	DeleteService(ctx context.Context, who store.Actor, name string) error
	AddGroup(ctx context.Context, who store.Actor, g Group) error
	EditGroup(ctx context.Context, who store.Actor, name string, c GroupChange) error
	DeleteGroup(ctx context.Context, who store.Actor, name string) error
	StartDowntime(ctx context.Context, who store.Actor, d Downtime) (int64, error)
	EndDowntime(ctx context.Context, who store.Actor) ([]int64, error)
	CancelDowntime(ctx context.Context, who store.Actor, id int64) error
	// Templates are the config's incident templates.
	Templates() []config.IncidentTemplate
	// Audit reads the recorded writes, newest first.
	Audit(ctx context.Context, q store.AuditQuery) ([]store.AuditEntry, error)
}
