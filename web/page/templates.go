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
	"strings"
	"sync"
	"time"

	"github.com/statusd/statusd/internal/i18n"
)

//go:embed assets
var assets embed.FS

// PageNames are the page templates; an override folder may hold a file of
// the same name for each, and base.html for blocks every page shares.
var PageNames = []string{"index", "incident", "archive", "checks", "error", "subscribe", "widget"}

// Blocks are the blocks of the base template an override may redefine.
var Blocks = []string{"title", "favicon", "meta_extra", "style", "header", "branding", "userlinks", "content", "footer", "script"}

// templates holds the parsed pages, each parsed for a language when it
// is first rendered in it. Every page is parsed and rendered once when a
// theme loads, to check the overrides and find their inline styles and
// scripts; of that parse only the index's is kept. A page's parse trees
// are about a hundred kilobytes, base.html's in each, and most sites
// serve the index in one language far more than anything else
// (BENCHMARKS.md, "3 December, evening").
type templates struct {
	mu     sync.Mutex
	byLang map[string]map[string]*template.Template
	// parse parses a page for a language.
	parse func(l *i18n.Lang, page string) (*template.Template, error)
}

// page is a page parsed for a language.
func (ts *templates) page(l *i18n.Lang, page string) (*template.Template, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	set := ts.byLang[l.Code]
	if t, ok := set[page]; ok {
		return t, nil
	}
	t, err := ts.parse(l, page)
	if err != nil {
		return nil, err
	}
	if set == nil {
		set = map[string]*template.Template{}
		ts.byLang[l.Code] = set
	}
	set[page] = t
	return t, nil
}

// inline are the hashes of the inline styles and scripts the pages hold
// (an operator's overrides'), for the Content-Security-Policy.
type inline struct{ styles, scripts []string }

// loadTemplates parses the built-in templates and, when dir is set, the
// overrides in it, then renders every page once with sample data, so that
// a broken override is an error at start (naming its file and line), not
// a broken page later; the sample pages give the inline styles and
// scripts the policy allows.
func loadTemplates(dir string, first *i18n.Lang, funcs func(*i18n.Lang) template.FuncMap) (*templates, inline, error) {
	builtin := func(name string) (string, error) {
		b, err := fs.ReadFile(assets, "assets/templates/"+name+".html")
		return string(b), err
	}
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
	if len(errs) > 0 {
		return nil, inline{}, dedupErrors(errs)
	}
	parse := func(l *i18n.Lang, page string) (*template.Template, error) {
		src, err := builtin(page)
		if err != nil {
			return nil, err
		}
		return parsePage(page, []file{{"base.html", base}, {page + ".html", src}}, overrides, funcs(l))
	}
	var in inline
	// The index in the first language is rendered by every snapshot,
	// the first at once: its parse is kept.
	kept := map[string]*template.Template{}
	for _, page := range PageNames {
		t, err := parse(first, page)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		styles, scripts, err := sample(t, page, first)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		in.styles, in.scripts = append(in.styles, styles...), append(in.scripts, scripts...)
		if page == "index" {
			kept[page] = t
		}
	}
	if len(errs) > 0 {
		return nil, inline{}, dedupErrors(errs)
	}
	slices.Sort(in.styles)
	slices.Sort(in.scripts)
	in.styles, in.scripts = slices.Compact(in.styles), slices.Compact(in.scripts)
	return &templates{byLang: map[string]map[string]*template.Template{first.Code: kept}, parse: parse}, in, nil
}

// file is a template's source and where it came from.
type file struct{ path, src string }

// parsePage parses a page's templates, overrides last.
func parsePage(page string, parts []file, overrides map[string]file, fm template.FuncMap) (*template.Template, error) {
	t := template.New(page).Funcs(fm)
	for _, o := range []string{"base", page} {
		if f, ok := overrides[o]; ok {
			parts = append(parts, f)
		}
	}
	for _, p := range parts {
		if _, err := t.New(p.path).Parse(p.src); err != nil {
			return nil, cleanTemplateError(err)
		}
	}
	return t, nil
}

// sample renders a parsed page once with sample data and returns the
// inline styles and scripts it holds.
func sample(t *template.Template, page string, l *i18n.Lang) (styles, scripts []string, err error) {
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "base", sampleData(page, l)); err != nil {
		return nil, nil, cleanTemplateError(err)
	}
	styles, scripts = inlineHashes(b.Bytes())
	return styles, scripts, nil
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

// execute renders a page in the data's language.
func (ts *templates) execute(page string, d *Data) ([]byte, error) {
	t, err := ts.page(d.Lang, page)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "base", d); err != nil {
		return nil, fmt.Errorf("render %s: %w", page, err)
	}
	return b.Bytes(), nil
}

// funcs are the templates' helpers in a language; now is the
// renderer's clock and loc the site's time zone. Templates say every text
// through t (a catalogue key and its values as name, value pairs) and n
// (the same with a count).
func funcs(now func() time.Time, loc *time.Location) func(*i18n.Lang) template.FuncMap {
	return func(l *i18n.Lang) template.FuncMap {
		return template.FuncMap{
			"iso":      func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
			"exact":    func(t time.Time) string { return l.DateTime(t.In(loc)) },
			"ago":      func(t time.Time) string { return l.Ago(t, now()) },
			"day":      func(t time.Time) string { return l.Day(t.In(loc)) },
			"t":        l.T,
			"has":      slices.Contains[[]string],
			"n":        l.N,
			"urlize":   Urlize,
			"markdown": Markdown,
		}
	}
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
