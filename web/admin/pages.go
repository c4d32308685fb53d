package admin

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/statusd/statusd/internal/board"
	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/content"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
	"github.com/statusd/statusd/web/page"
)

// pageNames are the admin's pages, one template each.
var pageNames = []string{"login", "dashboard", "incidents", "incident_new", "incident", "services", "maintenances", "maintenance", "downtime", "tokens", "users", "subscribers", "audit", "error"}

// formTime is how a datetime-local field writes a time.
const formTime = "2006-01-02T15:04"

// templates are the admin's pages, each parsed when it is first shown:
// few statusd ever show them, and all of them parsed take 0.6 MB of heap
// for the daemon's life (twice that in RSS, by the garbage collector's
// goal). TestTemplatesParse parses every one.
type templates map[string]func() (*template.Template, error)

// lazyTemplates prepares the pages' parsing.
func lazyTemplates(loc *time.Location) templates {
	out := templates{}
	for _, name := range pageNames {
		out[name] = sync.OnceValues(func() (*template.Template, error) { return parseTemplate(loc, name) })
	}
	return out
}

// parseTemplate parses one page with the layout.
func parseTemplate(loc *time.Location, name string) (*template.Template, error) {
	funcs := template.FuncMap{
		"iso":       func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"local":     func(t time.Time) string { return t.In(loc).Format("Mon 2 Jan 2006 15:04 MST") },
		"markdown":  page.Markdown,
		"impacts":   func() []string { return store.Impacts },
		"states":    func() []string { return store.IncidentStates },
		"statuses":  func() []string { return []string{"operational", "degraded", "partial_outage", "major_outage"} },
		"label":     func(s string) string { return strings.ReplaceAll(s, "_", " ") },
		"collapses": func() []string { return content.Collapses },
	}
	t, err := template.New(name).Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/"+name+".html")
	if err != nil {
		return nil, fmt.Errorf("admin template %s: %w", name, err)
	}
	return t, nil
}

// view is what every admin page gets.
type view struct {
	Title, Nav, User, CSRF string
	Errors                 content.FieldErrors
	Data                   any
}

var titles = map[string]string{
	"login": "Log in", "dashboard": "Dashboard", "incidents": "Incidents", "incident_new": "Open an incident",
	"services": "Services' statuses", "maintenances": "Maintenance", "tokens": "API tokens", "users": "Users",
	"audit": "Audit log", "error": "Something went wrong", "downtime": "Downtime", "subscribers": "Subscribers",
}

// render writes a page; v is nil on the login page.
func (a *Admin) render(w http.ResponseWriter, r *http.Request, code int, name string, v *visit, data any) {
	a.renderWith(w, r, code, name, v, data, nil, "")
}

func (a *Admin) renderWith(w http.ResponseWriter, _ *http.Request, code int, name string, v *visit, data any, errs content.FieldErrors, title string) {
	pv := view{Title: titles[name], Nav: strings.SplitN(name, "_", 2)[0], Data: data, Errors: errs}
	if title != "" {
		pv.Title = title
	}
	switch name {
	case "incident":
		pv.Nav = "incidents"
	case "maintenance":
		pv.Nav = "maintenances"
	}
	if v != nil {
		pv.User, pv.CSRF = v.user, v.csrf
	}
	var b bytes.Buffer
	t, err := a.pages[name]()
	if err == nil {
		err = t.ExecuteTemplate(&b, "layout", pv)
	}
	if err != nil {
		a.opts.Logger.Error("Cannot render an admin page", "page", name, "err", err)
		http.Error(w, "the page cannot be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(b.Bytes())
}

// fail shows an error page.
func (a *Admin) fail(w http.ResponseWriter, r *http.Request, code int, msg string) {
	a.renderWith(w, r, code, "error", a.session(r), msg, nil, "")
}

// failWrite answers a write the operator refused: the form again with its
// field errors (400), a missing target (404) or an error page.
func (a *Admin) failWrite(w http.ResponseWriter, r *http.Request, err error, again func(content.FieldErrors)) {
	if again == nil {
		again = func(fe content.FieldErrors) { a.fail(w, r, http.StatusBadRequest, "Not saved: "+fe.Error()+".") }
	}
	var fe content.FieldErrors
	switch {
	case errors.As(err, &fe):
		again(fe)
	case errors.Is(err, store.ErrNoService):
		again(content.FieldErrors{"services": err.Error()})
	case errors.Is(err, store.ErrNoGroup):
		again(content.FieldErrors{"group": err.Error()})
	case errors.Is(err, store.ErrNameTaken), errors.Is(err, store.ErrConfigDefined):
		again(content.FieldErrors{"name": err.Error()})
	case errors.Is(err, store.ErrNoIncident), errors.Is(err, store.ErrNoMaintenance):
		a.fail(w, r, http.StatusNotFound, "It is not there any more: "+err.Error()+".")
	default:
		a.opts.Logger.Error("A write from the admin failed", "err", err)
		a.fail(w, r, http.StatusInternalServerError, "The write failed; statusd's log says why.")
	}
}

type dashboardView struct {
	WorstCode    int
	Banner       string
	Incidents    []incidentRow
	Problems     []page.CheckInfo
	Maintenances []store.Maintenance
}

type incidentRow struct {
	ID        int64
	Title     string
	Impact    string
	State     string
	Automatic bool
	Occurred  time.Time
}

func rowOf(inc *store.Incident) incidentRow {
	return incidentRow{ID: inc.ID, Title: inc.Title, Impact: inc.Impact, State: inc.State(), Automatic: inc.Automatic, Occurred: inc.Occurred}
}

func (a *Admin) dashboard(w http.ResponseWriter, r *http.Request, v *visit) {
	d := dashboardView{WorstCode: -1, Banner: "No services"}
	b := a.opts.Boards.Board()
	if worst, ok := b.Worst(); ok {
		d.WorstCode, d.Banner = int(worst), worst.Summary()
	}
	for i := range b.Incidents {
		if !b.Incidents[i].Closed {
			d.Incidents = append(d.Incidents, rowOf(&b.Incidents[i]))
		}
	}
	if a.opts.Checks != nil {
		for _, c := range a.opts.Checks() {
			if c.Evaluated != nil && *c.Evaluated == status.Problem {
				d.Problems = append(d.Problems, c)
			}
		}
	}
	d.Maintenances = b.Maintenances
	a.render(w, r, http.StatusOK, "dashboard", v, d)
}

const perPage = 50

type incidentsView struct {
	Incidents []incidentRow
	Older     int // the next page, 0 on the last
}

func (a *Admin) incidents(w http.ResponseWriter, r *http.Request, v *visit) {
	p, _ := strconv.Atoi(r.URL.Query().Get("page"))
	p = max(p, 1)
	incs, total, err := a.opts.Store.Incidents(r.Context(), store.IncidentQuery{Limit: perPage, Offset: (p - 1) * perPage})
	if err != nil {
		a.fail(w, r, http.StatusServiceUnavailable, "statusd cannot read incidents: its database does not answer.")
		return
	}
	d := incidentsView{}
	for i := range incs {
		d.Incidents = append(d.Incidents, rowOf(&incs[i]))
	}
	if p*perPage < total {
		d.Older = p + 1
	}
	a.render(w, r, http.StatusOK, "incidents", v, d)
}

// serviceNames are the services an incident or a window may name.
func (a *Admin) serviceNames() []string {
	var names []string
	for _, s := range a.opts.Boards.Board().Services {
		names = append(names, s.Name)
	}
	return names
}

type incidentForm struct {
	Title, Impact, State, Message, Occurred string
}

type newIncidentView struct {
	Form      incidentForm
	Services  []string
	Templates []config.IncidentTemplate
}

// template is the config template a page's ?template= names.
func (a *Admin) template(r *http.Request) (config.IncidentTemplate, bool) {
	name := r.URL.Query().Get("template")
	for _, t := range a.opts.Operator.Templates() {
		if t.Name == name {
			return t, true
		}
	}
	return config.IncidentTemplate{}, false
}

func (a *Admin) newIncident(w http.ResponseWriter, r *http.Request, v *visit) {
	f := incidentForm{Impact: store.ImpactNone, State: store.Investigating}
	if t, ok := a.template(r); ok {
		n := content.NewIncident{Title: t.Title, Impact: t.Impact, State: t.State, Message: t.Message}
		n.Fill(config.IncidentTemplate{Impact: store.ImpactNone, State: store.Investigating})
		f = incidentForm{Title: n.Title, Impact: n.Impact, State: n.State, Message: n.Message}
	}
	a.render(w, r, http.StatusOK, "incident_new", v, newIncidentView{Form: f, Services: a.serviceNames(), Templates: a.opts.Operator.Templates()})
}

// formTimeValue reads a datetime-local field in the site's time zone.
func (a *Admin) formTimeValue(raw, field string, errs content.FieldErrors) *time.Time {
	if raw == "" {
		return nil
	}
	t, err := time.ParseInLocation(formTime, raw, a.opts.Location)
	if err != nil {
		errs[field] = "is not a date and time (YYYY-MM-DDTHH:MM)"
		return nil
	}
	return &t
}

// impactsOf reads the services a form names, each with the status set
// for it ("status:NAME"; empty: unchanged). checked limits them to the
// ticked "service" boxes; otherwise every service with a status counts.
func impactsOf(r *http.Request, names []string, checked bool) []content.ServiceImpact {
	var out []content.ServiceImpact
	ticked := r.PostForm["service"]
	for _, n := range names {
		raw := r.PostFormValue("status:" + n)
		var st *status.ServiceStatus
		if raw != "" {
			if s, err := status.ParseServiceStatus(raw); err == nil {
				st = &s
			}
		}
		switch {
		case checked && slices.Contains(ticked, n):
			out = append(out, content.ServiceImpact{Name: n, Status: st})
		case !checked && st != nil:
			out = append(out, content.ServiceImpact{Name: n, Status: st})
		}
	}
	return out
}

func (a *Admin) createIncident(w http.ResponseWriter, r *http.Request, v *visit) {
	f := incidentForm{Title: r.PostFormValue("title"), Impact: r.PostFormValue("impact"), State: r.PostFormValue("state"),
		Message: r.PostFormValue("message"), Occurred: r.PostFormValue("occurred")}
	names := a.serviceNames()
	again := func(errs content.FieldErrors) {
		a.renderWith(w, r, http.StatusBadRequest, "incident_new", v, newIncidentView{Form: f, Services: names, Templates: a.opts.Operator.Templates()}, errs, "")
	}
	errs := content.FieldErrors{}
	n := content.NewIncident{Title: f.Title, Impact: f.Impact, State: f.State, Message: f.Message, Services: impactsOf(r, names, true)}
	if t := a.formTimeValue(f.Occurred, "occurred", errs); t != nil {
		n.Occurred = *t
	}
	if len(errs) > 0 {
		// Say everything that is wrong at once.
		var fe content.FieldErrors
		if errors.As(n.Validate(a.opts.Clock.Now()), &fe) {
			maps.Copy(errs, fe)
		}
		again(errs)
		return
	}
	inc, err := a.opts.Operator.OpenIncident(r.Context(), v.actor(), n)
	if err != nil {
		a.failWrite(w, r, err, again)
		return
	}
	http.Redirect(w, r, "/admin/incidents/"+strconv.FormatInt(inc.ID, 10), http.StatusSeeOther)
}

type incidentView struct {
	Incident *store.Incident
	Occurred string
	Services []string
	// Update prefills the update form (from a template).
	Update    content.IncidentUpdate
	Templates []config.IncidentTemplate
}

func (a *Admin) showIncident(w http.ResponseWriter, r *http.Request, v *visit, id int64, code int, errs content.FieldErrors) {
	inc, err := a.opts.Store.Incident(r.Context(), id)
	if errors.Is(err, store.ErrNoIncident) {
		a.fail(w, r, http.StatusNotFound, fmt.Sprintf("No incident %d.", id))
		return
	}
	if err != nil {
		a.fail(w, r, http.StatusServiceUnavailable, "statusd cannot read the incident: its database does not answer.")
		return
	}
	iv := incidentView{Incident: inc, Occurred: inc.Occurred.In(a.opts.Location).Format(formTime), Services: a.serviceNames(),
		Update: content.IncidentUpdate{State: inc.State()}, Templates: a.opts.Operator.Templates()}
	if t, ok := a.template(r); ok {
		iv.Update = content.IncidentUpdate{State: t.State, Message: t.Message}
		iv.Update.Fill(config.IncidentTemplate{State: inc.State()})
	}
	a.renderWith(w, r, code, "incident", v, iv, errs, inc.Title)
}

func (a *Admin) incident(w http.ResponseWriter, r *http.Request, v *visit) {
	a.showIncident(w, r, v, rowID(r), http.StatusOK, nil)
}

func (a *Admin) editIncident(w http.ResponseWriter, r *http.Request, v *visit) {
	id := rowID(r)
	errs := content.FieldErrors{}
	title, impact := r.PostFormValue("title"), r.PostFormValue("impact")
	c := content.IncidentChange{Title: &title, Impact: &impact, Occurred: a.formTimeValue(r.PostFormValue("occurred"), "occurred", errs)}
	again := func(errs content.FieldErrors) { a.showIncident(w, r, v, id, http.StatusBadRequest, errs) }
	if len(errs) > 0 {
		again(errs)
		return
	}
	if _, err := a.opts.Operator.EditIncident(r.Context(), v.actor(), id, c); err != nil {
		a.failWrite(w, r, err, again)
		return
	}
	http.Redirect(w, r, r.URL.Path, http.StatusSeeOther)
}

func (a *Admin) updateIncident(w http.ResponseWriter, r *http.Request, v *visit) {
	id := rowID(r)
	u := content.IncidentUpdate{State: r.PostFormValue("state"), Message: r.PostFormValue("message"), Services: impactsOf(r, a.serviceNames(), false)}
	if _, err := a.opts.Operator.UpdateIncident(r.Context(), v.actor(), id, u); err != nil {
		a.failWrite(w, r, err, func(errs content.FieldErrors) { a.showIncident(w, r, v, id, http.StatusBadRequest, errs) })
		return
	}
	http.Redirect(w, r, "/admin/incidents/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
}

func (a *Admin) deleteIncident(w http.ResponseWriter, r *http.Request, v *visit) {
	id := rowID(r)
	if r.PostFormValue("confirm") != "yes" {
		a.showIncident(w, r, v, id, http.StatusBadRequest, content.FieldErrors{"confirm": "tick the box to delete"})
		return
	}
	if err := a.opts.Operator.DeleteIncident(r.Context(), v.actor(), id); err != nil {
		a.failWrite(w, r, err, func(errs content.FieldErrors) { a.showIncident(w, r, v, id, http.StatusBadRequest, errs) })
		return
	}
	http.Redirect(w, r, "/admin/incidents", http.StatusSeeOther)
}

type serviceRow struct {
	Group, Description, Link string
	Priority                 int
	Config                   bool
	Name, Label, Reason      string
	Code                     int
	Manual, Maintenance      bool
}

func (a *Admin) services(w http.ResponseWriter, r *http.Request, v *visit) {
	a.showServices(w, r, v, http.StatusOK, nil)
}

func (a *Admin) showServices(w http.ResponseWriter, r *http.Request, v *visit, code int, errs content.FieldErrors) {
	var rows []serviceRow
	for _, s := range a.opts.Boards.Board().Services {
		rows = append(rows, serviceRow{Name: s.Name, Label: strings.ReplaceAll(s.Status.String(), "_", " "), Code: int(s.Status),
			Manual: s.Manual, Reason: s.ManualReason, Maintenance: s.Maintenance, Group: s.Group, Config: s.Source == store.SourceConfig,
			Description: s.Description, Link: s.Link, Priority: s.Priority})
	}
	b := a.opts.Boards.Board()
	a.renderWith(w, r, code, "services", v, struct {
		Services []serviceRow
		Groups   []board.Group
	}{rows, b.Groups}, errs, "")
}

func (a *Admin) setStatus(w http.ResponseWriter, r *http.Request, v *visit) {
	in := content.ManualStatus{Service: r.PostFormValue("service"), Reason: r.PostFormValue("reason")}
	if raw := r.PostFormValue("status"); raw != "" {
		s, err := status.ParseServiceStatus(raw)
		if err != nil {
			a.showServices(w, r, v, http.StatusBadRequest, content.FieldErrors{"status": err.Error()})
			return
		}
		in.Status = &s
	}
	if _, _, err := a.opts.Operator.SetManual(r.Context(), v.actor(), in); err != nil {
		a.failWrite(w, r, err, func(errs content.FieldErrors) { a.showServices(w, r, v, http.StatusBadRequest, errs) })
		return
	}
	a.refreshed(w, r, "/admin/services")
}

// formInt reads an integer field; empty is 0.
func formInt(raw, field string, errs content.FieldErrors) int {
	if raw == "" {
		return 0
	}
	n, err := strconv.Atoi(raw)
	if err != nil {
		errs[field] = "is not a whole number"
	}
	return n
}

func (a *Admin) createService(w http.ResponseWriter, r *http.Request, v *visit) {
	errs := content.FieldErrors{}
	s := content.Service{Name: r.PostFormValue("name"), Group: r.PostFormValue("group"), Description: r.PostFormValue("description"),
		Link: r.PostFormValue("link"), Priority: formInt(r.PostFormValue("priority"), "priority", errs)}
	again := func(errs content.FieldErrors) { a.showServices(w, r, v, http.StatusBadRequest, errs) }
	if len(errs) > 0 {
		again(errs)
		return
	}
	if err := a.opts.Operator.AddService(r.Context(), v.actor(), s); err != nil {
		a.failWrite(w, r, err, again)
		return
	}
	a.refreshed(w, r, "/admin/services")
}

func (a *Admin) editService(w http.ResponseWriter, r *http.Request, v *visit) {
	errs := content.FieldErrors{}
	group, desc, link := r.PostFormValue("group"), r.PostFormValue("description"), r.PostFormValue("link")
	prio := formInt(r.PostFormValue("priority"), "priority", errs)
	again := func(errs content.FieldErrors) { a.showServices(w, r, v, http.StatusBadRequest, errs) }
	if len(errs) > 0 {
		again(errs)
		return
	}
	c := content.ServiceChange{Group: &group, Description: &desc, Link: &link, Priority: &prio}
	if err := a.opts.Operator.EditService(r.Context(), v.actor(), r.PostFormValue("name"), c); err != nil {
		a.failWrite(w, r, err, again)
		return
	}
	a.refreshed(w, r, "/admin/services")
}

func (a *Admin) editGroup(w http.ResponseWriter, r *http.Request, v *visit) {
	errs := content.FieldErrors{}
	collapse := r.PostFormValue("collapse")
	prio := formInt(r.PostFormValue("priority"), "priority", errs)
	again := func(errs content.FieldErrors) { a.showServices(w, r, v, http.StatusBadRequest, errs) }
	if len(errs) > 0 {
		again(errs)
		return
	}
	if err := a.opts.Operator.EditGroup(r.Context(), v.actor(), r.PostFormValue("name"), content.GroupChange{Priority: &prio, Collapse: &collapse}); err != nil {
		a.failWrite(w, r, err, again)
		return
	}
	a.refreshed(w, r, "/admin/services")
}

func (a *Admin) deleteService(w http.ResponseWriter, r *http.Request, v *visit) {
	if err := a.opts.Operator.DeleteService(r.Context(), v.actor(), r.PostFormValue("name")); err != nil {
		a.failWrite(w, r, err, func(errs content.FieldErrors) { a.showServices(w, r, v, http.StatusBadRequest, errs) })
		return
	}
	a.refreshed(w, r, "/admin/services")
}

func (a *Admin) createGroup(w http.ResponseWriter, r *http.Request, v *visit) {
	errs := content.FieldErrors{}
	g := content.Group{Name: r.PostFormValue("name"), Collapse: r.PostFormValue("collapse"), Priority: formInt(r.PostFormValue("priority"), "priority", errs)}
	again := func(errs content.FieldErrors) { a.showServices(w, r, v, http.StatusBadRequest, errs) }
	if len(errs) > 0 {
		again(errs)
		return
	}
	if err := a.opts.Operator.AddGroup(r.Context(), v.actor(), g); err != nil {
		a.failWrite(w, r, err, again)
		return
	}
	a.refreshed(w, r, "/admin/services")
}

func (a *Admin) deleteGroup(w http.ResponseWriter, r *http.Request, v *visit) {
	if err := a.opts.Operator.DeleteGroup(r.Context(), v.actor(), r.PostFormValue("name")); err != nil {
		a.failWrite(w, r, err, func(errs content.FieldErrors) { a.showServices(w, r, v, http.StatusBadRequest, errs) })
		return
	}
	a.refreshed(w, r, "/admin/services")
}

// refreshed sends the browser on once the status page's snapshot holds
// the write, so that the next page shows it.
func (a *Admin) refreshed(w http.ResponseWriter, r *http.Request, to string) {
	if a.opts.Refresh != nil {
		if err := a.opts.Refresh(r.Context()); err != nil {
			a.opts.Logger.Warn("Cannot refresh the status page after a write", "err", err)
		}
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

type maintenanceForm struct {
	Title, Description, Start, End string
}

type maintenancesView struct {
	Windows  []store.Maintenance
	Form     maintenanceForm
	Services []windowService
}

// windowServices are the services a window may name, those in chosen
// ticked.
func (a *Admin) windowServices(chosen []string) []windowService {
	var out []windowService
	for _, n := range a.serviceNames() {
		out = append(out, windowService{Name: n, In: slices.Contains(chosen, n)})
	}
	return out
}

func (a *Admin) maintenances(w http.ResponseWriter, r *http.Request, v *visit) {
	a.showMaintenances(w, r, v, http.StatusOK, maintenanceForm{}, nil)
}

func (a *Admin) showMaintenances(w http.ResponseWriter, r *http.Request, v *visit, code int, f maintenanceForm, errs content.FieldErrors) {
	ms, err := a.opts.Store.Maintenances(r.Context(), a.opts.Clock.Now())
	if err != nil {
		a.fail(w, r, http.StatusServiceUnavailable, "statusd cannot read maintenance windows: its database does not answer.")
		return
	}
	a.renderWith(w, r, code, "maintenances", v, maintenancesView{Windows: ms, Form: f, Services: a.windowServices(r.PostForm["service"])}, errs, "")
}

func (a *Admin) createMaintenance(w http.ResponseWriter, r *http.Request, v *visit) {
	f := maintenanceForm{Title: r.PostFormValue("title"), Description: r.PostFormValue("description"), Start: r.PostFormValue("start"), End: r.PostFormValue("end")}
	errs := content.FieldErrors{}
	m := content.Maintenance{Title: f.Title, Description: f.Description, Services: r.PostForm["service"]}
	if t := a.formTimeValue(f.Start, "start", errs); t != nil {
		m.Start = *t
	}
	m.End = a.formTimeValue(f.End, "end", errs)
	again := func(errs content.FieldErrors) { a.showMaintenances(w, r, v, http.StatusBadRequest, f, errs) }
	if len(errs) > 0 {
		again(errs)
		return
	}
	if _, err := a.opts.Operator.AddMaintenance(r.Context(), v.actor(), m); err != nil {
		a.failWrite(w, r, err, again)
		return
	}
	http.Redirect(w, r, "/admin/maintenances", http.StatusSeeOther)
}

type windowService struct {
	Name string
	In   bool
}

type maintenanceView struct {
	ID       int64
	Form     maintenanceForm
	Services []windowService
}

// showMaintenance shows a window's form: as stored, or as sent (f) with
// its errors.
func (a *Admin) showMaintenance(w http.ResponseWriter, r *http.Request, v *visit, id int64, code int, f *maintenanceForm, chosen []string, errs content.FieldErrors) {
	ms, err := a.opts.Store.Maintenances(r.Context(), a.opts.Clock.Now())
	if err != nil {
		a.fail(w, r, http.StatusServiceUnavailable, "statusd cannot read maintenance windows: its database does not answer.")
		return
	}
	i := slices.IndexFunc(ms, func(m store.Maintenance) bool { return m.ID == id })
	if i < 0 {
		a.fail(w, r, http.StatusNotFound, fmt.Sprintf("No maintenance window %d ahead or in progress.", id))
		return
	}
	m := ms[i]
	if f == nil {
		f = &maintenanceForm{Title: m.Title, Description: m.Description, Start: m.StartsAt.In(a.opts.Location).Format(formTime)}
		if e := m.End(); e != nil {
			f.End = e.In(a.opts.Location).Format(formTime)
		}
		chosen = m.Services
	}
	mv := maintenanceView{ID: id, Form: *f, Services: a.windowServices(chosen)}
	a.renderWith(w, r, code, "maintenance", v, mv, errs, m.Title)
}

func (a *Admin) maintenance(w http.ResponseWriter, r *http.Request, v *visit) {
	id := rowID(r)
	a.showMaintenance(w, r, v, id, http.StatusOK, nil, nil, nil)
}

func (a *Admin) editMaintenance(w http.ResponseWriter, r *http.Request, v *visit) {
	id := rowID(r)
	f := maintenanceForm{Title: r.PostFormValue("title"), Description: r.PostFormValue("description"), Start: r.PostFormValue("start"), End: r.PostFormValue("end")}
	chosen := r.PostForm["service"]
	errs := content.FieldErrors{}
	c := content.MaintenanceChange{Title: &f.Title, Description: &f.Description, Start: a.formTimeValue(f.Start, "start", errs),
		End: a.formTimeValue(f.End, "end", errs), NoEnd: f.End == "", Services: &chosen}
	if c.Start == nil && len(errs) == 0 {
		errs["start"] = "is required"
	}
	again := func(errs content.FieldErrors) {
		a.showMaintenance(w, r, v, id, http.StatusBadRequest, &f, chosen, errs)
	}
	if len(errs) > 0 {
		again(errs)
		return
	}
	if _, err := a.opts.Operator.EditMaintenance(r.Context(), v.actor(), id, c); err != nil {
		a.failWrite(w, r, err, again)
		return
	}
	http.Redirect(w, r, "/admin/maintenances", http.StatusSeeOther)
}

func (a *Admin) cancelMaintenance(w http.ResponseWriter, r *http.Request, v *visit) {
	if err := a.opts.Operator.CancelMaintenance(r.Context(), v.actor(), rowID(r)); err != nil {
		a.failWrite(w, r, err, func(errs content.FieldErrors) {
			a.showMaintenances(w, r, v, http.StatusBadRequest, maintenanceForm{}, errs)
		})
		return
	}
	http.Redirect(w, r, "/admin/maintenances", http.StatusSeeOther)
}

type createdToken struct{ Name, Token string }

type tokensView struct {
	Tokens  []store.Token
	Created *createdToken
}

func (a *Admin) tokens(w http.ResponseWriter, r *http.Request, v *visit) {
	a.showTokens(w, r, v, http.StatusOK, nil, nil)
}

func (a *Admin) showTokens(w http.ResponseWriter, r *http.Request, v *visit, code int, created *createdToken, errs content.FieldErrors) {
	ts, err := a.opts.Store.Tokens(r.Context())
	if err != nil {
		a.fail(w, r, http.StatusServiceUnavailable, "statusd cannot read the tokens: its database does not answer.")
		return
	}
	a.renderWith(w, r, code, "tokens", v, tokensView{Tokens: ts, Created: created}, errs, "")
}

// tokenView is a token in the audit log (never the token itself).
type tokenView struct {
	Name  string `json:"name"`
	Scope string `json:"scope"`
}

func (a *Admin) createToken(w http.ResponseWriter, r *http.Request, v *visit) {
	name, scope := r.PostFormValue("name"), r.PostFormValue("scope")
	switch {
	case !store.ValidName(name):
		a.showTokens(w, r, v, http.StatusBadRequest, nil, content.FieldErrors{"name": "use letters, digits, _ . - (at most 64)"})
		return
	case scope != store.ScopeRead && scope != store.ScopeWrite:
		a.showTokens(w, r, v, http.StatusBadRequest, nil, content.FieldErrors{"scope": "is read or write"})
		return
	}
	now := a.opts.Clock.Now()
	token, err := a.opts.Store.AddToken(r.Context(), name, scope, now)
	if errors.Is(err, store.ErrTokenExists) {
		a.showTokens(w, r, v, http.StatusConflict, nil, content.FieldErrors{"name": "is taken by another token"})
		return
	}
	if err != nil {
		a.failWrite(w, r, err, nil)
		return
	}
	if err := a.opts.Store.RecordAudit(r.Context(), v.actor(), "token.create", "token/"+name, nil, tokenView{name, scope}, now); err != nil {
		a.opts.Logger.Error("Cannot audit a token's creation", "token", name, "err", err)
	}
	a.showTokens(w, r, v, http.StatusCreated, &createdToken{Name: name, Token: token}, nil)
}

func (a *Admin) revokeToken(w http.ResponseWriter, r *http.Request, v *visit) {
	name := r.PostFormValue("name")
	now := a.opts.Clock.Now()
	if err := a.opts.Store.RevokeToken(r.Context(), name, now); err != nil {
		if errors.Is(err, store.ErrNoToken) {
			a.fail(w, r, http.StatusNotFound, "No token "+name+".")
			return
		}
		a.failWrite(w, r, err, nil)
		return
	}
	if err := a.opts.Store.RecordAudit(r.Context(), v.actor(), "token.revoke", "token/"+name, tokenView{Name: name}, nil, now); err != nil {
		a.opts.Logger.Error("Cannot audit a token's revocation", "token", name, "err", err)
	}
	http.Redirect(w, r, "/admin/tokens", http.StatusSeeOther)
}

func (a *Admin) users(w http.ResponseWriter, r *http.Request, v *visit) {
	us, err := a.opts.Store.Users(r.Context())
	if err != nil {
		a.fail(w, r, http.StatusServiceUnavailable, "statusd cannot read its users: its database does not answer.")
		return
	}
	a.render(w, r, http.StatusOK, "users", v, us)
}

type auditView struct {
	Entries []store.AuditEntry
	Older   int64
}

func (a *Admin) audit(w http.ResponseWriter, r *http.Request, v *visit) {
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	entries, err := a.opts.Operator.Audit(r.Context(), store.AuditQuery{Before: max(before, 0), Limit: perPage})
	if err != nil {
		a.fail(w, r, http.StatusServiceUnavailable, "statusd cannot read the audit log: its database does not answer.")
		return
	}
	d := auditView{Entries: entries}
	if len(entries) == perPage {
		d.Older = entries[len(entries)-1].ID
	}
	a.render(w, r, http.StatusOK, "audit", v, d)
}

type downtimeView struct {
	Active   bool
	Periods  []store.DowntimePeriod
	Services []string
}

func (a *Admin) downtime(w http.ResponseWriter, r *http.Request, v *visit) {
	a.showDowntime(w, r, v, http.StatusOK, nil)
}

func (a *Admin) showDowntime(w http.ResponseWriter, r *http.Request, v *visit, code int, errs content.FieldErrors) {
	now := a.opts.Clock.Now()
	ps, err := a.opts.Store.DowntimePeriods(r.Context(), now)
	if err != nil {
		a.fail(w, r, http.StatusServiceUnavailable, "statusd cannot read the downtime periods: its database does not answer.")
		return
	}
	d := downtimeView{Periods: ps, Services: a.serviceNames()}
	for _, p := range ps {
		d.Active = d.Active || p.Active(now)
	}
	a.renderWith(w, r, code, "downtime", v, d, errs, "")
}

func (a *Admin) startDowntime(w http.ResponseWriter, r *http.Request, v *visit) {
	errs := content.FieldErrors{}
	d := content.Downtime{Reason: r.PostFormValue("reason"), Services: r.PostForm["service"],
		Start: a.formTimeValue(r.PostFormValue("start"), "start", errs), End: a.formTimeValue(r.PostFormValue("end"), "end", errs)}
	again := func(errs content.FieldErrors) { a.showDowntime(w, r, v, http.StatusBadRequest, errs) }
	if len(errs) > 0 {
		again(errs)
		return
	}
	if _, err := a.opts.Operator.StartDowntime(r.Context(), v.actor(), d); err != nil {
		a.failWrite(w, r, err, again)
		return
	}
	a.refreshed(w, r, "/admin/downtime")
}

func (a *Admin) endDowntime(w http.ResponseWriter, r *http.Request, v *visit) {
	if _, err := a.opts.Operator.EndDowntime(r.Context(), v.actor()); err != nil && !errors.Is(err, store.ErrNoDowntime) {
		a.failWrite(w, r, err, nil)
		return
	}
	a.refreshed(w, r, "/admin/downtime")
}

func (a *Admin) cancelDowntime(w http.ResponseWriter, r *http.Request, v *visit) {
	id := rowID(r)
	if err := a.opts.Operator.CancelDowntime(r.Context(), v.actor(), id); err != nil {
		if errors.Is(err, store.ErrNoDowntime) {
			a.fail(w, r, http.StatusNotFound, "No such downtime period.")
			return
		}
		a.failWrite(w, r, err, nil)
		return
	}
	a.refreshed(w, r, "/admin/downtime")
}
