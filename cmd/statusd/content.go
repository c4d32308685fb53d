package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/statusd/statusd/evaluator"
	"github.com/statusd/statusd/internal/content"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
)

// The commands that write what the status page shows: services' statuses
// set by hand, incidents and maintenance windows. Each opens the store
// with an evaluator loaded, which writes the config's services first, so
// that they can name services before the daemon ever ran.

func (c *cli) addService(a *kingpin.Application) {
	group := a.Command("service", "Set or clear a service's status by hand.")
	var name, reason, st string
	set := c.command(group, "set", "Set a service's status; it wins over the service's checks until cleared.", func(ctx context.Context) error {
		s, _ := status.ParseServiceStatus(st)
		return c.setService(ctx, name, &s, reason)
	})
	set.Arg("name", "Service name, as in the config.").Required().StringVar(&name)
	set.Arg("status", "operational, degraded, partial_outage or major_outage.").Required().
		EnumVar(&st, "operational", "degraded", "partial_outage", "major_outage")
	set.Flag("reason", "Why, for the service's history.").StringVar(&reason)
	clearCmd := c.command(group, "clear", "Clear a service's status set by hand: its checks give it again.", func(ctx context.Context) error {
		return c.setService(ctx, name, nil, "")
	})
	clearCmd.Arg("name", "Service name.").Required().StringVar(&name)
}

// setService is `statusd service set NAME STATUS` (manual != nil) and
// `statusd service clear NAME`.
func (c *cli) setService(ctx context.Context, name string, manual *status.ServiceStatus, reason string) error {
	o, err := c.open(ctx, opening{config: true, store: true})
	if err != nil {
		return err
	}
	defer o.Close()
	var w written
	e, err := o.evaluator(ctx, w.add)
	if err != nil {
		return err
	}
	from, to, err := e.SetManual(ctx, cliActor(), content.ManualStatus{Service: name, Status: manual, Reason: reason})
	if errors.Is(err, store.ErrNoService) {
		return fmt.Errorf("no service %q (services are defined in the config)", name)
	}
	if err != nil {
		return o.errContent(err, 0)
	}
	how := "set by hand until cleared"
	if manual == nil {
		how = "from its checks again"
	}
	fmt.Fprintf(c.stdout, "%s: %s → %s (%s)\n", name, from, to, how)
	return printWritten(c.stdout, w.all())
}

// cliActor is who writes from the command line, for the audit log: the
// system user running statusd.
func cliActor() store.Actor {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	if name == "" {
		name = "unknown"
	}
	return store.Actor{Name: name, Via: store.ViaCLI}
}

// errContent turns an operator write's errors into the command line's:
// field errors are usage errors, and an unknown incident or window (id)
// says how to list them.
func (o *opened) errContent(err error, id int64) error {
	var fe content.FieldErrors
	switch {
	case errors.As(err, &fe):
		return usageError{fmt.Errorf("invalid input: %w", fe)}
	case errors.Is(err, store.ErrNoIncident):
		return fmt.Errorf("no incident %d (statusd incident list shows them)", id)
	case errors.Is(err, store.ErrNoMaintenance):
		return fmt.Errorf("no maintenance window %d (statusd maintenance list shows them)", id)
	}
	return o.errNoService(err)
}

// openContent opens the store and an evaluator for a command that writes
// page content.
func (c *cli) openContent(ctx context.Context) (*opened, *evaluator.Evaluator, error) {
	o, err := c.open(ctx, opening{config: true, store: true})
	if err != nil {
		return nil, nil, err
	}
	e, err := o.evaluator(ctx, nil)
	if err != nil {
		o.Close()
		return nil, nil, err
	}
	return o, e, nil
}

// incidentFlags are the flags of `statusd incident`.
type incidentFlags struct {
	id       int64
	title    string
	services []string
	state    string
	message  string
	// occurred dates an incident back (open, edit).
	occurred string
	impact   string
	template string
	// list: state "open", "closed" or "" (all), at most limit.
	limit int
}

var incidentStates = []string{store.Investigating, store.Identified, store.Monitoring, store.Resolved}

func (c *cli) addIncident(a *kingpin.Application) {
	group := a.Command("incident", "Post incidents on the status page.")
	var f incidentFlags
	run := func(action string) func(context.Context) error {
		return func(ctx context.Context) error { return c.incident(ctx, action, f) }
	}
	open := c.command(group, "open", "Open an incident.", run("open"))
	open.Flag("title", "What visitors read, e.g. \"Payments are slow\" (required unless the template gives it).").StringVar(&f.title)
	open.Flag("service", "A service the incident affects (repeatable).").StringsVar(&f.services)
	open.Flag("state", "State of the first update (default investigating).").EnumVar(&f.state, incidentStates...)
	open.Flag("message", "The first update's text.").StringVar(&f.message)
	open.Flag("occurred", "When it began, to write one up after the fact: -DURATION (-3h), RFC 3339 or \"2026-12-01 14:00\" in the site's time zone (default: now).").StringVar(&f.occurred)
	open.Flag("impact", "How bad it is: its colour on the page (default none).").EnumVar(&f.impact, store.Impacts...)
	open.Flag("template", "A template of the config (incidents.templates): its fields fill the flags not given.").StringVar(&f.template)
	edit := c.command(group, "edit", "Change an incident's title, impact or start.", run("edit"))
	edit.Arg("id", "Incident id.").Required().Int64Var(&f.id)
	edit.Flag("title", "New title.").StringVar(&f.title)
	edit.Flag("impact", "New impact.").EnumVar(&f.impact, store.Impacts...)
	edit.Flag("occurred", "When it began (same forms as open).").StringVar(&f.occurred)
	c.command(group, "delete", "Delete an incident and its updates.", run("delete")).
		Arg("id", "Incident id.").Required().Int64Var(&f.id)
	update := c.command(group, "update", "Add an update to an incident.", run("update"))
	update.Arg("id", "Incident id (statusd incident list).").Required().Int64Var(&f.id)
	update.Flag("state", "The incident's new state (required unless the template gives it).").EnumVar(&f.state, incidentStates...)
	update.Flag("message", "What changed (default: the template's, or the state's default text).").StringVar(&f.message)
	update.Flag("template", "A template of the config: its state and message fill the flags not given.").StringVar(&f.template)
	resolve := c.command(group, "resolve", "Resolve an incident.", run("resolve"))
	resolve.Arg("id", "Incident id.").Required().Int64Var(&f.id)
	resolve.Flag("message", "The last update's text.").StringVar(&f.message)
	list := c.command(group, "list", "List incidents, newest first.", run("list"))
	list.Flag("state", "open or closed (default: both).").EnumVar(&f.state, "open", "closed")
	list.Flag("limit", "At most this many.").Default("20").IntVar(&f.limit)
}

// incident runs `statusd incident open|update|resolve|edit|delete|list`.
func (c *cli) incident(ctx context.Context, action string, f incidentFlags) error {
	o, e, err := c.openContent(ctx)
	if err != nil {
		return err
	}
	defer o.Close()
	now := time.Now()
	loc := o.cfg.Site.Location()
	if action == "list" {
		incs, total, err := o.store.Incidents(ctx, store.IncidentQuery{State: f.state, Limit: f.limit})
		if err != nil {
			return err
		}
		printIncidents(c.stdout, incs, loc)
		if total > len(incs) {
			fmt.Fprintf(c.stdout, "(%d of %d; --limit shows more)\n", len(incs), total)
		}
		return nil
	}
	var occurred *time.Time
	if f.occurred != "" {
		t, err := parseTime(f.occurred, now, loc)
		if err != nil {
			return usageError{fmt.Errorf("--occurred: %w", err)}
		}
		if t.After(now) {
			return usageError{fmt.Errorf("--occurred: %s is in the future", t.In(loc).Format(listTime))}
		}
		occurred = &t
	}
	who := cliActor()
	var inc *store.Incident
	switch action {
	case "open":
		in := content.NewIncident{Template: f.template, Title: f.title, Impact: f.impact, State: f.state, Message: f.message}
		if occurred != nil {
			in.Occurred = *occurred
		}
		for _, s := range f.services {
			in.Services = append(in.Services, content.ServiceImpact{Name: s})
		}
		inc, err = e.OpenIncident(ctx, who, in)
	case "update", "resolve":
		state := f.state
		if action == "resolve" {
			state = store.Resolved
		}
		inc, err = e.UpdateIncident(ctx, who, f.id, content.IncidentUpdate{Template: f.template, State: state, Message: f.message})
	case "edit":
		var ch content.IncidentChange
		if f.title != "" {
			ch.Title = &f.title
		}
		if f.impact != "" {
			ch.Impact = &f.impact
		}
		ch.Occurred = occurred
		inc, err = e.EditIncident(ctx, who, f.id, ch)
	case "delete":
		if err := e.DeleteIncident(ctx, who, f.id); err != nil {
			return o.errContent(err, f.id)
		}
		fmt.Fprintf(c.stdout, "incident %d deleted\n", f.id)
		return nil
	}
	if err != nil {
		return o.errContent(err, f.id)
	}
	verb := map[string]string{"open": "opened", "update": "updated", "resolve": "resolved", "edit": "edited"}[action]
	fmt.Fprintf(c.stdout, "incident %d %s: %s\n", inc.ID, verb, inc.State())
	return nil
}

func printIncidents(w io.Writer, incs []store.Incident, loc *time.Location) {
	rows := make([][]string, len(incs))
	for i, inc := range incs {
		rows[i] = []string{strconv.FormatInt(inc.ID, 10), inc.State(), inc.Occurred.In(loc).Format(listTime), oneLine(inc.Title), strings.Join(inc.Services, ", ")}
	}
	printTable(w, "no incidents", []string{"ID", "STATE", "OCCURRED", "TITLE", "SERVICES"}, rows)
}

// listTime is how listings write times.
const listTime = "2006-01-02 15:04 MST"

// printTable writes an aligned table with a header, or empty when there
// are no rows.
func printTable(w io.Writer, empty string, header []string, rows [][]string) {
	if len(rows) == 0 {
		fmt.Fprintln(w, empty)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, row := range append([][]string{header}, rows...) {
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
}

// maintenanceFlags are the flags of `statusd maintenance`.
type maintenanceFlags struct {
	id                 int64
	title, description string
	start, end         string
	services           []string
}

func (c *cli) addMaintenance(a *kingpin.Application) {
	group := a.Command("maintenance", "Announce maintenance windows on the status page.")
	var f maintenanceFlags
	run := func(action string) func(context.Context) error {
		return func(ctx context.Context) error { return c.maintenance(ctx, action, f) }
	}
	add := c.command(group, "add", "Schedule a maintenance window; its services are in maintenance while it lasts, and notifications about them are held.", run("add"))
	add.Flag("title", "What visitors read.").Required().StringVar(&f.title)
	add.Flag("start", "Start: now, +DURATION, RFC 3339 or \"2026-12-05 22:00\" in the site's time zone.").Required().StringVar(&f.start)
	add.Flag("end", "End (same forms); without one the window lasts until cancelled.").StringVar(&f.end)
	add.Flag("service", "A service in maintenance (repeatable).").StringsVar(&f.services)
	add.Flag("description", "Details for visitors.").StringVar(&f.description)
	c.command(group, "list", "List the windows ahead or in progress.", run("list"))
	c.command(group, "cancel", "Remove a maintenance window.", run("cancel")).
		Arg("id", "Window id (statusd maintenance list).").Required().Int64Var(&f.id)
}

// maintenance runs `statusd maintenance add|list|cancel`.
func (c *cli) maintenance(ctx context.Context, action string, f maintenanceFlags) error {
	o, e, err := c.openContent(ctx)
	if err != nil {
		return err
	}
	defer o.Close()
	return maintenanceCommand(ctx, o, e, action, f, c.stdout)
}

func maintenanceCommand(ctx context.Context, o *opened, e *evaluator.Evaluator, action string, f maintenanceFlags, stdout io.Writer) error {
	id := f.id
	now := time.Now()
	loc := o.cfg.Site.Location()
	switch action {
	case "list":
		ms, err := o.store.Maintenances(ctx, now)
		if err != nil {
			return err
		}
		rows := make([][]string, len(ms))
		for i, m := range ms {
			ends := "until cancelled"
			if e := m.End(); e != nil {
				ends = e.In(loc).Format(listTime)
			}
			rows[i] = []string{strconv.FormatInt(m.ID, 10), m.StartsAt.In(loc).Format(listTime), ends,
				strconv.FormatBool(m.Active(now)), oneLine(m.Title), strings.Join(m.Services, ", ")}
		}
		printTable(stdout, "no maintenance windows ahead or in progress", []string{"ID", "STARTS", "ENDS", "ACTIVE", "TITLE", "SERVICES"}, rows)
		return nil
	case "cancel":
		if err := e.CancelMaintenance(ctx, cliActor(), id); err != nil {
			return o.errContent(err, id)
		}
		fmt.Fprintf(stdout, "maintenance %d cancelled\n", id)
		return nil
	}
	start, err := parseTime(f.start, now, loc)
	if err != nil {
		return fmt.Errorf("--start: %w", err)
	}
	var end *time.Time
	if f.end != "" {
		e, err := parseTime(f.end, now, loc)
		if err != nil {
			return fmt.Errorf("--end: %w", err)
		}
		if !e.After(start) {
			return fmt.Errorf("--end (%s) must be after --start (%s)", e.In(loc).Format(time.RFC3339), start.In(loc).Format(time.RFC3339))
		}
		if !e.After(now) {
			return errors.New("--end is in the past: the window would never show")
		}
		end = &e
	}
	m, err := e.AddMaintenance(ctx, cliActor(), content.Maintenance{Title: f.title, Description: f.description, Start: start, End: end, Services: f.services})
	if err != nil {
		return o.errContent(err, 0)
	}
	fmt.Fprintf(stdout, "maintenance %d scheduled from %s", m.ID, start.In(loc).Format(listTime))
	if end != nil {
		fmt.Fprintf(stdout, " to %s", end.In(loc).Format(listTime))
	}
	fmt.Fprintln(stdout)
	return nil
}

// timeLayouts are the forms parseTime takes besides RFC 3339.
var timeLayouts = []string{"2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02"}

// parseTime reads a time from the command line: "now", "+2h" (from now),
// "-2h" (ago), RFC 3339, or "2026-12-05 22:00" in the site's time zone.
func parseTime(s string, now time.Time, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "now":
		return now, nil
	case strings.HasPrefix(s, "+"), strings.HasPrefix(s, "-"):
		d, err := time.ParseDuration(s[1:])
		if err != nil || d < 0 {
			return time.Time{}, fmt.Errorf("%q: write a duration after %c, such as %c30m or %c2h", s, s[0], s[0], s[0])
		}
		if s[0] == '-' {
			d = -d
		}
		return now.Add(d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if i := slices.IndexFunc(timeLayouts, func(l string) bool { _, err := time.ParseInLocation(l, s, loc); return err == nil }); i >= 0 {
		t, _ := time.ParseInLocation(timeLayouts[i], s, loc)
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q: use now, +DURATION, -DURATION, RFC 3339 (2026-12-05T22:00:00Z) or 2026-12-05 22:00 (in %s)", s, loc)
}
