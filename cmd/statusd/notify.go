package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/statusd/statusd/evaluator"
	"github.com/statusd/statusd/exporter"
	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/message"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
	"github.com/statusd/statusd/notifier"
	"github.com/statusd/statusd/notifier/integrations"
)

func (c *cli) addNotify(a *kingpin.Application) {
	group := a.Command("notify", "One round of notifications, for cron: decided on the stored state, written to the outbox.")
	var instantDry, digestDry bool
	var receiver string
	c.command(group, "instant", "Run the checks notified instantly once and notify what they decide.", func(ctx context.Context) error {
		return c.notify(ctx, message.Instant, instantDry)
	}).Flag("dry-run", "Print what would be notified, per receiver; change nothing.").BoolVar(&instantDry)
	c.command(group, "digest", "Write every receiver's digest: its checks at problem, then at warning, and the open incidents.", func(ctx context.Context) error {
		return c.notify(ctx, message.Digest, digestDry)
	}).Flag("dry-run", "Print the digests; change nothing.").BoolVar(&digestDry)
	c.command(group, "test", "Send a test message through each integration of a receiver, now.", func(ctx context.Context) error {
		return c.notifyTest(ctx, receiver)
	}).Arg("receiver", "Receiver name, as in the config.").Required().StringVar(&receiver)
}

// written collects the notifications an evaluator writes.
type written struct {
	mu   sync.Mutex
	rows []store.OutboxRow
}

func (w *written) add(rows []store.OutboxRow) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.rows = append(w.rows, rows...)
}

func (w *written) all() []store.OutboxRow {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.rows)
}

// notify is `statusd notify instant|digest`: one round of notifications,
// for cron users (django_status's status_send_instant and
// status_send_digest). Instant runs the checks that notify instantly,
// once, and evaluates them on the stored state; digest composes each
// receiver's digest from the stored state. What is decided is written to
// the outbox and delivered, or with dryRun only printed.
func (c *cli) notify(ctx context.Context, kind message.Kind, dryRun bool) error {
	o, err := c.open(ctx, opening{config: true, store: !dryRun, dryRun: dryRun})
	if err != nil {
		return err
	}
	defer o.Close()
	var w written
	e, err := o.evaluator(ctx, w.add)
	if err != nil {
		return err
	}
	// The checks the round reports on run now, and their results are
	// stored (but in a dry run), as the daemon's would be: instant runs
	// the checks notified instantly, digest every check a receiver is
	// told about.
	observers := []exporter.Observer{e}
	var rec *store.Recorder
	if !dryRun {
		rec = store.NewRecorder(o.store, c.logger, nil, store.RecorderOptions{ResultsInterval: time.Duration(*o.cfg.Storage.ResultsInterval), PruneInterval: -1})
		observers = append(observers, rec)
	}
	ex, err := o.exporter(ctx, observers...)
	if err != nil {
		return err
	}
	var checks []*exporter.Check
	o.cfg.Each(func(r string, ch *config.Check) {
		if n := ch.Notify; n != nil && (n.Mode == config.NotifyInstant || kind == message.Digest && n.Mode != config.NotifyNone) {
			if c, ok := ex.Check(ch.ID(r)); ok {
				checks = append(checks, c)
			}
		}
	})
	ex.Fresh(ctx, checks)
	e.Evaluate(ctx)
	e.Flush(ctx)
	if rec != nil {
		if err := rec.Flush(ctx, true); err != nil {
			return fmt.Errorf("store the results: %w", err)
		}
	}
	switch kind {
	case message.Instant:
		fmt.Fprintf(c.stdout, "%d checks notified instantly ran.\n", len(checks))
	case message.Digest:
		fmt.Fprintf(c.stdout, "%d checks told in digests ran.\n", len(checks))
		_, repeated, err := e.Digest(ctx, time.Now())
		if err != nil {
			return err
		}
		for _, r := range repeated {
			fmt.Fprintf(c.stdout, "The digest for %s says what one written in the last %.0f minutes said: not written again.\n", r, evaluator.DigestRepeatWindow.Minutes())
		}
	}
	rows := w.all()
	verb := "written to the outbox"
	if dryRun {
		verb = "would be written (dry run: nothing was)"
	}
	if len(rows) == 0 {
		fmt.Fprintln(c.stdout, "Nothing to notify.")
	} else {
		fmt.Fprintf(c.stdout, "%d notifications %s:\n", len(rows), verb)
		if err := printRows(c.stdout, rows); err != nil {
			return err
		}
	}
	if dryRun {
		return nil
	}
	// What waits in the outbox goes now, this round's and any other's.
	return o.deliver(ctx)
}

// deliver sends what waits in the outbox now, group wait or not, and
// says how it went.
func (o *opened) deliver(ctx context.Context) error {
	d, err := o.dispatcher()
	if err != nil {
		return err
	}
	total := 0
	for range 100 { // at most 100 rounds of 200 per receiver
		n, err := d.Round(ctx, true)
		if err != nil {
			return fmt.Errorf("delivery stopped: %w", err)
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
	fmt.Fprintf(o.cli.stdout, "Delivered %d notifications; %d wait (retried by the daemon, or by the next run).\n", total, pending)
	return nil
}

// notifyTest is `statusd notify test RECEIVER`: a test message through
// each of the receiver's integrations at once, each one's outcome
// printed; it fails when one fails.
func (c *cli) notifyTest(ctx context.Context, receiver string) error {
	o, err := c.open(ctx, opening{config: true})
	if err != nil {
		return err
	}
	receivers, err := integrations.Build(o.cfg, nil)
	if err != nil {
		return usageError{err}
	}
	i := slices.IndexFunc(receivers, func(r notifier.Receiver) bool { return r.Name == receiver })
	if i < 0 {
		return usageError{fmt.Errorf("no receiver %q in %s", receiver, c.configFile)}
	}
	m := &message.Message{
		Version: message.Version, Kind: message.Test, Receiver: receiver, Site: message.Site{Name: o.cfg.Site.Name, URL: o.cfg.Site.URL}, Time: time.Now().UTC(),
		Checks: []message.Check{{ID: "statusd/test", Level: status.Fine, Message: "This is a test notification from statusd: this receiver works."}},
	}
	failed := false
	for _, in := range receivers[i].Integrations {
		if _, err := in.Notifier.Notify(ctx, m); err != nil {
			fmt.Fprintf(c.stdout, "%s: %s: failed: %v\n", receiver, in.Name, err)
			failed = true
			continue
		}
		fmt.Fprintf(c.stdout, "%s: %s: sent\n", receiver, in.Name)
	}
	if failed {
		return exitCode(exitFailed)
	}
	return nil
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

// printWritten prints the notifications a command wrote, if any.
func printWritten(w io.Writer, rows []store.OutboxRow) error {
	if len(rows) == 0 {
		return nil
	}
	fmt.Fprintf(w, "%d notifications written to the outbox:\n", len(rows))
	return printRows(w, rows)
}

// errNoService names the services there are.
func (o *opened) errNoService(err error) error {
	if !errors.Is(err, store.ErrNoService) {
		return err
	}
	names := make([]string, 0, len(o.cfg.Services))
	for _, s := range o.cfg.Services {
		names = append(names, s.Name)
	}
	return fmt.Errorf("%w (services are defined in the config: %s)", err, strings.Join(names, ", "))
}
