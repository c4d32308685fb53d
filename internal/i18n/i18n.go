// Package i18n holds statusd's message catalogues and chooses a visitor's
// language. Each language is one YAML file in locales/ (go-i18n's format:
// a key per text, with one/other/… forms where a count changes it);
// adding a language is adding a file, which a test compares key by key
// with English. Dates use the catalogue's month and weekday names and
// the site's time zone; numbers use golang.org/x/text's formatting for
// the language.
package i18n

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"go.yaml.in/yaml/v3"
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
}

// Lang is one language's texts and formats.
type Lang struct {
	// Code is the language's BCP 47 tag, as in ?lang= and <html lang>.
	Code string
	// Name is the language's name in itself ("Italiano").
	Name      string
	tag       language.Tag
	localizer *goi18n.Localizer
	printer   *message.Printer
	months    []string
	weekdays  []string
}

// Load reads the embedded catalogues.
func Load() (*Catalog, error) {
	return load(locales, "locales")
}

// MustLoad is Load for the catalogues built into the binary, which a
// test checks: it panics only if the binary itself is broken.
func MustLoad() *Catalog {
	c, err := Load()
	if err != nil {
		panic(err)
	}
	return c
}

func load(fsys fs.FS, dir string) (*Catalog, error) {
	bundle := goi18n.NewBundle(language.English)
	bundle.RegisterUnmarshalFunc("yaml", yaml.Unmarshal)
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read the catalogues: %w", err)
	}
	c := &Catalog{langs: map[string]*Lang{}}
	for _, e := range entries {
		if path.Ext(e.Name()) != ".yaml" {
			continue
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		mf, err := bundle.ParseMessageFileBytes(b, e.Name())
		if err != nil {
			return nil, fmt.Errorf("catalogue %s: %w", e.Name(), err)
		}
		code := mf.Tag.String()
		l := &Lang{Code: code, tag: mf.Tag, localizer: goi18n.NewLocalizer(bundle, code), printer: message.NewPrinter(mf.Tag)}
		c.langs[code] = l
		c.codes = append(c.codes, code)
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
		l.Name = l.T("language.name")
		l.months = strings.Split(l.T("date.months"), ",")
		l.weekdays = strings.Split(l.T("date.weekdays"), ",")
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

// T is the text of a key; args are the template's values as name, value
// pairs. A missing key yields the key itself, which a test keeps from
// happening in a shipped catalogue.
func (l *Lang) T(id string, args ...any) string {
	s, err := l.localizer.Localize(&goi18n.LocalizeConfig{MessageID: id, TemplateData: data(args)})
	if err != nil {
		return id
	}
	return s
}

// N is the text of a key whose form depends on n (one, other, …); n is
// {{.Count}} in it.
func (l *Lang) N(id string, n int, args ...any) string {
	d := data(args)
	d["Count"] = n
	s, err := l.localizer.Localize(&goi18n.LocalizeConfig{MessageID: id, TemplateData: d, PluralCount: n})
	if err != nil {
		return id
	}
	return s
}

func data(args []any) map[string]any {
	d := make(map[string]any, len(args)/2+1)
	for i := 0; i+1 < len(args); i += 2 {
		if k, ok := args[i].(string); ok {
			d[k] = args[i+1]
		}
	}
	return d
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
	m := []rune(l.Month(t.Month()))
	return l.T("date.short", "Day", t.Day(), "Month", string(m[:min(3, len(m))]), "Year", t.Year())
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
