package page

import (
	"cmp"
	"slices"
	"time"

	"github.com/statusd/statusd/internal/board"
	"github.com/statusd/statusd/internal/i18n"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
)

// Data is what every page template gets. Template overrides use these
// names (documented in the README).
type Data struct {
	Site SiteInfo
	// Root leads from the page back to the status page's root ("",
	// "../", …): every link is relative, so statusd works behind a proxy
	// under any path.
	Root string
	// Favicon is the icon link, following the worst status.
	Favicon string
	// Worst is the worst status of all services; nil when there are none.
	Worst *StatusView
	// AutoRefresh is page.auto_refresh in seconds (0: off).
	AutoRefresh int
	Assets      Assets
	Version     string
	Now         time.Time
	// Lang is the page's language (.Lang.Code for <html lang>), and
	// Langs every language, for the switcher (none when page.language
	// forces one).
	Lang  *i18n.Lang
	Langs []LangLink
	// Brand is page.logo, page.accent_color and page.header_links.
	Brand Brand
	// Subscribe is set when visitors may subscribe (a link to
	// /subscribe).
	Subscribe bool

	// One of these is set, by page.
	Index    *Index
	Incident *IncidentView
	Archive  *Archive
	Checks   *ChecksView
	Error    *ErrorView
	// Subscription is the subscription page's step.
	Subscription *SubscribeView
}

// LangLink links to the page in a language.
type LangLink struct {
	Code, Name string
	Current    bool
}

// Brand is how the site dresses the page.
type Brand struct {
	// Logo is the logo's path under the root, "" for the title alone.
	Logo string
	// Accent is a #rrggbb colour, "" for the default; CSS is the path
	// of the stylesheet that sets it.
	Accent, CSS string
	Links       []HeaderLink
}

// HeaderLink is a link in the header.
type HeaderLink struct{ Name, URL string }

// SiteInfo names the site.
type SiteInfo struct {
	Name, Title, URL string
}

// Assets are the embedded stylesheet and script, by versioned path.
type Assets struct {
	CSS, JS string
}

// StatusView is a service status as pages show it.
type StatusView struct {
	Code    int    // 0 operational … 3 major outage
	Key     string // operational, degraded, partial_outage, major_outage
	Label   string // Operational, Degraded performance, …
	Summary string // the banner text
}

func statusView(s status.ServiceStatus, l *i18n.Lang) *StatusView {
	return &StatusView{Code: int(s), Key: s.String(), Label: l.T("status." + s.String()), Summary: l.T("summary." + s.String())}
}

// Index is the status page.
type Index struct {
	// Downtime is the downtime in progress, nil when there is none.
	Downtime     *DowntimeView
	Maintenances []MaintenanceView
	Groups       []GroupView
	// Ungrouped are the services of no group ("Other services"), and
	// UngroupedWorst their worst status.
	Ungrouped      []ServiceView
	UngroupedWorst *StatusView
	// Days are the incidents shown, newest first, by day.
	Days         []IncidentDay
	IncidentDays int
}

// DowntimeView is downtime in progress.
type DowntimeView struct {
	Reason string
	// Until is the latest end of the periods in progress, nil when one
	// has none.
	Until    *time.Time
	Services []string
}

// downtimeView is the downtime in progress on a board at now.
func downtimeView(b *board.Board, now time.Time) *DowntimeView {
	var v *DowntimeView
	open := false
	for _, p := range b.Downtime {
		if !p.Active(now) {
			continue
		}
		if v == nil {
			v = &DowntimeView{Reason: p.Reason}
		}
		v.Services = append(v.Services, p.Services...)
		switch {
		case !p.End.Valid:
			open = true
		case v.Until == nil || p.End.Time.After(*v.Until):
			end := p.End.Time.UTC()
			v.Until = &end
		}
	}
	if v != nil && open {
		v.Until = nil
	}
	return v
}

// MaintenanceView is a maintenance notice.
type MaintenanceView struct {
	ID          int64
	Title       string
	Description string
	Starts      time.Time
	Ends        *time.Time
	Active      bool
	Services    []string
}

// GroupView is a group of services.
type GroupView struct {
	Name      string
	Collapsed bool
	// Worst is the worst status of its services; nil when it has none.
	Worst    *StatusView
	Services []ServiceView
}

// ServiceView is a service row.
type ServiceView struct {
	Name, Description, Link string
	Status                  *StatusView
	Maintenance             bool
	Manual                  bool
	ManualReason            string
	Since                   time.Time
	Uptime                  *UptimeBar
	Chart                   *Chart
}

// IncidentDay is the incidents of one day.
type IncidentDay struct {
	Date      time.Time
	Label     string
	Incidents []IncidentView
}

// IncidentView is an incident with its updates, newest first.
type IncidentView struct {
	ID         int64
	Root       string
	Title      string
	State      string
	StateLabel string
	// Impact is none, minor, major or critical: the incident's colour,
	// and ImpactLabel says it.
	Impact, ImpactLabel string
	// Duration is how long a closed incident lasted ("2 hours"), from
	// its occurrence to its resolution.
	Duration string
	Closed   bool
	Occurred time.Time
	Services []string
	Updates  []UpdateView
	// Month is the archive month of the incident ("2026/11"), and
	// MonthLabel names it ("November 2026").
	Month, MonthLabel string
}

// UpdateView is one update of an incident.
type UpdateView struct {
	State, StateLabel, Message string
	At                         time.Time
	// Note is statusd's own line in an operator's incident.
	Note bool
}

// ErrorView is an error page.
type ErrorView struct {
	Title, Message string
}

// stateLabel says an incident state in a language.
func stateLabel(s string, l *i18n.Lang) string {
	switch s {
	case store.Investigating, store.Identified, store.Monitoring, store.Resolved:
		return l.T("state." + s)
	}
	return s
}

// duration says how long something lasted, in minutes, hours or days.
func duration(d time.Duration, l *i18n.Lang) string {
	switch {
	case d < 90*time.Minute:
		return l.N("time.duration.minutes", max(int((d+30*time.Second)/time.Minute), 1))
	case d < 48*time.Hour:
		return l.N("time.duration.hours", int((d+30*time.Minute)/time.Hour))
	default:
		return l.N("time.duration.days", int((d+12*time.Hour)/(24*time.Hour)))
	}
}

func incidentView(inc *store.Incident, root string, loc *time.Location, l *i18n.Lang) IncidentView {
	v := IncidentView{
		ID: inc.ID, Root: root, Title: inc.Title, State: inc.State(), StateLabel: stateLabel(inc.State(), l), Impact: inc.Impact,
		Closed: inc.Closed, Occurred: inc.Occurred, Services: inc.Services,
		Month: inc.Occurred.In(loc).Format("2006/01"), MonthLabel: l.MonthYear(inc.Occurred.In(loc)),
	}
	if inc.Impact != "" && inc.Impact != "none" {
		v.ImpactLabel = l.T("impact." + inc.Impact)
	}
	for _, u := range inc.Updates {
		v.Updates = append(v.Updates, UpdateView{State: u.State, StateLabel: stateLabel(u.State, l), Message: u.Message, At: u.CreatedAt, Note: u.Note})
	}
	// Updates are newest first: a closed incident lasted until its last.
	if inc.Closed && len(inc.Updates) > 0 && inc.Updates[0].CreatedAt.After(inc.Occurred) {
		v.Duration = l.T("time.lasted", "Duration", duration(inc.Updates[0].CreatedAt.Sub(inc.Occurred), l))
	}
	return v
}

// byDay groups incidents (newest first) under their day in loc.
func byDay(incs []store.Incident, root string, loc *time.Location, l *i18n.Lang) []IncidentDay {
	var days []IncidentDay
	for i := range incs {
		t := incs[i].Occurred.In(loc)
		d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
		if len(days) == 0 || !days[len(days)-1].Date.Equal(d) {
			days = append(days, IncidentDay{Date: d, Label: l.Day(d)})
		}
		last := &days[len(days)-1]
		last.Incidents = append(last.Incidents, incidentView(&incs[i], root, loc, l))
	}
	return days
}

// IndexWindow is the first moment of the index's incident window: UTC
// midnight of today − (days−1) (django-statusboard's rule: days 1 is
// today, days 0 is tomorrow's midnight, which keeps only future-dated
// incidents).
func IndexWindow(now time.Time, days int) time.Time {
	now = now.UTC()
	t := now.AddDate(0, 0, -(days - 1))
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// IndexIncidents selects the incidents the index shows, newest first:
// those that occurred in the window, and every open one when openAlways.
func IndexIncidents(incs []store.Incident, now time.Time, days int, openAlways bool) []store.Incident {
	since := IndexWindow(now, days)
	var out []store.Incident
	for _, inc := range incs {
		if !inc.Occurred.Before(since) || (openAlways && !inc.Closed) {
			out = append(out, inc)
		}
	}
	slices.SortStableFunc(out, func(a, b store.Incident) int {
		if c := b.Occurred.Compare(a.Occurred); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	return out
}

// uptimeData is what the store holds of services' pasts, for the bars.
type uptimeData struct {
	version int64 // the board version it was read at
	read    time.Time
	changes map[string][]store.StatusChange
	// then are the services' statuses when it was read.
	then  map[string]store.StatusChange
	days  map[status.CheckID][]store.Rollup
	hours map[status.CheckID][]store.Rollup
	// durations are the stored runs' durations of the last day, of the
	// checks the charts show.
	durations map[status.CheckID][]float64
}

// buildIndex builds the index of a board.
func (r *renderer) buildIndex(b *board.Board, up *uptimeData, timed func(status.CheckID) bool, now time.Time, l *i18n.Lang) *Index {
	idx := &Index{IncidentDays: r.settings.IncidentDays, Downtime: downtimeView(b, now)}
	for _, m := range b.Maintenances {
		idx.Maintenances = append(idx.Maintenances, MaintenanceView{
			ID: m.ID, Title: m.Title, Description: m.Description, Starts: m.StartsAt, Ends: m.End(), Active: m.Active(now), Services: m.Services,
		})
	}
	services := map[string]ServiceView{}
	for _, s := range b.Services {
		services[s.Name] = serviceView(s, up, timed, now, l)
	}
	for i := range b.Groups {
		g := &b.Groups[i]
		if len(g.Services) == 0 {
			continue // an empty group says nothing to visitors
		}
		gv := GroupView{Name: g.Name, Worst: statusView(g.Worst(), l), Collapsed: g.Collapsed()}
		for _, s := range g.Services {
			gv.Services = append(gv.Services, services[s.Name])
		}
		idx.Groups = append(idx.Groups, gv)
	}
	worst := status.Operational
	for _, s := range b.Ungrouped {
		worst = max(worst, s.Status)
		idx.UngroupedWorst = statusView(worst, l)
		idx.Ungrouped = append(idx.Ungrouped, services[s.Name])
	}
	incs := IndexIncidents(b.Incidents, now, r.settings.IncidentDays, r.settings.OpenIncidentsAlways)
	idx.Days = byDay(incs, "", r.settings.Location, l)
	return idx
}

// history is a service's status changes, with the board's latest when
// the data was read before it: today's bar follows the status at once,
// not at the next read.
func (up *uptimeData) history(s *board.Service) []store.StatusChange {
	changes := up.changes[s.Name]
	last, ok := up.then[s.Name]
	if n := len(changes); n > 0 {
		last, ok = changes[n-1], true
	}
	if !ok || (status.ServiceStatus(last.New) == s.Status && last.Maintenance == s.Maintenance) || !s.Since.After(last.At) {
		return changes
	}
	return append(changes[:len(changes):len(changes)], store.StatusChange{Service: s.Name, At: s.Since, Old: last.New,
		New: int(s.Status), Maintenance: s.Maintenance})
}

func serviceView(s *board.Service, up *uptimeData, timed func(status.CheckID) bool, now time.Time, l *i18n.Lang) ServiceView {
	v := ServiceView{
		Name: s.Name, Description: s.Description, Link: s.Link, Status: statusView(s.Status, l),
		Maintenance: s.Maintenance, Manual: s.Manual, ManualReason: s.ManualReason, Since: s.Since,
	}
	if up == nil {
		return v
	}
	var perCheck [][]store.Rollup
	for _, id := range s.Checks {
		perCheck = append(perCheck, up.days[id])
		if v.Chart == nil && timed != nil && timed(id) {
			v.Chart = sparkline(up.hours[id], up.durations[id], l)
		}
	}
	v.Uptime = uptimeBar(ServiceDays(now, UptimeDays, s.Status, s.Created, up.history(s), SumDays(perCheck)), l)
	return v
}
