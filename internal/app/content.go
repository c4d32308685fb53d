package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/statusd/statusd/internal/store"
)

// IncidentOptions are the flags of `statusd incident`.
type IncidentOptions struct {
	OneShotOptions
	Title    string
	Services []string
	State    string
	Message  string
	// List: State "open", "closed" or "" (all), at most Limit.
	Limit int
}

// Default messages of incident updates written without one.
var defaultMessages = map[string]string{
	store.Investigating: "We are investigating this issue.",
	store.Identified:    "The cause has been identified.",
	store.Monitoring:    "A fix is in place; we are monitoring the results.",
	store.Resolved:      "This incident has been resolved.",
}

// contentCommand runs a command that writes page content on the store;
// fn's error is printed after the command's name, and exits 1. Opening
// writes the config's services (the evaluator's load does), so that
// incidents and maintenance windows can name them before the daemon ever
// ran.
func contentCommand(ctx context.Context, name string, opts OneShotOptions, stderr io.Writer, fn func(o *oneShot) error) int {
	o, err := openOneShot(ctx, opts)
	if err == nil {
		defer o.store.Close()
		err = fn(o)
	}
	if err != nil {
		fmt.Fprintf(stderr, "statusd %s: %v\n", name, err)
		return 1
	}
	return 0
}

// IncidentCommand runs `statusd incident open|update|resolve|list`; id is
// the incident of update and resolve.
func IncidentCommand(ctx context.Context, action string, id int64, opts IncidentOptions, stdout, stderr io.Writer) int {
	return contentCommand(ctx, "incident "+action, opts.OneShotOptions, stderr, func(o *oneShot) error {
		return incidentCommand(ctx, o, action, id, opts, stdout)
	})
}

func incidentCommand(ctx context.Context, o *oneShot, action string, id int64, opts IncidentOptions, stdout io.Writer) error {
	now := time.Now()
	if action == "list" {
		incs, total, err := o.store.Incidents(ctx, store.IncidentQuery{State: opts.State, Limit: opts.Limit})
		if err != nil {
			return err
		}
		printIncidents(stdout, incs, o.cfg.Site.Location())
		if total > len(incs) {
			fmt.Fprintf(stdout, "(%d of %d; --limit shows more)\n", len(incs), total)
		}
		return nil
	}
	msg := opts.Message
	state := opts.State
	if action == "resolve" {
		state = store.Resolved
	}
	if msg == "" {
		msg = defaultMessages[state]
	}
	err := o.store.Update(ctx, func(tx *store.Tx) error {
		switch action {
		case "open":
			ids, err := tx.ServiceIDs(opts.Services)
			if err != nil {
				return err
			}
			id, err = tx.OpenIncident(opts.Title, ids, state, msg, false, now)
			return err
		default:
			return tx.AddIncidentUpdate(id, state, msg, now)
		}
	})
	switch {
	case errors.Is(err, store.ErrNoService):
		return unknownService(o, err)
	case errors.Is(err, store.ErrNoIncident):
		return fmt.Errorf("no incident %d (statusd incident list shows them)", id)
	case err != nil:
		return err
	}
	verb := map[string]string{"open": "opened", "update": "updated", "resolve": "resolved"}[action]
	fmt.Fprintf(stdout, "incident %d %s: %s\n", id, verb, state)
	return nil
}

// unknownService says which services there are.
func unknownService(o *oneShot, err error) error {
	return fmt.Errorf("%w (services are defined in the config: %s)", err, strings.Join(serviceNames(o), ", "))
}

func serviceNames(o *oneShot) []string {
	var names []string
	for _, s := range o.cfg.Services {
		names = append(names, s.Name)
	}
	return names
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

// MaintenanceOptions are the flags of `statusd maintenance`.
type MaintenanceOptions struct {
	OneShotOptions
	Title, Description string
	Start, End         string
	Services           []string
}

// MaintenanceCommand runs `statusd maintenance add|list|cancel`; id is
// the window cancel removes.
func MaintenanceCommand(ctx context.Context, action string, id int64, opts MaintenanceOptions, stdout, stderr io.Writer) int {
	return contentCommand(ctx, "maintenance "+action, opts.OneShotOptions, stderr, func(o *oneShot) error {
		return maintenanceCommand(ctx, o, action, id, opts, stdout)
	})
}

func maintenanceCommand(ctx context.Context, o *oneShot, action string, id int64, opts MaintenanceOptions, stdout io.Writer) error {
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
		err := o.store.Update(ctx, func(tx *store.Tx) error { return tx.CancelMaintenance(id) })
		if errors.Is(err, store.ErrNoMaintenance) {
			return fmt.Errorf("no maintenance window %d (statusd maintenance list shows them)", id)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "maintenance %d cancelled\n", id)
		return nil
	}
	start, err := ParseTime(opts.Start, now, loc)
	if err != nil {
		return fmt.Errorf("--start: %w", err)
	}
	var end *time.Time
	if opts.End != "" {
		e, err := ParseTime(opts.End, now, loc)
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
	err = o.store.Update(ctx, func(tx *store.Tx) error {
		ids, err := tx.ServiceIDs(opts.Services)
		if err != nil {
			return err
		}
		id, err = tx.AddMaintenance(opts.Title, opts.Description, start, end, ids, now)
		return err
	})
	if errors.Is(err, store.ErrNoService) {
		return unknownService(o, err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "maintenance %d scheduled from %s", id, start.In(loc).Format(listTime))
	if end != nil {
		fmt.Fprintf(stdout, " to %s", end.In(loc).Format(listTime))
	}
	fmt.Fprintln(stdout)
	return nil
}

// timeLayouts are the forms ParseTime takes besides RFC 3339.
var timeLayouts = []string{"2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02"}

// ParseTime reads a time from the command line: "now", "+2h" (from now),
// RFC 3339, or "2026-12-05 22:00" in the site's time zone.
func ParseTime(s string, now time.Time, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "now":
		return now, nil
	case strings.HasPrefix(s, "+"):
		d, err := time.ParseDuration(s[1:])
		if err != nil || d < 0 {
			return time.Time{}, fmt.Errorf("%q: write a duration after +, such as +30m or +2h", s)
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
	return time.Time{}, fmt.Errorf("%q: use now, +DURATION, RFC 3339 (2026-12-05T22:00:00Z) or 2026-12-05 22:00 (in %s)", s, loc)
}
