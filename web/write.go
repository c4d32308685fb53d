package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/statusd/statusd/internal/content"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
	"github.com/statusd/statusd/web/auth"
	"github.com/statusd/statusd/web/route"
)

// writeRoutes serves the write API: every route needs a write token.
func (h *handler) writeRoutes(r *route.Router) {
	write := func(f http.HandlerFunc) http.Handler { return h.opts.Auth.Require(store.ScopeWrite, f) }
	r.Handle("/api/v1/incidents", write(h.createIncident), http.MethodPost)
	r.Handle("/api/v1/incidents/{id}", write(h.editIncident), http.MethodPatch)
	r.Handle("/api/v1/incidents/{id}", write(h.deleteIncident), http.MethodDelete)
	r.Handle("/api/v1/incidents/{id}/updates", write(h.updateIncident), http.MethodPost)
	r.Handle("/api/v1/services/{name}/status", write(h.setStatus), http.MethodPut)
	r.Handle("/api/v1/services/{name}/status", write(h.clearStatus), http.MethodDelete)
	r.Handle("/api/v1/maintenances", write(h.createMaintenance), http.MethodPost)
	r.Handle("/api/v1/maintenances/{id}", write(h.editMaintenance), http.MethodPatch)
	r.Handle("/api/v1/maintenances/{id}", write(h.cancelMaintenance), http.MethodDelete)
	r.Handle("/api/v1/services", write(h.createService), http.MethodPost)
	r.Handle("/api/v1/services/{name}", write(h.editService), http.MethodPatch)
	r.Handle("/api/v1/services/{name}", write(h.deleteService), http.MethodDelete)
	r.Handle("/api/v1/groups", write(h.createGroup), http.MethodPost)
	r.Handle("/api/v1/groups/{name}", write(h.editGroup), http.MethodPatch)
	r.Handle("/api/v1/groups/{name}", write(h.deleteGroup), http.MethodDelete)
	r.Handle("/api/v1/audit", write(h.audit), http.MethodGet, http.MethodHead)
}

// actor is who writes through the API: the token's name.
func actor(r *http.Request) store.Actor {
	id, _ := auth.IdentityOf(r.Context())
	return store.Actor{Name: "token:" + id.Token, Via: store.ViaAPI}
}

// pathID is the {id} of a route; false (answered 404) when it is not one.
func pathID(w http.ResponseWriter, r *http.Request, what string) (int64, bool) {
	raw := r.PathValue("id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusNotFound, "no "+what+" "+strconv.Quote(raw))
		return 0, false
	}
	return id, true
}

// writeFailed answers a write the operator refused: 400 for the input's
// mistakes (a service named in the body that does not exist is one), 404
// for what the path names, 500 otherwise.
func (h *handler) writeFailed(w http.ResponseWriter, err error) {
	var fe content.FieldErrors
	switch {
	case errors.As(err, &fe):
		writeFieldErrors(w, fe)
	case errors.Is(err, store.ErrNoService):
		writeFieldErrors(w, content.FieldErrors{"services": err.Error()})
	case errors.Is(err, store.ErrNoGroup):
		writeFieldErrors(w, content.FieldErrors{"group": err.Error()})
	case errors.Is(err, store.ErrNameTaken), errors.Is(err, store.ErrConfigDefined):
		writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, store.ErrNoIncident), errors.Is(err, store.ErrNoMaintenance):
		writeError(w, http.StatusNotFound, err.Error())
	default:
		h.opts.Logger.Error("A write through the API failed", "err", err)
		writeError(w, http.StatusInternalServerError, "the write failed; statusd's log says why")
	}
}

type incidentCreateJSON struct {
	Template string              `json:"template"`
	Title    string              `json:"title"`
	Impact   string              `json:"impact"`
	State    string              `json:"state"`
	Message  string              `json:"message"`
	Occurred *time.Time          `json:"occurred"`
	Services []serviceImpactJSON `json:"services"`
}

func (h *handler) createIncident(w http.ResponseWriter, r *http.Request) {
	var in incidentCreateJSON
	if !decodeBody(w, r, &in) {
		return
	}
	n := content.NewIncident{Template: in.Template, Title: in.Title, Impact: in.Impact, State: in.State, Message: in.Message, Services: impacts(in.Services)}
	if in.Occurred != nil {
		n.Occurred = *in.Occurred
	}
	inc, err := h.opts.Operator.OpenIncident(r.Context(), actor(r), n)
	if err != nil {
		h.writeFailed(w, err)
		return
	}
	w.Header().Set("Location", "/api/v1/incidents/"+strconv.FormatInt(inc.ID, 10))
	writeJSON(w, http.StatusCreated, inc)
}

type incidentEditJSON struct {
	Title    *string              `json:"title"`
	Impact   *string              `json:"impact"`
	Occurred *time.Time           `json:"occurred"`
	Services *[]serviceImpactJSON `json:"services"`
}

func (h *handler) editIncident(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "incident")
	if !ok {
		return
	}
	var in incidentEditJSON
	if !decodeBody(w, r, &in) {
		return
	}
	c := content.IncidentChange{Title: in.Title, Impact: in.Impact, Occurred: in.Occurred}
	if in.Services != nil {
		s := impacts(*in.Services)
		c.Services = &s
	}
	inc, err := h.opts.Operator.EditIncident(r.Context(), actor(r), id, c)
	if err != nil {
		h.writeFailed(w, err)
		return
	}
	writeJSON(w, http.StatusOK, inc)
}

func (h *handler) deleteIncident(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "incident")
	if !ok {
		return
	}
	if err := h.opts.Operator.DeleteIncident(r.Context(), actor(r), id); err != nil {
		h.writeFailed(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type incidentUpdateJSON struct {
	Template string              `json:"template"`
	State    string              `json:"state"`
	Message  string              `json:"message"`
	Services []serviceImpactJSON `json:"services"`
}

func (h *handler) updateIncident(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "incident")
	if !ok {
		return
	}
	var in incidentUpdateJSON
	if !decodeBody(w, r, &in) {
		return
	}
	inc, err := h.opts.Operator.UpdateIncident(r.Context(), actor(r), id, content.IncidentUpdate{Template: in.Template, State: in.State, Message: in.Message, Services: impacts(in.Services)})
	if err != nil {
		h.writeFailed(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, inc)
}

type statusSetJSON struct {
	Status *status.ServiceStatus `json:"status"`
	Reason string                `json:"reason"`
}

type statusChangeJSON struct {
	Service string               `json:"service"`
	From    status.ServiceStatus `json:"from"`
	To      status.ServiceStatus `json:"to"`
	Manual  bool                 `json:"manual"`
}

func (h *handler) setStatus(w http.ResponseWriter, r *http.Request) {
	var in statusSetJSON
	if !decodeBody(w, r, &in) {
		return
	}
	if in.Status == nil {
		writeFieldErrors(w, content.FieldErrors{"status": "is required (DELETE clears the status set by hand)"})
		return
	}
	h.manual(w, r, content.ManualStatus{Service: r.PathValue("name"), Status: in.Status, Reason: in.Reason})
}

func (h *handler) clearStatus(w http.ResponseWriter, r *http.Request) {
	h.manual(w, r, content.ManualStatus{Service: r.PathValue("name")})
}

func (h *handler) manual(w http.ResponseWriter, r *http.Request, in content.ManualStatus) {
	from, to, err := h.opts.Operator.SetManual(r.Context(), actor(r), in)
	if errors.Is(err, store.ErrNoService) {
		writeError(w, http.StatusNotFound, "service "+in.Service+" not found")
		return
	}
	if err != nil {
		h.writeFailed(w, err)
		return
	}
	writeJSON(w, http.StatusOK, statusChangeJSON{Service: in.Service, From: from, To: to, Manual: in.Status != nil})
}

type maintenanceCreateJSON struct {
	Title       string     `json:"title"`
	Description string     `json:"description"`
	Start       *time.Time `json:"start"`
	End         *time.Time `json:"end"`
	Services    []string   `json:"services"`
}

func (h *handler) createMaintenance(w http.ResponseWriter, r *http.Request) {
	var in maintenanceCreateJSON
	if !decodeBody(w, r, &in) {
		return
	}
	m := content.Maintenance{Title: in.Title, Description: in.Description, End: in.End, Services: in.Services}
	if in.Start != nil {
		m.Start = *in.Start
	}
	out, err := h.opts.Operator.AddMaintenance(r.Context(), actor(r), m)
	if err != nil {
		h.writeFailed(w, err)
		return
	}
	w.Header().Set("Location", "/api/v1/maintenances/"+strconv.FormatInt(out.ID, 10))
	writeJSON(w, http.StatusCreated, maintenanceOf(out, h.opts.Clock.Now()))
}

type maintenanceEditJSON struct {
	Title       *string      `json:"title"`
	Description *string      `json:"description"`
	Start       *time.Time   `json:"start"`
	End         optionalTime `json:"end"`
	Services    *[]string    `json:"services"`
}

func (h *handler) editMaintenance(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "maintenance")
	if !ok {
		return
	}
	var in maintenanceEditJSON
	if !decodeBody(w, r, &in) {
		return
	}
	c := content.MaintenanceChange{Title: in.Title, Description: in.Description, Start: in.Start, Services: in.Services}
	if in.End.Set {
		c.End, c.NoEnd = in.End.Time, in.End.Time == nil
	}
	out, err := h.opts.Operator.EditMaintenance(r.Context(), actor(r), id, c)
	if err != nil {
		h.writeFailed(w, err)
		return
	}
	writeJSON(w, http.StatusOK, maintenanceOf(out, h.opts.Clock.Now()))
}

func (h *handler) cancelMaintenance(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "maintenance")
	if !ok {
		return
	}
	if err := h.opts.Operator.CancelMaintenance(r.Context(), actor(r), id); err != nil {
		h.writeFailed(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func maintenanceOf(m *store.Maintenance, now time.Time) maintenanceJSON {
	return maintenanceJSON{ID: m.ID, Title: m.Title, Description: m.Description, Starts: m.StartsAt,
		Ends: m.End(), Active: m.Active(now), Services: m.Services}
}

type auditPageJSON struct {
	Entries []store.AuditEntry `json:"entries"`
	// Next is the query of the next (older) page, "" on the last.
	Next string `json:"next"`
}

func (h *handler) audit(w http.ResponseWriter, r *http.Request) {
	q := store.AuditQuery{Limit: 100}
	positive := func(key string, def int64) (int64, bool) {
		raw := r.URL.Query().Get(key)
		if raw == "" {
			return def, true
		}
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n <= 0 {
			writeError(w, http.StatusBadRequest, key+" must be a positive integer")
			return 0, false
		}
		return n, true
	}
	before, ok := positive("before", 0)
	if !ok {
		return
	}
	limit, ok := positive("limit", 100)
	if !ok {
		return
	}
	q.Before, q.Limit = before, int(min(limit, 1000))
	entries, err := h.opts.Operator.Audit(r.Context(), q)
	if err != nil {
		h.writeFailed(w, err)
		return
	}
	out := auditPageJSON{Entries: entries}
	if len(entries) == q.Limit {
		out.Next = fmt.Sprintf("?before=%d&limit=%d", entries[len(entries)-1].ID, q.Limit)
	}
	writeJSON(w, http.StatusOK, out)
}

type serviceCreateJSON struct {
	Name        string `json:"name"`
	Group       string `json:"group"`
	Description string `json:"description"`
	Link        string `json:"link"`
	Priority    int    `json:"priority"`
}

func (h *handler) createService(w http.ResponseWriter, r *http.Request) {
	var in serviceCreateJSON
	if !decodeBody(w, r, &in) {
		return
	}
	if err := h.opts.Operator.AddService(r.Context(), actor(r), content.Service(in)); err != nil {
		h.writeFailed(w, err)
		return
	}
	w.Header().Set("Location", "/api/v1/services/"+url.PathEscape(in.Name))
	writeJSON(w, http.StatusCreated, map[string]string{"name": in.Name})
}

type serviceEditJSON struct {
	Group       *string `json:"group"`
	Description *string `json:"description"`
	Link        *string `json:"link"`
	Priority    *int    `json:"priority"`
}

func (h *handler) editService(w http.ResponseWriter, r *http.Request) {
	var in serviceEditJSON
	if !decodeBody(w, r, &in) {
		return
	}
	h.named(w, r, "service", store.ErrNoService, func(name string) error {
		return h.opts.Operator.EditService(r.Context(), actor(r), name, content.ServiceChange(in))
	})
}

func (h *handler) deleteService(w http.ResponseWriter, r *http.Request) {
	h.named(w, r, "service", store.ErrNoService, func(name string) error {
		return h.opts.Operator.DeleteService(r.Context(), actor(r), name)
	})
}

type groupCreateJSON struct {
	Name     string `json:"name"`
	Priority int    `json:"priority"`
	Collapse string `json:"collapse"`
}

func (h *handler) createGroup(w http.ResponseWriter, r *http.Request) {
	var in groupCreateJSON
	if !decodeBody(w, r, &in) {
		return
	}
	if err := h.opts.Operator.AddGroup(r.Context(), actor(r), content.Group(in)); err != nil {
		h.writeFailed(w, err)
		return
	}
	w.Header().Set("Location", "/api/v1/groups")
	writeJSON(w, http.StatusCreated, map[string]string{"name": in.Name})
}

type groupEditJSON struct {
	Priority *int    `json:"priority"`
	Collapse *string `json:"collapse"`
}

func (h *handler) editGroup(w http.ResponseWriter, r *http.Request) {
	var in groupEditJSON
	if !decodeBody(w, r, &in) {
		return
	}
	h.named(w, r, "group", store.ErrNoGroup, func(name string) error {
		return h.opts.Operator.EditGroup(r.Context(), actor(r), name, content.GroupChange(in))
	})
}

func (h *handler) deleteGroup(w http.ResponseWriter, r *http.Request) {
	h.named(w, r, "group", store.ErrNoGroup, func(name string) error {
		return h.opts.Operator.DeleteGroup(r.Context(), actor(r), name)
	})
}

// named runs a write on the service or group the path names: 404 when it
// does not exist, 204 when done.
func (h *handler) named(w http.ResponseWriter, r *http.Request, what string, missing error, write func(name string) error) {
	name := r.PathValue("name")
	err := write(name)
	switch {
	case err == nil:
		w.WriteHeader(http.StatusNoContent)
	case errors.Is(err, missing):
		writeError(w, http.StatusNotFound, what+" "+name+" not found")
	default:
		h.writeFailed(w, err)
	}
}
