// Package exposition writes metrics in the Prometheus text format
// (version 0.0.4) straight from statusd's own state, for the families
// that have a series per check: with tens of thousands of checks they are
// the bulk of a scrape, and building them through client_golang's
// registry (a metric per series, validated, sorted and encoded on every
// scrape) cost four times as much CPU as writing them here (measured in
// BENCHMARKS.md, "/metrics"). Everything else statusd exports goes
// through client_golang as usual.
package exposition

import (
	"bufio"
	"io"
	"math"
	"strconv"
	"strings"
)

// Labels is a label set rendered once, with its braces:
// {check="api",resource="health"}. Render it when the series is made
// (a check is built, a config applied), not at every scrape.
type Labels string

// escaper escapes a label value as the text format wants it.
var escaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// helpEscaper escapes a HELP text.
var helpEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`)

// NewLabels renders a label set from name, value pairs. The names must be
// valid label names, given in the order they should appear (sorted, as
// Prometheus writes them); the values are escaped.
func NewLabels(pairs ...string) Labels {
	if len(pairs) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i+1 < len(pairs); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(pairs[i])
		b.WriteString(`="`)
		b.WriteString(escaper.Replace(pairs[i+1]))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return Labels(b.String())
}

// Writer writes families of samples. Its methods do not return errors:
// Flush returns the first one.
type Writer struct {
	w    *bufio.Writer
	line []byte
}

// NewWriter writes to w, buffered (w itself when it is a *bufio.Writer).
func NewWriter(w io.Writer) *Writer {
	bw, ok := w.(*bufio.Writer)
	if !ok {
		bw = bufio.NewWriterSize(w, 64<<10)
	}
	return &Writer{w: bw, line: make([]byte, 0, 256)}
}

// Family starts a family: its HELP and TYPE lines. typ is gauge, counter
// or untyped.
func (w *Writer) Family(name, typ, help string) {
	w.line = append(w.line[:0], "# HELP "...)
	w.line = append(w.line, name...)
	w.line = append(w.line, ' ')
	w.line = append(w.line, helpEscaper.Replace(help)...)
	w.line = append(w.line, "\n# TYPE "...)
	w.line = append(w.line, name...)
	w.line = append(w.line, ' ')
	w.line = append(w.line, typ...)
	w.line = append(w.line, '\n')
	_, _ = w.w.Write(w.line)
}

// Sample writes one sample of the current family.
func (w *Writer) Sample(name string, labels Labels, v float64) {
	w.line = append(w.line[:0], name...)
	w.line = append(w.line, labels...)
	w.line = append(w.line, ' ')
	w.line = appendFloat(w.line, v)
	w.line = append(w.line, '\n')
	_, _ = w.w.Write(w.line)
}

// Flush writes what is buffered and returns the first error.
func (w *Writer) Flush() error { return w.w.Flush() }

// appendFloat formats a sample value as the text format wants it.
func appendFloat(b []byte, v float64) []byte {
	switch {
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	case math.IsNaN(v):
		return append(b, "NaN"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}
