package page

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

//go:embed assets
var assets embed.FS

// PageNames are the page templates; an override folder may hold a file of
// the same name for each, and base.html for blocks every page shares.
var PageNames = []string{"index", "incident", "archive", "checks", "error"}

// Blocks are the blocks of the base template an override may redefine.
var Blocks = []string{"title", "favicon", "meta_extra", "style", "header", "branding", "userlinks", "content", "footer", "script"}

// templates holds one parsed template set per page.
type templates map[string]*template.Template

// inline are the hashes of the inline styles and scripts the pages hold
// (an operator's overrides'), for the Content-Security-Policy.
type inline struct{ styles, scripts []string }

// loadTemplates parses the built-in templates and, when dir is set, the
// overrides in it, then renders every page once with sample data, so that
// a broken override is an error at start (naming its file and line), not
// a broken page later; the sample pages give the inline styles and
// scripts the policy allows.
func loadTemplates(dir string, funcs template.FuncMap) (templates, inline, error) {
	builtin := func(name string) (string, error) {
		b, err := fs.ReadFile(assets, "assets/templates/"+name+".html")
		return string(b), err
	}
	type file struct{ path, src string }
	overrides := map[string]file{}
	var errs []error
	if dir != "" {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, inline{}, fmt.Errorf("page.templates_dir: %w", err)
		}
		for _, e := range entries {
			if e.IsDir() || filepath.Ext(e.Name()) != ".html" {
				continue
			}
			name := strings.TrimSuffix(e.Name(), ".html")
			path := filepath.Join(dir, e.Name())
			if name != "base" && !slices.Contains(PageNames, name) {
				errs = append(errs, fmt.Errorf("%s: not a page template: use base.html (blocks of every page) or one of %s.html", path, strings.Join(PageNames, ".html, ")))
				continue
			}
			b, err := os.ReadFile(path)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			overrides[name] = file{path, string(b)}
		}
	}
	base, err := builtin("base")
	if err != nil {
		return nil, inline{}, err
	}
	ts := templates{}
	var in inline
	for _, page := range PageNames {
		src, err := builtin(page)
		if err != nil {
			return nil, inline{}, err
		}
		t := template.New(page).Funcs(funcs)
		parts := []file{{"base.html", base}, {page + ".html", src}}
		for _, o := range []string{"base", page} {
			if f, ok := overrides[o]; ok {
				parts = append(parts, f)
			}
		}
		for _, p := range parts {
			if _, err := t.New(p.path).Parse(p.src); err != nil {
				errs = append(errs, cleanTemplateError(err))
				t = nil
				break
			}
		}
		if t == nil {
			continue
		}
		var sample bytes.Buffer
		if err := t.ExecuteTemplate(&sample, "base", sampleData(page)); err != nil {
			errs = append(errs, cleanTemplateError(err))
			continue
		}
		styles, scripts := inlineHashes(sample.Bytes())
		in.styles, in.scripts = append(in.styles, styles...), append(in.scripts, scripts...)
		ts[page] = t
	}
	if len(errs) > 0 {
		return nil, inline{}, dedupErrors(errs)
	}
	slices.Sort(in.styles)
	slices.Sort(in.scripts)
	in.styles, in.scripts = slices.Compact(in.styles), slices.Compact(in.scripts)
	return ts, in, nil
}

// templatePrefix is what Go's template errors start with.
var templatePrefix = regexp.MustCompile(`^(html/)?template: ?`)

// cleanTemplateError makes a template error read FILE:LINE: message.
func cleanTemplateError(err error) error {
	return errors.New(templatePrefix.ReplaceAllString(err.Error(), ""))
}

// dedupErrors joins errors, each once: a broken base.html breaks every
// page the same way.
func dedupErrors(errs []error) error {
	var seen []string
	for _, e := range errs {
		if !slices.Contains(seen, e.Error()) {
			seen = append(seen, e.Error())
		}
	}
	return errors.New(strings.Join(seen, "\n"))
}

// execute renders a page.
func (ts templates) execute(page string, d *Data) ([]byte, error) {
	var b bytes.Buffer
	if err := ts[page].ExecuteTemplate(&b, "base", d); err != nil {
		return nil, fmt.Errorf("render %s: %w", page, err)
	}
	return b.Bytes(), nil
}

// funcs are the templates' helpers; now is the renderer's clock and loc
// the site's time zone.
func funcs(now func() time.Time, loc *time.Location) template.FuncMap {
	return template.FuncMap{
		"iso":      func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"exact":    func(t time.Time) string { return t.In(loc).Format("Mon 2 Jan 2006 15:04 MST") },
		"ago":      func(t time.Time) string { return Ago(t, now()) },
		"urlize":   Urlize,
		"markdown": Markdown,
	}
}

// Ago says how long ago (or in how long) t is from now, as a person would.
func Ago(t, now time.Time) string {
	d := now.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	var n int
	var unit string
	switch {
	case d < 45*time.Second:
		return "just now"
	case d < 90*time.Minute:
		n, unit = int((d+30*time.Second)/time.Minute), "minute"
	case d < 36*time.Hour:
		n, unit = int((d+30*time.Minute)/time.Hour), "hour"
	case d < 45*24*time.Hour:
		n, unit = int((d+12*time.Hour)/(24*time.Hour)), "day"
	case d < 365*24*time.Hour:
		n, unit = int((d+15*24*time.Hour)/(30*24*time.Hour)), "month"
	default:
		n, unit = int((d+182*24*time.Hour)/(365*24*time.Hour)), "year"
	}
	s := strconv.Itoa(n) + " " + unit
	if n != 1 {
		s += "s"
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

// urlPattern finds web addresses in text.
var urlPattern = regexp.MustCompile(`https?://[^\s<>"']+[^\s<>"'.,;:!?)\]]`)

// Urlize escapes text for HTML, turns http(s) addresses into links and
// line breaks into <br> (django's urlize|linebreaksbr).
func Urlize(s string) template.HTML {
	var b strings.Builder
	last := 0
	for _, m := range urlPattern.FindAllStringIndex(s, -1) {
		b.WriteString(breaks(template.HTMLEscapeString(s[last:m[0]])))
		u := template.HTMLEscapeString(s[m[0]:m[1]])
		b.WriteString(`<a href="` + u + `" rel="nofollow noopener">` + u + `</a>`)
		last = m[1]
	}
	b.WriteString(breaks(template.HTMLEscapeString(s[last:])))
	return template.HTML(b.String()) //nolint:gosec // built from escaped parts
}

func breaks(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "<br>")
}
