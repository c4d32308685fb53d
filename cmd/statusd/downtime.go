package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/statusd/statusd/downtime"
	"github.com/statusd/statusd/evaluator"
	"github.com/statusd/statusd/internal/content"
	"github.com/statusd/statusd/internal/store"
	"github.com/statusd/statusd/web"
)

// downtimeFlags are the flags of `statusd downtime`.
type downtimeFlags struct {
	endIn       time.Duration
	start, end  string
	reason      string
	services    []string
	id          int64
	server      string
	tokenFile   string
	timeoutFlag time.Duration
}

// exitDown is `statusd downtime status`'s exit code while down.
const exitDown = 3

func (c *cli) addDowntime(a *kingpin.Application) {
	group := a.Command("downtime", "Take the site down for maintenance and bring it back: the down page, its services in maintenance, notifications held.")
	var f downtimeFlags
	group.Flag("server", "Work on a running statusd over its API (http(s)://host:port) instead of the database.").StringVar(&f.server)
	group.Flag("token-file", "File with a write token, for --server (statusd token add NAME).").StringVar(&f.tokenFile)
	group.Flag("timeout", "How long to wait for --server.").Default("10s").DurationVar(&f.timeoutFlag)
	run := func(action string) func(context.Context) error {
		return func(ctx context.Context) error { return c.downtime(ctx, action, f) }
	}
	start := c.command(group, "start", "Start downtime now, until `downtime end` or for a while.", run("start"))
	start.Flag("end-in", "End it after this long (30m, 2h).").DurationVar(&f.endIn)
	start.Flag("end", "End it at this time: +DURATION, RFC 3339 or \"2026-12-05 23:00\" in the site's time zone.").StringVar(&f.end)
	start.Flag("reason", "What the down page says.").StringVar(&f.reason)
	start.Flag("services", "Services put in maintenance, comma-separated (default: all).").StringsVar(&f.services)
	c.command(group, "end", "End the downtime in progress now.", run("end"))
	schedule := c.command(group, "schedule", "Schedule downtime ahead.", run("schedule"))
	schedule.Flag("start", "When it starts (same forms as --end).").Required().StringVar(&f.start)
	schedule.Flag("end", "When it ends.").Required().StringVar(&f.end)
	schedule.Flag("reason", "What the down page says.").StringVar(&f.reason)
	schedule.Flag("services", "Services put in maintenance, comma-separated (default: all).").StringsVar(&f.services)
	c.command(group, "list", "List the downtime periods ahead or in progress.", run("list"))
	c.command(group, "cancel", "Cancel a downtime period.", run("cancel")).
		Arg("id", "Period id (statusd downtime list).").Required().Int64Var(&f.id)
	c.command(group, "status", "Say whether the site is down; exit 0 when up, 3 when down.", run("status"))
}

// downtimeBackend is where `statusd downtime` works: the database, or a
// statusd over its API.
type downtimeBackend interface {
	Start(ctx context.Context, d content.Downtime) (int64, error)
	End(ctx context.Context) ([]int64, error)
	Cancel(ctx context.Context, id int64) error
	State(ctx context.Context) (downtime.State, error)
	Close()
}

// downtime runs `statusd downtime start|end|schedule|list|cancel|status`.
func (c *cli) downtime(ctx context.Context, action string, f downtimeFlags) error {
	var b downtimeBackend
	loc := time.UTC
	if f.server != "" {
		rb, err := newRemoteDowntime(f.server, f.tokenFile, f.timeoutFlag, action)
		if err != nil {
			return err
		}
		b = rb
	} else {
		o, e, err := c.openContent(ctx)
		if err != nil {
			return err
		}
		b, loc = &localDowntime{o: o, e: e}, o.cfg.Site.Location()
	}
	defer b.Close()
	now := time.Now()
	var services []string
	for _, s := range f.services {
		for _, n := range strings.Split(s, ",") {
			if n = strings.TrimSpace(n); n != "" {
				services = append(services, n)
			}
		}
	}
	switch action {
	case "start", "schedule":
		d := content.Downtime{Reason: f.reason, Services: services}
		if f.start != "" {
			t, err := parseTime(f.start, now, loc)
			if err != nil {
				return usageError{fmt.Errorf("--start: %w", err)}
			}
			d.Start = &t
		}
		switch {
		case f.endIn > 0 && f.end != "":
			return usageError{errors.New("give --end-in or --end, not both")}
		case f.endIn > 0:
			t := now.Add(f.endIn)
			d.End = &t
		case f.end != "":
			t, err := parseTime(f.end, now, loc)
			if err != nil {
				return usageError{fmt.Errorf("--end: %w", err)}
			}
			d.End = &t
		}
		id, err := b.Start(ctx, d)
		if err != nil {
			return downtimeErr(err)
		}
		what := "downtime %d started"
		if d.Start != nil && d.Start.After(now) {
			what = "downtime %d scheduled from " + d.Start.In(loc).Format(listTime)
		}
		fmt.Fprintf(c.stdout, what, id)
		if d.End != nil {
			fmt.Fprintf(c.stdout, " until %s", d.End.In(loc).Format(listTime))
		} else {
			fmt.Fprint(c.stdout, " until `statusd downtime end`")
		}
		fmt.Fprintln(c.stdout)
	case "end":
		ids, err := b.End(ctx)
		if errors.Is(err, store.ErrNoDowntime) {
			return errors.New("no downtime is in progress: nothing to end (statusd downtime list shows the periods)")
		}
		if err != nil {
			return downtimeErr(err)
		}
		fmt.Fprintf(c.stdout, "downtime ended (%s)\n", joinIDs(ids))
	case "cancel":
		if err := b.Cancel(ctx, f.id); err != nil {
			return downtimeErr(err)
		}
		fmt.Fprintf(c.stdout, "downtime %d cancelled\n", f.id)
	case "list":
		s, err := b.State(ctx)
		if err != nil {
			return downtimeErr(err)
		}
		rows := make([][]string, 0, len(s.Periods))
		for _, p := range s.Periods {
			start, end := "never", "until ended"
			if p.Start != nil {
				start = p.Start.In(loc).Format(listTime)
			}
			if p.End != nil {
				end = p.End.In(loc).Format(listTime)
			}
			svc := strings.Join(p.Services, ", ")
			if svc == "" {
				svc = "all"
			}
			rows = append(rows, []string{strconv.FormatInt(p.ID, 10), start, end, strconv.FormatBool(p.Active(now)), oneLine(p.Reason), svc})
		}
		printTable(c.stdout, "no downtime ahead or in progress", []string{"ID", "STARTS", "ENDS", "ACTIVE", "REASON", "SERVICES"}, rows)
	case "status":
		s, err := b.State(ctx)
		if err != nil {
			return downtimeErr(err)
		}
		down, reason, until := s.Down(now)
		if !down {
			fmt.Fprintln(c.stdout, "up")
			return nil
		}
		fmt.Fprint(c.stdout, "down")
		if reason != "" {
			fmt.Fprintf(c.stdout, ": %s", oneLine(reason))
		}
		if until != nil {
			fmt.Fprintf(c.stdout, " (until %s)", until.In(loc).Format(listTime))
		}
		fmt.Fprintln(c.stdout)
		return exitCode(exitDown)
	}
	return nil
}

func joinIDs(ids []int64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = "period " + strconv.FormatInt(id, 10)
	}
	return strings.Join(parts, ", ")
}

// downtimeErr says what went wrong in the command line's words.
func downtimeErr(err error) error {
	var fe content.FieldErrors
	switch {
	case errors.As(err, &fe):
		return usageError{fmt.Errorf("invalid input: %w", fe)}
	case errors.Is(err, store.ErrNoDowntime):
		return fmt.Errorf("%w (statusd downtime list shows the periods)", err)
	}
	return err
}

// localDowntime works on the database.
type localDowntime struct {
	o *opened
	e *evaluator.Evaluator
}

func (l *localDowntime) Start(ctx context.Context, d content.Downtime) (int64, error) {
	id, err := l.e.StartDowntime(ctx, cliActor(), d)
	return id, l.o.errNoService(err)
}
func (l *localDowntime) End(ctx context.Context) ([]int64, error) {
	return l.e.EndDowntime(ctx, cliActor())
}
func (l *localDowntime) Cancel(ctx context.Context, id int64) error {
	return l.e.CancelDowntime(ctx, cliActor(), id)
}
func (l *localDowntime) State(ctx context.Context) (downtime.State, error) {
	ps, err := l.o.store.DowntimePeriods(ctx, time.Now())
	return web.DowntimeState(ps), err
}
func (l *localDowntime) Close() { l.o.Close() }

// remoteDowntime works on a statusd over its API.
type remoteDowntime struct {
	base   string
	token  string
	client *http.Client
}

func newRemoteDowntime(server, tokenFile string, timeout time.Duration, action string) (*remoteDowntime, error) {
	if !strings.HasPrefix(server, "http://") && !strings.HasPrefix(server, "https://") {
		return nil, usageError{fmt.Errorf("--server %q: give http(s)://host:port", server)}
	}
	r := &remoteDowntime{base: strings.TrimSuffix(server, "/"), client: &http.Client{Timeout: timeout}}
	if tokenFile != "" {
		line, err := firstLine(tokenFile, 4096)
		if err != nil {
			return nil, usageError{fmt.Errorf("--token-file: %w", err)}
		}
		r.token = strings.TrimSpace(line)
	}
	if r.token == "" && action != "list" && action != "status" {
		return nil, usageError{errors.New("--server needs --token-file with a write token (statusd token add NAME) to change downtime")}
	}
	// The token goes to the server named, never to another host a
	// redirect names.
	r.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return r, nil
}

func (r *remoteDowntime) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("statusd at %s cannot be reached: %w", r.base, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var e struct {
		Error  string            `json:"error"`
		Fields map[string]string `json:"fields"`
	}
	_ = json.Unmarshal(b, &e)
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return fmt.Errorf("statusd at %s refused the token (unknown or revoked): %s", r.base, e.Error)
	case resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("statusd at %s refused: %s", r.base, e.Error)
	case resp.StatusCode == http.StatusConflict:
		return fmt.Errorf("%s: %w", e.Error, store.ErrNoDowntime)
	case resp.StatusCode == http.StatusNotFound && method == http.MethodDelete:
		return fmt.Errorf("%s: %w", e.Error, store.ErrNoDowntime)
	case resp.StatusCode == http.StatusBadRequest && len(e.Fields) > 0:
		return content.FieldErrors(e.Fields)
	case resp.StatusCode >= 300:
		if e.Error == "" {
			e.Error = resp.Status
		}
		return fmt.Errorf("statusd at %s answered %d: %s", r.base, resp.StatusCode, e.Error)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("statusd at %s answered what is not its API: %w", r.base, err)
		}
	}
	return nil
}

func (r *remoteDowntime) Start(ctx context.Context, d content.Downtime) (int64, error) {
	var out struct {
		ID int64 `json:"id"`
	}
	body := map[string]any{"reason": d.Reason, "services": d.Services}
	if d.Start != nil {
		body["start"] = d.Start
	}
	if d.End != nil {
		body["end"] = d.End
	}
	err := r.call(ctx, http.MethodPost, "/api/v1/downtime", body, &out)
	return out.ID, err
}

func (r *remoteDowntime) End(ctx context.Context) ([]int64, error) {
	var out struct {
		Ended []int64 `json:"ended"`
	}
	err := r.call(ctx, http.MethodPost, "/api/v1/downtime/end", nil, &out)
	return out.Ended, err
}

func (r *remoteDowntime) Cancel(ctx context.Context, id int64) error {
	return r.call(ctx, http.MethodDelete, "/api/v1/downtime/"+strconv.FormatInt(id, 10), nil, nil)
}

func (r *remoteDowntime) State(ctx context.Context) (downtime.State, error) {
	var s downtime.State
	err := r.call(ctx, http.MethodGet, "/api/v1/downtime", nil, &s)
	return s, err
}

func (r *remoteDowntime) Close() {}
