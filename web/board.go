package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/statusd/statusd/downtime"
	"github.com/statusd/statusd/internal/board"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
	"github.com/statusd/statusd/web/page"
	"github.com/statusd/statusd/web/route"
)

// Boards gives the current status page snapshot.
type Boards interface {
	Board() *board.Board
}

// History reads what a snapshot does not hold: deep pages of the
// incident archive and long service histories.
type History interface {
	Incident(ctx context.Context, id int64) (*store.Incident, error)
	Incidents(ctx context.Context, q store.IncidentQuery) ([]store.Incident, int, error)
	ServiceHistory(ctx context.Context, name string, limit int) ([]store.StatusChange, error)
}

// The JSON shapes of the read API (documented in the README).
type (
	summaryJSON struct {
		// WorstStatus is null when there are no services.
		WorstStatus  *status.ServiceStatus `json:"worst_status"`
		Banner       *string               `json:"banner"`
		Groups       []groupJSON           `json:"groups"`
		Services     []serviceJSON         `json:"services"`
		Incidents    []store.Incident      `json:"incidents"`
		Maintenances []maintenanceJSON     `json:"maintenances"`
		// Downtime is whether downtime is in progress, and its periods
		// ahead or in progress.
		Downtime  downtimeJSON `json:"downtime"`
		Version   int64        `json:"version"`
		UpdatedAt time.Time    `json:"updated_at"`
	}
	groupJSON struct {
		Name        string               `json:"name"`
		Priority    int                  `json:"priority"`
		Collapse    string               `json:"collapse"`
		Collapsed   bool                 `json:"collapsed"`
		WorstStatus status.ServiceStatus `json:"worst_status"`
		Services    []string             `json:"services"`
	}
	serviceJSON struct {
		Name         string               `json:"name"`
		Group        *string              `json:"group"`
		Description  string               `json:"description"`
		Link         string               `json:"link"`
		Priority     int                  `json:"priority"`
		Status       status.ServiceStatus `json:"status"`
		Maintenance  bool                 `json:"maintenance"`
		Manual       bool                 `json:"manual"`
		ManualReason string               `json:"manual_reason,omitempty"`
		Since        *time.Time           `json:"since"`
		Checks       []string             `json:"checks"`
	}
	changeJSON struct {
		At          time.Time            `json:"at"`
		From        status.ServiceStatus `json:"from"`
		To          status.ServiceStatus `json:"to"`
		Maintenance bool                 `json:"maintenance"`
		Cause       string               `json:"cause"`
		Reason      string               `json:"reason,omitempty"`
	}
	maintenanceJSON struct {
		ID          int64      `json:"id"`
		Title       string     `json:"title"`
		Description string     `json:"description"`
		Starts      time.Time  `json:"starts"`
		Ends        *time.Time `json:"ends"`
		Active      bool       `json:"active"`
		Services    []string   `json:"services"`
	}
	downtimeJSON struct {
		Active  bool              `json:"active"`
		Periods []downtime.Period `json:"periods"`
	}
	incidentPageJSON struct {
		Incidents []store.Incident `json:"incidents"`
		Page      int              `json:"page"`
		PerPage   int              `json:"per_page"`
		Total     int              `json:"total"`
	}
)

func (h *handler) boardRoutes(r *route.Router) {
	read := []string{http.MethodGet, http.MethodHead}
	r.Handle("/api/v1/summary", public(h.summary), read...)
	r.Handle("/api/v1/services", public(h.services), read...)
	r.Handle("/api/v1/services/{name}", public(h.service), read...)
	r.Handle("/api/v1/services/{name}/history", public(h.serviceHistory), read...)
	r.Handle("/api/v1/groups", public(h.groups), read...)
	r.Handle("/api/v1/incidents", public(h.incidents), read...)
	r.Handle("/api/v1/incidents/{id}", public(h.incident), read...)
	r.Handle("/api/v1/maintenances", public(h.maintenances), read...)
}

// public lets any site read a route from a browser (CORS): what the
// status page shows is public, and no credential is sent or honoured.
func public(f http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		f(w, r)
	})
}

// summary serves the page's state from memory: what widgets and embeds
// poll. It is made again when the board changes and when the clock
// reaches a moment it depends on (a maintenance window or a downtime
// period starting or ending), at most every summaryTTL otherwise; it is
// kept with its gzip form and ETag, so that a poll that has it costs a
// 304.
func (h *handler) summary(w http.ResponseWriter, r *http.Request) {
	b := h.opts.Board.Board()
	now := h.opts.Clock.Now()
	c := h.summaryCache.Load()
	if c == nil || c.version != b.Version || !now.Before(c.until) {
		h.summaryMu.Lock()
		if c = h.summaryCache.Load(); c == nil || c.version != b.Version || !now.Before(c.until) {
			body, err := json.Marshal(summaryOf(b, now))
			if err != nil {
				h.summaryMu.Unlock()
				writeError(w, http.StatusInternalServerError, "encode response: "+err.Error())
				return
			}
			c = &cachedSummary{version: b.Version, until: nextBoundary(b, now, summaryTTL), resp: page.NewResponse(append(body, '\n'), jsonType)}
			h.summaryCache.Store(c)
		}
		h.summaryMu.Unlock()
	}
	c.resp.Serve(w, r, "no-cache")
}

// summaryTTL bounds how long a summary is kept when nothing it shows
// changes.
const summaryTTL = 10 * time.Second

// cachedSummary is a summary made for a board version, good until.
type cachedSummary struct {
	version int64
	until   time.Time
	resp    *page.Response
}

// nextBoundary is the first moment after now when a board's maintenance
// windows or downtime periods start or end, at most ttl away.
func nextBoundary(b *board.Board, now time.Time, ttl time.Duration) time.Time {
	next := now.Add(ttl)
	consider := func(t time.Time) {
		if t.After(now) && t.Before(next) {
			next = t
		}
	}
	for i := range b.Maintenances {
		m := &b.Maintenances[i]
		consider(m.StartsAt)
		if m.EndsAt.Valid {
			consider(m.EndsAt.Time)
		}
	}
	for _, p := range b.Downtime {
		if p.Start.Valid {
			consider(p.Start.Time)
		}
		if p.End.Valid {
			consider(p.End.Time)
		}
	}
	return next
}

// summaryOf is the summary of a board at now.
func summaryOf(b *board.Board, now time.Time) summaryJSON {
	out := summaryJSON{
		Groups:       groupsJSON(b),
		Services:     servicesJSON(b.Services),
		Incidents:    openIncidents(b),
		Maintenances: maintenancesJSON(b, now),
		Downtime:     downtimeJSON{Active: b.DowntimeActive(now), Periods: DowntimeState(b.Downtime).Periods},
		Version:      b.Version,
		UpdatedAt:    b.Built.UTC(),
	}
	if worst, ok := b.Worst(); ok {
		banner := worst.Summary()
		out.WorstStatus, out.Banner = &worst, &banner
	}
	return out
}

func (h *handler) services(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, servicesJSON(h.opts.Board.Board().Services))
}

func (h *handler) service(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	s, ok := h.opts.Board.Board().Service(name)
	if !ok {
		writeError(w, http.StatusNotFound, "service "+name+" not found")
		return
	}
	writeJSON(w, http.StatusOK, serviceOf(s))
}

func (h *handler) serviceHistory(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	s, ok := h.opts.Board.Board().Service(name)
	if !ok {
		writeError(w, http.StatusNotFound, "service "+name+" not found")
		return
	}
	limit, err := intParam(r, "limit", board.HistoryLength, 1, 10_000)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	changes := s.History
	if limit > len(changes) && len(changes) == board.HistoryLength {
		// Deeper than the snapshot holds.
		if changes, err = h.opts.History.ServiceHistory(r.Context(), name, limit); err != nil {
			writeError(w, http.StatusServiceUnavailable, "the history is not available: the database does not answer")
			return
		}
	}
	changes = changes[:min(limit, len(changes))]
	out := make([]changeJSON, len(changes))
	for i, c := range changes {
		out[i] = changeJSON{At: c.At, From: status.ServiceStatus(c.Old), To: status.ServiceStatus(c.New), Maintenance: c.Maintenance, Cause: c.Cause, Reason: c.Reason}
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *handler) groups(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, groupsJSON(h.opts.Board.Board()))
}

func (h *handler) maintenances(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, maintenancesJSON(h.opts.Board.Board(), h.opts.Clock.Now()))
}

// incidents serves a page of incidents, newest first: ?state=open|closed,
// ?page (from 1) and ?per_page (default 20, at most 100).
func (h *handler) incidents(w http.ResponseWriter, r *http.Request) {
	state := r.URL.Query().Get("state")
	if state != "" && state != "open" && state != "closed" {
		writeError(w, http.StatusBadRequest, "state must be open or closed, got "+strconv.Quote(state))
		return
	}
	page, err := intParam(r, "page", 1, 1, 1_000_000)
	if err == nil {
		var perPage int
		perPage, err = intParam(r, "per_page", 20, 1, 100)
		if err == nil {
			h.incidentPage(w, r, state, page, perPage)
			return
		}
	}
	writeError(w, http.StatusBadRequest, err.Error())
}

func (h *handler) incidentPage(w http.ResponseWriter, r *http.Request, state string, page, perPage int) {
	b := h.opts.Board.Board()
	var all []store.Incident
	for _, inc := range b.Incidents {
		if state == "" || (state == "open") != inc.Closed {
			all = append(all, inc)
		}
	}
	offset := (page - 1) * perPage
	// The snapshot holds every open incident and the recent closed ones:
	// past them, the page comes from the store.
	complete := state == "open" || len(b.Incidents) < board.RecentIncidents+b.OpenIncidents()
	out := incidentPageJSON{Page: page, PerPage: perPage, Total: len(all)}
	if complete || offset+perPage <= len(all) {
		out.Incidents = all[min(offset, len(all)):min(offset+perPage, len(all))]
	} else {
		incs, total, err := h.opts.History.Incidents(r.Context(), store.IncidentQuery{State: state, Limit: perPage, Offset: offset})
		if err != nil {
			writeError(w, http.StatusServiceUnavailable, "this page is not available: the database does not answer")
			return
		}
		out.Incidents, out.Total = incs, total
	}
	if out.Incidents == nil {
		out.Incidents = []store.Incident{}
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *handler) incident(w http.ResponseWriter, r *http.Request) {
	raw := r.PathValue("id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id < 1 {
		writeError(w, http.StatusBadRequest, "incident id must be a positive number, got "+strconv.Quote(raw))
		return
	}
	if inc, ok := h.opts.Board.Board().Incident(id); ok {
		writeJSON(w, http.StatusOK, inc)
		return
	}
	inc, err := h.opts.History.Incident(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrNoIncident):
		writeError(w, http.StatusNotFound, "incident "+raw+" not found")
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, "this incident is not available: the database does not answer")
	default:
		writeJSON(w, http.StatusOK, inc)
	}
}

func intParam(r *http.Request, name string, def, lo, hi int) (int, error) {
	raw := r.URL.Query().Get(name)
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < lo || n > hi {
		return 0, errors.New(name + " must be a whole number from " + strconv.Itoa(lo) + " to " + strconv.Itoa(hi) + ", got " + strconv.Quote(raw))
	}
	return n, nil
}

func groupsJSON(b *board.Board) []groupJSON {
	out := make([]groupJSON, 0, len(b.Groups))
	for i := range b.Groups {
		g := &b.Groups[i]
		gj := groupJSON{Name: g.Name, Priority: g.Priority, Collapse: g.Collapse, Collapsed: g.Collapsed(), WorstStatus: g.Worst(), Services: []string{}}
		for _, s := range g.Services {
			gj.Services = append(gj.Services, s.Name)
		}
		out = append(out, gj)
	}
	return out
}

func servicesJSON(services []*board.Service) []serviceJSON {
	out := make([]serviceJSON, len(services))
	for i, s := range services {
		out[i] = serviceOf(s)
	}
	return out
}

func serviceOf(s *board.Service) serviceJSON {
	j := serviceJSON{
		Name: s.Name, Description: s.Description, Link: s.Link, Priority: s.Priority,
		Status: s.Status, Maintenance: s.Maintenance, Manual: s.Manual, Checks: []string{},
	}
	if s.Group != "" {
		g := s.Group
		j.Group = &g
	}
	if s.Manual {
		j.ManualReason = s.ManualReason // a cleared status's reason is history, not now
	}
	if !s.Since.IsZero() {
		since := s.Since
		j.Since = &since
	}
	for _, c := range s.Checks {
		j.Checks = append(j.Checks, c.String())
	}
	return j
}

func openIncidents(b *board.Board) []store.Incident {
	out := []store.Incident{}
	for _, inc := range b.Incidents {
		if !inc.Closed {
			out = append(out, inc)
		}
	}
	return out
}

func maintenancesJSON(b *board.Board, now time.Time) []maintenanceJSON {
	out := make([]maintenanceJSON, 0, len(b.Maintenances))
	for i := range b.Maintenances {
		out = append(out, maintenanceOf(&b.Maintenances[i], now))
	}
	return out
}
