package config

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one problem in a config file, located by line and field path.
type Error struct {
	File  string
	Line  int // 0 when unknown
	Field string
	Msg   string
}

func (e Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in a config file, in line order. Validation
// reports them all at once instead of stopping at the first.
type Errors []Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

func (es Errors) sorted() Errors {
	sort.SliceStable(es, func(i, j int) bool { return es[i].Line < es[j].Line })
	return es
}

// problems collects errors against field paths while a file is decoded and
// validated; lines maps each decoded path to the line it came from.
type problems struct {
	file  string
	lines map[string]int
	errs  Errors
	// readFile reads files the config names, for the checks validation
	// makes of their contents.
	readFile func(string) ([]byte, error)
}

func newProblems(file string) *problems {
	return &problems{file: file, lines: map[string]int{}}
}

// hasUnder tells whether an error was recorded on path or below it.
func (p *problems) hasUnder(path string) bool {
	for _, e := range p.errs {
		if e.Field == path || strings.HasPrefix(e.Field, path+".") || strings.HasPrefix(e.Field, path+"[") {
			return true
		}
	}
	return false
}

// atLine records an error at a known line.
func (p *problems) atLine(line int, field, format string, args ...any) {
	p.errs = append(p.errs, Error{File: p.file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// add records an error on a field path, locating the line of the field or
// of its nearest ancestor that appears in the file.
func (p *problems) add(field, format string, args ...any) {
	p.atLine(p.lineOf(field), field, format, args...)
}

func (p *problems) lineOf(field string) int {
	for f := field; f != ""; f = parentPath(f) {
		if l, ok := p.lines[f]; ok {
			return l
		}
	}
	return 0
}

func (p *problems) err() error {
	if len(p.errs) == 0 {
		return nil
	}
	return p.errs.sorted()
}

// parentPath strips the last element of "a.b[2].c".
func parentPath(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func indexPath(parent string, i int) string {
	return fmt.Sprintf("%s[%d]", parent, i)
}
