package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/alecthomas/kingpin/v2"
	"go.yaml.in/yaml/v3"
	"golang.org/x/term"

	"github.com/statusd/statusd/exporter"
	"github.com/statusd/statusd/exporter/probe"
	"github.com/statusd/statusd/internal/status"
)

// checkFlags are the flags of statusd check.
type checkFlags struct {
	// selection is [RESOURCE [CHECK...]]; empty runs everything.
	selection []string
	// exitCode makes a check at problem exit 1.
	exitCode bool
	// output is text, json or yaml.
	output string
}

func (c *cli) addCheck(a *kingpin.Application) {
	var f checkFlags
	cmd := c.command(a, "check", "Run checks once and print their results; no server needed.", func(ctx context.Context) error {
		return c.check(ctx, f)
	})
	cmd.Arg("selection", "RESOURCE [CHECK...]; everything when empty.").StringsVar(&f.selection)
	cmd.Flag("exit-code", "Exit 1 when a check is at problem.").Short('e').BoolVar(&f.exitCode)
	cmd.Flag("output", "Output format: text, json or yaml.").Short('o').Default("text").EnumVar(&f.output, "text", "json", "yaml")
}

// check runs the selected checks once and prints their results. It needs
// no server; it reads statusd's database (read-only, when it exists) only
// for heartbeat and storage checks.
func (c *cli) check(ctx context.Context, f checkFlags) error {
	o, err := c.open(ctx, opening{config: true, readOnly: true})
	if err != nil {
		return err
	}
	defer o.Close()
	e, err := o.exporter(ctx)
	if err != nil {
		return err
	}
	var sel []exporter.Resource
	if len(f.selection) > 0 {
		sel, err = e.Select(f.selection[0], f.selection[1:]...)
	} else {
		sel, err = e.Select("")
	}
	if err != nil {
		return usageError{err}
	}
	report := e.Results(ctx, sel, true)
	if err := writeReport(c.stdout, report, f.output, c.color()); err != nil {
		return usageError{err}
	}
	if f.exitCode && report.Worst() == status.Problem {
		return exitCode(exitFailed)
	}
	return nil
}

// color tells whether the output is a terminal that takes colours.
func (c *cli) color() bool {
	f, ok := c.stdout.(*os.File)
	return ok && term.IsTerminal(int(f.Fd())) && os.Getenv("NO_COLOR") == ""
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
