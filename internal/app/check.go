package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/statusd/statusd/exporter"
	"github.com/statusd/statusd/exporter/probe"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
)

// Exit codes of statusd check, as django-status's `status health -e`.
const (
	ExitOK      = 0
	ExitProblem = 1 // with --exit-code, a check is at problem
	ExitUsage   = 2 // bad arguments or config
)

// CheckOptions are the flags of statusd check.
type CheckOptions struct {
	ConfigFile string
	StorageDSN string
	// Selection is [RESOURCE [CHECK...]]; empty runs everything.
	Selection []string
	// ExitCode makes a check at problem exit 1.
	ExitCode bool
	// Output is text, json or yaml.
	Output string
	// Color colours the text output's levels.
	Color  bool
	Logger *slog.Logger
}

// CheckOnce runs the selected checks once, prints their results and
// returns the exit code. It needs no server; it reads statusd's database
// (read-only, when it exists) only for heartbeat and storage checks.
func CheckOnce(ctx context.Context, opts CheckOptions, stdout, stderr io.Writer) int {
	cfg, err := LoadConfig(opts.ConfigFile, opts.Logger)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return ExitUsage
	}
	var pinger probe.Pinger
	st, err := store.Open(ctx, opts.StorageDSN, store.Options{ReadOnly: true, ConnectTimeout: 5 * time.Second})
	switch {
	case err == nil:
		defer st.Close()
		pinger = st
	case errors.Is(err, store.ErrNotExist):
	default:
		opts.Logger.Debug("statusd's database is not available; heartbeat and storage checks will say so", "err", err)
	}
	e := exporter.New(exporter.Options{Logger: opts.Logger, Store: pinger, Build: BuildInfo(opts.Logger)})
	if err := e.Apply(cfg); err != nil {
		fmt.Fprintln(stderr, err)
		return ExitUsage
	}
	if st != nil {
		if hb, err := st.LastHeartbeats(ctx); err == nil {
			e.LoadHeartbeats(ctx, hb)
		}
	}
	var sel []exporter.Resource
	if len(opts.Selection) > 0 {
		sel, err = e.Select(opts.Selection[0], opts.Selection[1:]...)
	} else {
		sel, err = e.Select("")
	}
	if err != nil {
		fmt.Fprintf(stderr, "statusd check: %v\n", err)
		return ExitUsage
	}
	report := e.Report(ctx, sel, true)
	if err := writeReport(stdout, report, opts.Output, opts.Color); err != nil {
		fmt.Fprintf(stderr, "statusd check: %v\n", err)
		return ExitUsage
	}
	if opts.ExitCode && report.Worst() == status.Problem {
		return ExitProblem
	}
	return ExitOK
}

func writeReport(w io.Writer, report status.Report, format string, color bool) error {
	switch format {
	case "json":
		b, err := json.MarshalIndent(report, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	case "yaml":
		return writeYAML(w, report)
	case "text", "":
		return writeText(w, report, color)
	}
	return fmt.Errorf("unknown output format %q (want text, json or yaml)", format)
}

// writeYAML renders the report as block YAML, keeping config order: JSON
// is YAML, so its node tree carries the order over.
func writeYAML(w io.Writer, report status.Report) error {
	b, err := json.Marshal(report)
	if err != nil {
		return err
	}
	var n yaml.Node
	if err := yaml.Unmarshal(b, &n); err != nil {
		return err
	}
	var block func(*yaml.Node)
	block = func(n *yaml.Node) {
		n.Style &^= yaml.FlowStyle
		if n.Kind == yaml.ScalarNode && n.Style == yaml.DoubleQuotedStyle {
			n.Style = 0
		}
		for _, c := range n.Content {
			block(c)
		}
	}
	block(&n)
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return err
	}
	return enc.Close()
}

var levelColors = map[status.Level]string{status.Fine: "\x1b[32m", status.Warning: "\x1b[33m", status.Problem: "\x1b[31m"}

// writeText renders an aligned table.
func writeText(w io.Writer, report status.Report, color bool) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tLEVEL\tVALUE\tTIME\tMESSAGE")
	for _, r := range report {
		for _, c := range r.Checks {
			res := c.Result
			level := res.Level.String()
			if color {
				// Pad before colouring: tabwriter counts the escape bytes.
				level = levelColors[res.Level] + fmt.Sprintf("%-7s", level) + "\x1b[0m"
			}
			value := "-"
			if res.Value != nil {
				value = formatValue(*res.Value)
			}
			msg := strings.ReplaceAll(res.Message, "\n", " ")
			fmt.Fprintf(tw, "%s/%s\t%s\t%s\t%s\t%s\n", r.Name, c.Name, level, value, probe.Human(res.Duration), msg)
		}
	}
	return tw.Flush()
}

// formatValue shows a value in at most about 10 characters: whole numbers
// in full up to a billion (bytes, counts), others with 6 significant digits.
func formatValue(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e9 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}
