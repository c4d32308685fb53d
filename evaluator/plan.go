package evaluator

import (
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/exposition"
	"github.com/statusd/statusd/internal/message"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
)

// checkEntry is one check as the evaluator follows it.
type checkEntry struct {
	id          status.CheckID
	description string
	link        string
	rule        Rule
	// receivers are told about the check, in state.Receivers' order;
	// digest lists them in digests.
	receivers []string
	digest    bool
	state     State
	last      status.Result
	seen      bool
	services  []*serviceEntry
	// dirty is set when the state changed since it was last stored.
	dirty bool
	// level is the evaluated level for /metrics, -1 before any.
	level atomic.Int32
	// labels are its metric labels, rendered.
	labels exposition.Labels
}

// muted tells whether a maintenance window covers one of the check's
// services.
func (c *checkEntry) muted() bool {
	for _, s := range c.services {
		if s.maintenance {
			return true
		}
	}
	return false
}

// serviceEntry is one service as the evaluator follows it.
type serviceEntry struct {
	name, group  string
	link         string
	checks       []*checkEntry
	onProblem    status.ServiceStatus
	autoIncident bool
	receivers    []string
	// status and maintenance are what the store holds; manual is the
	// operator's status, when set.
	status status.ServiceStatus
	manual *status.ServiceStatus
	// alert is the worst status the service's firing alerts give it.
	alert       status.ServiceStatus
	maintenance bool
	known       bool // read from the store at least once
}

// computed is the service's status from its checks (or the operator).
func (s *serviceEntry) computed(levels []status.Level) status.ServiceStatus {
	levels = levels[:0]
	for _, c := range s.checks {
		levels = append(levels, c.state.Check.Level)
	}
	return ServiceStatus(levels, s.onProblem, s.manual, s.alert)
}

// plan is a config as the evaluator uses it.
type plan struct {
	site      message.Site
	base      string // external URL for links, without a trailing slash
	receivers config.Receivers
	digest    config.Digest
	// noteEvery is how often, at most, statusd notes in an operator's
	// incident.
	noteEvery time.Duration
	// templates are the config's incident templates.
	templates config.Incidents
	checks    map[status.CheckID]*checkEntry
	order     []*checkEntry // config order
	services  map[string]*serviceEntry
	// subs are the config's subscriptions.
	subs subscriptions
	// groupSpecs and serviceSpecs are the config's, for the store.
	groupSpecs   []store.GroupSpec
	serviceSpecs []store.ServiceSpec
}

// newPlan builds the evaluator's view of a config, keeping the state of
// the checks and services of prev that stay.
func newPlan(cfg *config.Config, external *url.URL, prev *plan) *plan {
	p := &plan{
		site:      message.Site{Name: cfg.Site.Name, URL: cfg.Site.URL},
		receivers: cfg.Receivers,
		digest:    cfg.Digest,
		noteEvery: time.Duration(cfg.Incidents.NoteInterval),
		templates: cfg.Incidents,
		checks:    map[status.CheckID]*checkEntry{},
		services:  map[string]*serviceEntry{},
		subs: subscriptions{email: cfg.SubscribeEmail(), webhook: cfg.SubscribeWebhook(),
			confirmWithin: time.Duration(cfg.Subscriptions.ConfirmWithin)},
	}
	switch {
	case external != nil:
		p.base = strings.TrimSuffix(external.String(), "/")
	case cfg.Site.URL != "":
		p.base = strings.TrimSuffix(cfg.Site.URL, "/")
	}
	cfg.Each(func(resource string, ch *config.Check) {
		id := ch.ID(resource)
		e := &checkEntry{
			id:          id,
			description: ch.Description,
			link:        ch.Link,
			rule:        Rule{FailureThreshold: ch.FailureThreshold, SuccessThreshold: ch.SuccessThreshold},
		}
		if n := ch.Notify; n != nil && n.Mode != config.NotifyNone {
			e.receivers = n.Receivers
			e.digest = true
			e.rule.Notify = Policy{Instant: n.Mode == config.NotifyInstant, Repeat: time.Duration(n.Repeat), SendResolved: n.Resolved()}
		}
		e.labels = exposition.NewLabels("check", id.Check, "resource", id.Resource)
		e.state.Receivers = make([]ReceiverState, len(e.receivers))
		e.level.Store(-1)
		if old := prev.check(id); old != nil {
			e.level.Store(old.level.Load())
			e.state.Check, e.last, e.seen = old.state.Check, old.last, old.seen
			for i, r := range e.receivers {
				if j := indexOf(old.receivers, r); j >= 0 {
					e.state.Receivers[i] = old.state.Receivers[j]
				}
			}
		}
		if e.link == "" && p.base != "" {
			e.link = p.base + "/checks#" + id.String()
		}
		p.checks[id] = e
		p.order = append(p.order, e)
	})
	for _, g := range cfg.Groups {
		p.groupSpecs = append(p.groupSpecs, store.GroupSpec{Name: g.Name, Priority: g.Priority, Collapse: g.Collapse})
	}
	for i := range cfg.Services {
		sc := &cfg.Services[i]
		p.serviceSpecs = append(p.serviceSpecs, store.ServiceSpec{
			Name: sc.Name, Group: sc.Group, Description: sc.Description, Link: sc.Link, Priority: sc.Priority,
			Checks: sc.CheckIDs(), OnProblem: sc.ProblemStatus(), AutoIncident: sc.AutoIncident,
		})
		s := &serviceEntry{
			name:         sc.Name,
			group:        sc.Group,
			link:         sc.Link,
			onProblem:    sc.ProblemStatus(),
			autoIncident: sc.AutoIncident,
		}
		if sc.Notify != nil {
			s.receivers = sc.Notify.Receivers
		}
		if old := prev.service(sc.Name); old != nil {
			s.status, s.manual, s.maintenance, s.known = old.status, old.manual, old.maintenance, old.known
		}
		for _, id := range sc.CheckIDs() {
			c := p.checks[id]
			s.checks = append(s.checks, c)
			c.services = append(c.services, s)
		}
		p.services[sc.Name] = s
	}
	return p
}

func (p *plan) check(id status.CheckID) *checkEntry {
	if p == nil {
		return nil
	}
	return p.checks[id]
}

func (p *plan) service(name string) *serviceEntry {
	if p == nil {
		return nil
	}
	return p.services[name]
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}
