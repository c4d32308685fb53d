// Package board keeps what the status page and the read API show in
// memory: services and groups with their status, incidents, maintenance
// windows. A snapshot is rebuilt from the store when something changed —
// told by the evaluator, or seen in the store's board version, which every
// write bumps (the command line, another statusd) — never per request.
package board

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
)

// Board is one snapshot of what the status page shows. It is never
// modified once built.
type Board struct {
	Version int64
	Built   time.Time
	Groups  []Group
	// Services are all services, by priority (highest first) then name.
	Services []*Service
	// Ungrouped are the services with no group, in the same order.
	Ungrouped []*Service
	// Incidents are the most recent incidents, newest first, and every
	// open one.
	Incidents []store.Incident
	// MaxIncidentID is the largest incident id in the store when the board
	// was built (0: none): no incident has a larger one until a rebuild.
	MaxIncidentID int64
	// Maintenances are the windows that have not ended, soonest first.
	Maintenances []store.Maintenance
	// Downtime are the enabled downtime periods that have not ended.
	Downtime []store.DowntimePeriod

	byName map[string]*Service
}

// Group is a group of services, in order.
type Group struct {
	Name     string
	Priority int
	Collapse string
	// Source is config or admin (made from the admin or the API).
	Source   string
	Services []*Service
}

// Worst is the worst status of the group's services, operational when it
// has none.
func (g *Group) Worst() status.ServiceStatus {
	worst := status.Operational
	for _, s := range g.Services {
		worst = max(worst, s.Status)
	}
	return worst
}

// Collapsed tells whether the page folds the group: collapse always, or
// when_operational while every service is (an empty group counts as
// operational, as django-statusboard has it).
func (g *Group) Collapsed() bool {
	return g.Collapse == "always" || (g.Collapse == "when_operational" && g.Worst() == status.Operational)
}

// Service is a service on the board.
type Service struct {
	Name        string
	Group       string
	Description string
	Link        string
	Priority    int
	Status      status.ServiceStatus
	Maintenance bool
	// Manual is set while an operator's status overrides the checks.
	Manual       bool
	ManualReason string
	// Since is when the status last changed.
	Since time.Time
	// Created is when the service was first stored.
	Created time.Time
	// Source is config or admin (made from the admin or the API).
	Source string
	Checks []status.CheckID
	// History is the latest changes, newest first.
	History []store.StatusChange
}

// Worst is the worst status of all services; ok is false when there are
// none (the page then shows no banner and the default favicon).
func (b *Board) Worst() (worst status.ServiceStatus, ok bool) {
	for _, s := range b.Services {
		worst, ok = max(worst, s.Status), true
	}
	return worst, ok
}

// Service returns a service by name.
func (b *Board) Service(name string) (*Service, bool) {
	s, ok := b.byName[name]
	return s, ok
}

// OpenIncidents counts the incidents not closed.
func (b *Board) OpenIncidents() int {
	n := 0
	for _, inc := range b.Incidents {
		if !inc.Closed {
			n++
		}
	}
	return n
}

// Incident returns an incident of the board by id.
func (b *Board) Incident(id int64) (*store.Incident, bool) {
	for i := range b.Incidents {
		if b.Incidents[i].ID == id {
			return &b.Incidents[i], true
		}
	}
	return nil, false
}

// Limits of what a snapshot holds; the read API goes to the store past
// them.
const (
	// RecentIncidents is how many closed incidents a snapshot holds.
	RecentIncidents = 500
	// HistoryLength is how many changes of each service it holds.
	HistoryLength = 100
)

// Options configure a Cache.
type Options struct {
	Store  *store.Store
	Logger *slog.Logger
	Clock  clockwork.Clock
	// PollInterval is how often the store's board version is read
	// (default 3s): changes made elsewhere show within it. (This
	// statusd's own changes rebuild the board at once.)
	PollInterval time.Duration
	// Registerer receives the board's metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// Overlay gives the services' statuses decided and not yet in the
	// store (the evaluator's, while the database is away), which the
	// board shows over the store's; nil has none.
	Overlay func() map[string]Override
}

// Override is a service's status decided and not yet in the store.
type Override struct {
	Status      status.ServiceStatus
	Maintenance bool
	Since       time.Time
}

// Cache holds the current board and rebuilds it when it changes.
type Cache struct {
	opts    Options
	current atomic.Pointer[Board]
	// base is the last board read from the store, before the overlay.
	base *Board
	// dirty asks the loop for a rebuild.
	dirty chan struct{}
	// mu serialises rebuilds.
	mu sync.Mutex
	// subscribers are told after each rebuild.
	subMu       sync.Mutex
	subscribers []func(*Board)
}

// New returns a cache with an empty board; Run fills it.
func New(opts Options) *Cache {
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = 3 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Cache{opts: opts, dirty: make(chan struct{}, 1)}
	c.current.Store(&Board{byName: map[string]*Service{}})
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(&collector{c})
	}
	return c
}

// Board returns the current snapshot.
func (c *Cache) Board() *Board { return c.current.Load() }

// Subscribe calls fn with every new board (e.g. to render pages).
func (c *Cache) Subscribe(fn func(*Board)) {
	c.subMu.Lock()
	defer c.subMu.Unlock()
	c.subscribers = append(c.subscribers, fn)
}

// Invalidate asks for a rebuild soon; it never blocks.
func (c *Cache) Invalidate() {
	select {
	case c.dirty <- struct{}{}:
	default:
	}
}

// Run rebuilds the board when told or when the store's version moves,
// until ctx ends. ready, when not nil, holds it until the store is ready.
func (c *Cache) Run(ctx context.Context, ready <-chan struct{}) {
	if ready != nil {
		select {
		case <-ready:
		case <-ctx.Done():
			return
		}
	}
	if err := c.Refresh(ctx); err != nil {
		c.opts.Logger.Warn("Cannot read the status page's state", "err", err)
	}
	tick := c.opts.Clock.NewTicker(c.opts.PollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.dirty:
		case <-tick.Chan():
			v, err := c.opts.Store.BoardVersion(ctx)
			if err != nil || v == c.Board().Version {
				// Windows start and end by the clock alone: rebuild when
				// one of them crosses now.
				if !c.Board().windowCrossed(c.opts.Clock.Now()) {
					continue
				}
			}
		}
		if err := c.Refresh(ctx); err != nil && ctx.Err() == nil {
			c.opts.Logger.Debug("Cannot refresh the status page's state", "err", err)
		}
	}
}

// windowCrossed tells whether a maintenance window or a downtime period
// started or ended between the board's build and now.
func (b *Board) windowCrossed(now time.Time) bool {
	for _, m := range b.Maintenances {
		if m.Active(b.Built) != m.Active(now) {
			return true
		}
	}
	for _, p := range b.Downtime {
		if p.Active(b.Built) != p.Active(now) {
			return true
		}
	}
	return false
}

// DowntimeActive tells whether downtime mode is on at now.
func (b *Board) DowntimeActive(now time.Time) bool {
	for _, p := range b.Downtime {
		if p.Active(now) {
			return true
		}
	}
	return false
}

// Refresh rebuilds the board from the store now, with the overlay's
// statuses over the store's. When the store does not answer, the last
// board read from it is shown with the overlay: the page follows the
// checks while the database is away.
func (c *Cache) Refresh(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.opts.Clock.Now()
	// A database that does not answer (a host gone, not a refusal) must
	// not hold the board, which the overlay still updates.
	bctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	b, err := build(bctx, c.opts.Store, now)
	if err == nil {
		c.base = b
	} else if c.base == nil || c.opts.Overlay == nil {
		return err
	}
	b = c.base
	if c.opts.Overlay != nil {
		if o := c.opts.Overlay(); len(o) > 0 {
			b = b.with(o)
		}
	}
	if b == c.current.Load() {
		return err
	}
	c.current.Store(b)
	c.subMu.Lock()
	subs := slices.Clone(c.subscribers)
	c.subMu.Unlock()
	for _, fn := range subs {
		fn(b)
	}
	return err
}

// with is a copy of the board with some services' statuses overridden.
func (b *Board) with(o map[string]Override) *Board {
	nb := *b
	nb.byName = make(map[string]*Service, len(b.byName))
	nb.Services = make([]*Service, len(b.Services))
	for i, s := range b.Services {
		if ov, ok := o[s.Name]; ok && (ov.Status != s.Status || ov.Maintenance != s.Maintenance) {
			cp := *s
			cp.Status, cp.Maintenance, cp.Since = ov.Status, ov.Maintenance, ov.Since
			s = &cp
		}
		nb.Services[i] = s
		nb.byName[s.Name] = s
	}
	nb.Groups = make([]Group, len(b.Groups))
	for i, g := range b.Groups {
		ng := g
		ng.Services = make([]*Service, len(g.Services))
		for j, s := range g.Services {
			ng.Services[j] = nb.byName[s.Name]
		}
		nb.Groups[i] = ng
	}
	nb.Ungrouped = make([]*Service, len(b.Ungrouped))
	for i, s := range b.Ungrouped {
		nb.Ungrouped[i] = nb.byName[s.Name]
	}
	return &nb
}

// build reads a board from the store.
func build(ctx context.Context, st *store.Store, now time.Time) (*Board, error) {
	version, err := st.BoardVersion(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := st.Services(ctx)
	if err != nil {
		return nil, err
	}
	checks, err := st.ServiceChecks(ctx)
	if err != nil {
		return nil, err
	}
	history, err := st.RecentChanges(ctx, HistoryLength)
	if err != nil {
		return nil, err
	}
	groups, err := st.Groups(ctx)
	if err != nil {
		return nil, err
	}
	incidents, _, err := st.Incidents(ctx, store.IncidentQuery{Limit: RecentIncidents})
	if err != nil {
		return nil, err
	}
	open, _, err := st.Incidents(ctx, store.IncidentQuery{State: "open"})
	if err != nil {
		return nil, err
	}
	maxID, err := st.MaxIncidentID(ctx)
	if err != nil {
		return nil, err
	}
	windows, err := st.Maintenances(ctx, now)
	if err != nil {
		return nil, err
	}
	downtime, err := st.DowntimePeriods(ctx, now)
	if err != nil {
		return nil, err
	}
	b := &Board{Version: version, Built: now, MaxIncidentID: maxID, Maintenances: windows, Downtime: downtime, byName: map[string]*Service{}}
	for _, r := range rows {
		s := &Service{
			Name: r.Name, Group: r.Group.String, Description: r.Description, Link: r.Link, Priority: r.Priority,
			Status: status.ServiceStatus(r.Status), Maintenance: r.Maintenance, Manual: r.ManualStatus.Valid, ManualReason: r.ManualReason,
			Checks: checks[r.ID], History: history[r.Name], Created: r.CreatedAt.UTC(), Source: r.Source,
		}
		if r.StatusChangedAt.Valid {
			s.Since = r.StatusChangedAt.Time.UTC()
		}
		b.Services = append(b.Services, s)
		b.byName[s.Name] = s
	}
	for _, g := range groups {
		grp := Group{Name: g.Name, Priority: g.Priority, Collapse: g.Collapse, Source: g.Source}
		for _, s := range b.Services {
			if s.Group == g.Name {
				grp.Services = append(grp.Services, s)
			}
		}
		b.Groups = append(b.Groups, grp)
	}
	for _, s := range b.Services {
		if s.Group == "" {
			b.Ungrouped = append(b.Ungrouped, s)
		}
	}
	// Every open incident, even one older than the recent ones.
	b.Incidents = incidents
	seen := map[int64]bool{}
	for _, inc := range incidents {
		seen[inc.ID] = true
	}
	for _, inc := range open {
		if !seen[inc.ID] {
			b.Incidents = append(b.Incidents, inc)
		}
	}
	return b, nil
}
