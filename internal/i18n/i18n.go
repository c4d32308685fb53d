// Package i18n holds statusd's message catalogues and chooses a visitor's
// language. Each language is one YAML file in locales/ (a key per text;
// a text that depends on a count has its CLDR plural forms: one, few,
// many, other…); adding a language is adding a file, which a test
// compares key by key with English. Dates use the catalogue's month and
// weekday names and the site's time zone; numbers and plural forms follow
// golang.org/x/text's CLDR data for the language.
//
// Texts are filled by a small substitution of {{.Name}} placeholders
// compiled when the catalogues load, not by a template engine per call:
// go-i18n's Localize took 1.7 µs and 13 allocations a text, and the page
// asks for thousands (every uptime bar's tooltip) at each render.
package i18n

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

//go:embed locales/*.yaml
var locales embed.FS

// Default is the language used when nothing else matches.
const Default = "en"

// Catalog is every shipped language.
type Catalog struct {
	langs   map[string]*Lang
	codes   []string // sorted, Default first
	tags    []language.Tag
	matcher language.Matcher
	// matched remembers the language chosen for the Accept-Language
	// headers seen (browsers send a few distinct ones): x/text's parse
	// and match cost 3.7 µs and 22 allocations a request, 6 % of the
	// CPU of serving the page in Italian at 21,000 requests a second;
	// remembered, 13 ns and none (BenchmarkMatch). At most
	// maxMatched headers of at most maxHeader bytes are kept, and the
	// set starts again when full, so that varied headers cannot grow it.
	matchedMu sync.RWMutex
	matched   map[string]*Lang
}

const (
	maxMatched = 256
	maxHeader  = 128
)

// Lang is one language's texts and formats.
type Lang struct {
	// Code is the language's BCP 47 tag, as in ?lang= and <html lang>.
	Code string
	// Name is the language's name in itself ("Italiano").
	Name string
	tag  language.Tag
	// texts are read when the language is first used (English at
	// start): all five catalogues kept from the start took 0.3 MB of heap
	// for the daemon's life, for languages few statusd ever show.
	texts    func() map[string]forms
	printer  *message.Printer
	months   []string
	weekdays []string
	// days caches ShortDay by date: a page shows the same 90.
	days sync.Map // int64 (Unix day) → string
}

// forms are a text's compiled forms: "other" alone, or one per plural
// form.
type forms map[string]text

// text is a compiled text: literals with placeholders between them.
type text []segment

// segment is a literal, or a placeholder (name set).
type segment struct{ lit, name string }

// placeholder is the one template action texts may hold.
var placeholder = regexp.MustCompile(`\{\{\s*\.([A-Za-z][A-Za-z0-9]*)\s*\}\}`)

// compile splits a text into literals and placeholders; any other
// template action is an error.
func compile(s string) (text, error) {
	var t text
	last := 0
	for _, m := range placeholder.FindAllStringSubmatchIndex(s, -1) {
		if m[0] > last {
			t = append(t, segment{lit: s[last:m[0]]})
		}
		t = append(t, segment{name: s[m[2]:m[3]]})
		last = m[1]
	}
	if last < len(s) {
		t = append(t, segment{lit: s[last:]})
	}
	for _, seg := range t {
		if strings.Contains(seg.lit, "{{") {
			return nil, fmt.Errorf("%q: only {{.Name}} placeholders are allowed", s)
		}
	}
	return t, nil
}

// Load reads the embedded catalogues.
func Load() (*Catalog, error) {
	return load(locales, "locales")
}

// builtin is the embedded catalogues, read once: they cannot change, and
// the page, the config's validation, the gate and the notifier share them.
var builtin = sync.OnceValues(Load)

// MustLoad returns the catalogues built into the binary, which a test
// checks: it panics only if the binary itself is broken.
func MustLoad() *Catalog {
	c, err := builtin()
	if err != nil {
		panic(err)
	}
	return c
}

// pluralForms are the keys that make a map a text's plural forms.
var pluralForms = []string{"zero", "one", "two", "few", "many", "other"}

// flatten reads a catalogue's keys: nested maps join with ".", and a map
// with "other" is a text's plural forms.
func flatten(prefix string, v any, out map[string]forms) error {
	m, ok := v.(map[string]any)
	if !ok {
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: want a text, got %T", prefix, v)
		}
		t, err := compile(s)
		if err != nil {
			return fmt.Errorf("%s: %w", prefix, err)
		}
		out[prefix] = forms{"other": t}
		return nil
	}
	if _, plural := m["other"]; plural {
		f := forms{}
		for k, v := range m {
			s, ok := v.(string)
			if !ok || !slices.Contains(pluralForms, k) {
				return fmt.Errorf("%s.%s: a plural form must be one of %v with a text", prefix, k, pluralForms)
			}
			t, err := compile(s)
			if err != nil {
				return fmt.Errorf("%s.%s: %w", prefix, k, err)
			}
			f[k] = t
		}
		out[prefix] = f
		return nil
	}
	for k, v := range m {
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		if err := flatten(key, v, out); err != nil {
			return err
		}
	}
	return nil
}

// parseCatalogue reads one catalogue's texts.
func parseCatalogue(b []byte) (map[string]forms, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	texts := map[string]forms{}
	if err := flatten("", doc, texts); err != nil {
		return nil, err
	}
	return texts, nil
}

func load(fsys fs.FS, dir string) (*Catalog, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read the catalogues: %w", err)
	}
	c := &Catalog{langs: map[string]*Lang{}}
	first := map[string]map[string]forms{} // each language's texts as read here
	for _, e := range entries {
		if path.Ext(e.Name()) != ".yaml" {
			continue
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		tag, err := language.Parse(strings.TrimSuffix(e.Name(), ".yaml"))
		if err != nil {
			return nil, fmt.Errorf("catalogue %s: name it by its language's code: %w", e.Name(), err)
		}
		texts, err := parseCatalogue(b)
		if err != nil {
			return nil, fmt.Errorf("catalogue %s: %w", e.Name(), err)
		}
		code := tag.String()
		l := &Lang{Code: code, tag: tag, printer: message.NewPrinter(tag)}
		// Read (and checked) once here; kept only for English, and read
		// again from the embedded file when another language is asked for.
		l.texts = func() map[string]forms { return texts }
		if code != Default {
			l.texts = sync.OnceValue(func() map[string]forms {
				texts, _ := parseCatalogue(b) // it parsed above
				return texts
			})
		}
		c.langs[code] = l
		c.codes = append(c.codes, code)
		first[code] = texts
	}
	if c.langs[Default] == nil {
		return nil, fmt.Errorf("no %s catalogue", Default)
	}
	slices.SortFunc(c.codes, func(a, b string) int {
		switch {
		case a == Default:
			return -1
		case b == Default:
			return 1
		}
		return strings.Compare(a, b)
	})
	for _, code := range c.codes {
		l := c.langs[code]
		c.tags = append(c.tags, l.tag)
		texts := first[code]
		text := func(id string) string { return texts[id]["other"].fill(nil, 0, false) }
		l.Name = text("language.name")
		l.months = strings.Split(text("date.months"), ",")
		l.weekdays = strings.Split(text("date.weekdays"), ",")
		if len(l.months) != 12 || len(l.weekdays) != 7 {
			return nil, fmt.Errorf("catalogue %s: date.months needs 12 names and date.weekdays 7 (Sunday first), separated by commas", code)
		}
	}
	c.matcher = language.NewMatcher(c.tags)
	return c, nil
}

// Codes are the languages' codes, English first.
func (c *Catalog) Codes() []string { return c.codes }

// Langs are the languages, English first.
func (c *Catalog) Langs() []*Lang {
	out := make([]*Lang, len(c.codes))
	for i, code := range c.codes {
		out[i] = c.langs[code]
	}
	return out
}

// Get returns a language by code, and whether it is one of the
// catalogue's (its base language counts: "it-CH" gets "it").
func (c *Catalog) Get(code string) (*Lang, bool) {
	if l, ok := c.langs[code]; ok {
		return l, true
	}
	tag, err := language.Parse(code)
	if err != nil {
		return c.langs[Default], false
	}
	base, _ := tag.Base()
	l, ok := c.langs[base.String()]
	if !ok {
		return c.langs[Default], false
	}
	return l, true
}

// Match chooses the language for an Accept-Language header (English when
// none of the visitor's is shipped).
func (c *Catalog) Match(acceptLanguage string) *Lang {
	c.matchedMu.RLock()
	l, ok := c.matched[acceptLanguage]
	c.matchedMu.RUnlock()
	if ok {
		return l
	}
	l = c.match(acceptLanguage)
	if len(acceptLanguage) <= maxHeader {
		c.matchedMu.Lock()
		if len(c.matched) >= maxMatched || c.matched == nil {
			c.matched = make(map[string]*Lang, 16)
		}
		c.matched[acceptLanguage] = l
		c.matchedMu.Unlock()
	}
	return l
}

func (c *Catalog) match(acceptLanguage string) *Lang {
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return c.langs[Default]
	}
	_, i, conf := c.matcher.Match(tags...)
	if conf == language.No {
		return c.langs[Default]
	}
	return c.langs[c.codes[i]]
}

// T is the text of a key; args are its placeholders' values as name,
// value pairs. A missing key yields the key itself, which a test keeps
// from happening in a shipped catalogue.
func (l *Lang) T(id string, args ...any) string {
	f, ok := l.texts()[id]
	if !ok {
		return id
	}
	return f["other"].fill(args, 0, false)
}

// N is the text of a key whose form depends on n (one, few, many,
// other…, by the language's CLDR rules); n is {{.Count}} in it.
func (l *Lang) N(id string, n int, args ...any) string {
	f, ok := l.texts()[id]
	if !ok {
		return id
	}
	t, ok := f[formOf(l.tag, n)]
	if !ok {
		t = f["other"]
	}
	return t.fill(args, n, true)
}

// formOf is the CLDR plural form of an integer in a language.
func formOf(tag language.Tag, n int) string {
	abs := max(n, -n)
	digits := strconv.Itoa(abs)
	d := make([]byte, len(digits))
	for i := range digits {
		d[i] = digits[i] - '0'
	}
	switch plural.Cardinal.MatchDigits(tag, d, len(d), 0) {
	case plural.Zero:
		return "zero"
	case plural.One:
		return "one"
	case plural.Two:
		return "two"
	case plural.Few:
		return "few"
	case plural.Many:
		return "many"
	}
	return "other"
}

// fill writes a text with its placeholders' values (Count is n when
// counted).
func (t text) fill(args []any, n int, counted bool) string {
	if len(t) == 1 && t[0].name == "" {
		return t[0].lit
	}
	var b strings.Builder
	for _, seg := range t {
		if seg.name == "" {
			b.WriteString(seg.lit)
			continue
		}
		if counted && seg.name == "Count" {
			b.WriteString(strconv.Itoa(n))
			continue
		}
		for i := 0; i+1 < len(args); i += 2 {
			if args[i] == seg.name {
				switch v := args[i+1].(type) {
				case string:
					b.WriteString(v)
				case int:
					b.WriteString(strconv.Itoa(v))
				default:
					fmt.Fprint(&b, v)
				}
				break
			}
		}
	}
	return b.String()
}

// Month names a month ("novembre").
func (l *Lang) Month(m time.Month) string { return l.months[m-1] }

// Weekday names a day of the week.
func (l *Lang) Weekday(d time.Weekday) string { return l.weekdays[d] }

// Day says a date in full ("martedì 1 dicembre 2026").
func (l *Lang) Day(t time.Time) string {
	return l.T("date.day", "Weekday", l.Weekday(t.Weekday()), "Day", t.Day(), "Month", l.Month(t.Month()), "Year", t.Year())
}

// ShortDay says a date briefly ("1 dic 2026").
func (l *Lang) ShortDay(t time.Time) string {
	key := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).Unix() / 86400
	if s, ok := l.days.Load(key); ok {
		return s.(string)
	}
	m := []rune(l.Month(t.Month()))
	s := l.T("date.short", "Day", t.Day(), "Month", string(m[:min(3, len(m))]), "Year", t.Year())
	l.days.Store(key, s)
	return s
}

// MonthYear names a month of a year ("novembre 2026").
func (l *Lang) MonthYear(t time.Time) string {
	return l.T("date.month_year", "Month", l.Month(t.Month()), "Year", t.Year())
}

// DateTime says a moment, in t's zone ("1 dic 2026, 14:05 CET").
func (l *Lang) DateTime(t time.Time) string {
	return l.T("date.time", "Date", l.ShortDay(t), "Time", t.Format("15:04"), "Zone", t.Format("MST"))
}

// Percent formats a fraction 0–1 as a percentage with d decimals, the
// language's way ("99,95 %").
func (l *Lang) Percent(f float64, d int) string {
	return l.T("number.percent", "Number", l.printer.Sprintf("%.*f", d, f*100))
}

// Number formats a number with d decimals, the language's way.
func (l *Lang) Number(f float64, d int) string { return l.printer.Sprintf("%.*f", d, f) }

// Ago says how long ago (or in how long) t is from now, as a person
// would.
func (l *Lang) Ago(t, now time.Time) string {
	d := now.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	var n int
	var unit string
	switch {
	case d < 45*time.Second:
		return l.T("time.now")
	case d < 90*time.Minute:
		n, unit = int((d+30*time.Second)/time.Minute), "minutes"
	case d < 36*time.Hour:
		n, unit = int((d+30*time.Minute)/time.Hour), "hours"
	case d < 45*24*time.Hour:
		n, unit = int((d+12*time.Hour)/(24*time.Hour)), "days"
	case d < 365*24*time.Hour:
		n, unit = int((d+15*24*time.Hour)/(30*24*time.Hour)), "months"
	default:
		n, unit = int((d+182*24*time.Hour)/(365*24*time.Hour)), "years"
	}
	if future {
		return l.N("time.in."+unit, n)
	}
	return l.N("time.ago."+unit, n)
}
