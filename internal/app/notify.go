package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/statusd/statusd/evaluator"
	"github.com/statusd/statusd/exporter"
	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/message"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
	"github.com/statusd/statusd/notifier"
	"github.com/statusd/statusd/notifier/integrations"
)

// OneShotOptions are the flags of the commands that work on the store
// from the command line: statusd notify and statusd service.
type OneShotOptions struct {
	ConfigFile string
	StorageDSN string
	// DryRun decides and prints, and writes nothing.
	DryRun bool
	Logger *slog.Logger
}

// oneShot is the config, the store, an evaluator loaded from it and a
// dispatcher for its receivers.
type oneShot struct {
	cfg        *config.Config
	store      *store.Store
	eval       *evaluator.Evaluator
	dispatcher *notifier.Dispatcher
}

// openOneShot loads the config and the store; the store is migrated,
// unless dryRun, which needs it migrated already and writes nothing.
func openOneShot(ctx context.Context, opts OneShotOptions) (*oneShot, error) {
	cfg, err := LoadConfig(opts.ConfigFile, opts.Logger)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, opts.StorageDSN, store.Options{})
	if err != nil {
		return nil, err
	}
	if opts.DryRun {
		ms, err := store.Migrations(st.Dialect())
		if err == nil {
			var v int
			if v, err = st.SchemaVersion(ctx); err == nil && v != ms[len(ms)-1].Version {
				err = fmt.Errorf("%s is at schema version %d, not %d: run statusd migrate first", st, v, ms[len(ms)-1].Version)
			}
		}
		if err != nil {
			st.Close()
			return nil, err
		}
	} else if _, err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("%s: %w", st, err)
	}
	e := evaluator.New(evaluator.Options{Logger: opts.Logger, Store: st, DryRun: opts.DryRun, KeepWritten: true})
	e.Apply(cfg)
	if err := e.Load(ctx); err != nil {
		st.Close()
		return nil, err
	}
	receivers, err := integrations.Build(cfg, st)
	if err != nil {
		st.Close()
		return nil, err
	}
	d := notifier.New(notifier.Options{Store: st, Logger: opts.Logger})
	d.SetReceivers(receivers, integrations.Policy(cfg))
	return &oneShot{cfg: cfg, store: st, eval: e, dispatcher: d}, nil
}

// deliver sends what waits in the outbox now, group wait or not, and
// says how it went.
func (o *oneShot) deliver(ctx context.Context, stdout io.Writer) int {
	total := 0
	for range 100 { // at most 100 rounds of 200 per receiver
		n, err := o.dispatcher.Round(ctx, true)
		if err != nil {
			fmt.Fprintf(stdout, "Delivery stopped: %v\n", err)
			return 1
		}
		total += n
		if n == 0 {
			break
		}
	}
	pending, _, err := o.store.OutboxStats(ctx)
	if err != nil {
		pending = -1
	}
	fmt.Fprintf(stdout, "Delivered %d notifications; %d wait (retried by the daemon, or by the next run).\n", total, pending)
	return 0
}

// NotifyOnce is `statusd notify instant|digest`: one round of
// notifications, for cron users (django_status's status_send_instant and
// status_send_digest). Instant runs the checks that notify instantly,
// once, and evaluates them on the stored state; digest composes each
// receiver's digest from the stored state. What is decided is written to
// the outbox, or only printed with DryRun. It returns the exit code.
func NotifyOnce(ctx context.Context, kind string, opts OneShotOptions, stdout, stderr io.Writer) int {
	o, err := openOneShot(ctx, opts)
	if err != nil {
		fmt.Fprintf(stderr, "statusd notify: %v\n", err)
		return 1
	}
	defer o.store.Close()
	var rows []store.OutboxRow
	switch kind {
	case "instant":
		e := exporter.New(exporter.Options{Logger: opts.Logger, Store: o.store, Build: BuildInfo(opts.Logger), Observers: []exporter.Observer{o.eval}})
		if err := e.Apply(o.cfg); err != nil {
			fmt.Fprintf(stderr, "statusd notify: %v\n", err)
			return ExitUsage
		}
		if hb, err := o.store.LastHeartbeats(ctx); err == nil {
			e.LoadHeartbeats(ctx, hb)
		}
		var checks []*exporter.Check
		o.cfg.Each(func(r string, ch *config.Check) {
			if ch.Notify != nil && ch.Notify.Mode == config.NotifyInstant {
				if c, ok := e.Check(ch.ID(r)); ok {
					checks = append(checks, c)
				}
			}
		})
		e.Fresh(ctx, checks)
		o.eval.Evaluate(ctx)
		o.eval.Flush(ctx)
		rows = o.eval.Written()
		fmt.Fprintf(stdout, "%d checks notified instantly ran.\n", len(checks))
	case "digest":
		if _, err := o.eval.Digest(ctx, time.Now()); err != nil {
			fmt.Fprintf(stderr, "statusd notify: %v\n", err)
			return 1
		}
		rows = o.eval.Written()
	default:
		fmt.Fprintf(stderr, "statusd notify: unknown kind %q (want instant or digest)\n", kind)
		return ExitUsage
	}
	verb := "written to the outbox"
	if opts.DryRun {
		verb = "would be written (dry run: nothing was)"
	}
	if len(rows) == 0 {
		fmt.Fprintln(stdout, "Nothing to notify.")
	} else {
		fmt.Fprintf(stdout, "%d notifications %s:\n", len(rows), verb)
		if err := printRows(stdout, rows); err != nil {
			fmt.Fprintf(stderr, "statusd notify: %v\n", err)
			return 1
		}
	}
	if opts.DryRun {
		return 0
	}
	// What waits in the outbox goes now, this round's and any other's.
	return o.deliver(ctx, stdout)
}

// NotifyTest is `statusd notify test RECEIVER`: a test message through
// each of the receiver's integrations at once, each one's outcome
// printed; it exits 1 when one fails.
func NotifyTest(ctx context.Context, receiver string, opts OneShotOptions, stdout, stderr io.Writer) int {
	cfg, err := LoadConfig(opts.ConfigFile, opts.Logger)
	if err != nil {
		fmt.Fprintf(stderr, "statusd notify test: %v\n", err)
		return ExitUsage
	}
	receivers, err := integrations.Build(cfg, nil)
	if err != nil {
		fmt.Fprintf(stderr, "statusd notify test: %v\n", err)
		return ExitUsage
	}
	i := slices.IndexFunc(receivers, func(r notifier.Receiver) bool { return r.Name == receiver })
	if i < 0 {
		fmt.Fprintf(stderr, "statusd notify test: no receiver %q in %s\n", receiver, opts.ConfigFile)
		return ExitUsage
	}
	m := &message.Message{
		Version: message.Version, Kind: message.Test, Receiver: receiver, Site: message.Site{Name: cfg.Site.Name, URL: cfg.Site.URL}, Time: time.Now().UTC(),
		Checks: []message.Check{{ID: "statusd/test", Level: status.Fine, Message: "This is a test notification from statusd: this receiver works."}},
	}
	code := 0
	for _, in := range receivers[i].Integrations {
		if _, err := in.Notifier.Notify(ctx, m); err != nil {
			fmt.Fprintf(stdout, "%s: %s: failed: %v\n", receiver, in.Name, err)
			code = 1
			continue
		}
		fmt.Fprintf(stdout, "%s: %s: sent\n", receiver, in.Name)
	}
	return code
}

// printRows prints outbox rows by receiver, a line per check or change.
func printRows(w io.Writer, rows []store.OutboxRow) error {
	slices.SortStableFunc(rows, func(a, b store.OutboxRow) int { return strings.Compare(a.Receiver, b.Receiver) })
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	last := ""
	for _, r := range rows {
		var m message.Message
		if err := json.Unmarshal([]byte(r.Payload), &m); err != nil {
			return fmt.Errorf("outbox row %s: %w", r.DedupKey, err)
		}
		if r.Receiver != last {
			fmt.Fprintf(tw, "%s:\n", r.Receiver)
			last = r.Receiver
		}
		kind := r.Kind
		if r.State == store.OutboxSuppressed {
			kind += " (suppressed: maintenance)"
		}
		switch {
		case m.Service != nil:
			fmt.Fprintf(tw, "  %s\t%s\t%s → %s\t%s\n", kind, m.Service.Name, m.Service.From, m.Service.To, m.Service.Cause)
		case m.Kind == message.Digest:
			fmt.Fprintf(tw, "  %s\t%d checks, %d open incidents\t\t\n", kind, len(m.Checks), len(m.Incidents))
			for _, c := range m.Checks {
				fmt.Fprintf(tw, "  \t%s\t%s\t%s\n", c.ID, c.Level, oneLine(c.Message))
			}
			for _, inc := range m.Incidents {
				fmt.Fprintf(tw, "  \tincident #%d\t%s\t%s\n", inc.ID, inc.State, inc.Title)
			}
		default:
			for _, c := range m.Checks {
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", kind, c.ID, c.Level, oneLine(c.Message))
			}
		}
	}
	return tw.Flush()
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

// ServiceCommand is `statusd service set NAME STATUS` (manual != nil) and
// `statusd service clear NAME`.
func ServiceCommand(ctx context.Context, name string, manual *status.ServiceStatus, reason string, opts OneShotOptions, stdout, stderr io.Writer) int {
	o, err := openOneShot(ctx, opts)
	if err != nil {
		fmt.Fprintf(stderr, "statusd service: %v\n", err)
		return 1
	}
	defer o.store.Close()
	from, to, err := o.eval.SetManual(ctx, name, manual, reason)
	if errors.Is(err, store.ErrNoService) {
		fmt.Fprintf(stderr, "statusd service: no service %q (services are defined in the config)\n", name)
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "statusd service: %v\n", err)
		return 1
	}
	how := "set by hand until cleared"
	if manual == nil {
		how = "from its checks again"
	}
	fmt.Fprintf(stdout, "%s: %s → %s (%s)\n", name, from, to, how)
	return printNotified(stdout, o.eval.Written())
}

func printNotified(w io.Writer, rows []store.OutboxRow) int {
	if len(rows) == 0 {
		return 0
	}
	fmt.Fprintf(w, "%d notifications written to the outbox:\n", len(rows))
	if err := printRows(w, rows); err != nil {
		fmt.Fprintln(w, err)
		return 1
	}
	return 0
}
