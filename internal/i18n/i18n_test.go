package i18n

import (
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// keys flattens a catalogue into its message keys; a map of plural forms
// (one, other, …) is one key.
func keys(t *testing.T, file string) []string {
	t.Helper()
	b, err := fs.ReadFile(locales, "locales/"+file)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var out []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		sub, ok := v.(map[string]any)
		if !ok || sub["other"] != nil {
			out = append(out, prefix)
			return
		}
		for k, v := range sub {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			walk(p, v)
		}
	}
	walk("", m)
	slices.Sort(out)
	return out
}

// TestCataloguesComplete fails when a catalogue misses a key English has
// (or has one English does not), and when a text with a count lacks a
// form its language needs.
func TestCataloguesComplete(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Codes()) < 5 {
		t.Fatalf("languages = %v, want at least en, it, de, fr, es", c.Codes())
	}
	want := keys(t, "en.yaml")
	counted := keysWithCount(t)
	for _, l := range c.Langs() {
		got := keys(t, l.Code+".yaml")
		for _, k := range want {
			if !slices.Contains(got, k) {
				t.Errorf("%s.yaml misses %s", l.Code, k)
			}
		}
		for _, k := range got {
			if !slices.Contains(want, k) {
				t.Errorf("%s.yaml has %s, which en.yaml does not", l.Code, k)
			}
		}
		for _, k := range want {
			if !slices.Contains(counted, k) {
				if s := l.T(k); s == k || s == "" {
					t.Errorf("%s: %s renders as %q", l.Code, k, s)
				}
				continue
			}
			for _, n := range []int{0, 1, 2, 5, 21, 1000000} {
				if _, ok := l.texts()[k][formOf(l.tag, n)]; !ok {
					t.Errorf("%s: %s has no %s form (for %d)", l.Code, k, formOf(l.tag, n), n)
				}
			}
		}
	}
}

// keysWithCount are the English keys whose texts have plural forms.
func keysWithCount(t *testing.T) []string {
	var out []string
	for _, k := range keys(t, "en.yaml") {
		if strings.HasPrefix(k, "time.ago.") || strings.HasPrefix(k, "time.in.") || strings.HasPrefix(k, "time.duration.") ||
			k == "page.no_incidents_days" || k == "uptime.days_ago" || k == "uptime.over" {
			out = append(out, k)
		}
	}
	return out
}

func TestMatch(t *testing.T) {
	c := MustLoad()
	for accept, want := range map[string]string{
		"":                        "en",
		"it-IT,it;q=0.9,en;q=0.8": "it",
		"de-CH":                   "de",
		"ja, fr;q=0.5":            "fr",
		"es-419":                  "es",
		"ja":                      "en",
		"en-GB,en;q=0.9":          "en",
		"*;q=0.1, it;q=0.2":       "it",
		"garbage;;;q=nope,\x00":   "en",
		"pt-BR,pt;q=0.9,es;q=0.8": "es",
	} {
		// Asked twice: the second answer is the remembered one.
		for range 2 {
			if got := c.Match(accept).Code; got != want {
				t.Errorf("Match(%q) = %s, want %s", accept, got, want)
			}
		}
	}
	if l, ok := c.Get("it-CH"); !ok || l.Code != "it" {
		t.Errorf("Get(it-CH) = %s, %v", l.Code, ok)
	}
	if l, ok := c.Get("xx"); ok || l.Code != "en" {
		t.Errorf("Get(xx) = %s, %v, want en, false", l.Code, ok)
	}
}

// TestMatchRemembersBounded: headers that all differ, as a stranger can
// send, keep at most maxMatched remembered, long ones none, and every
// answer is still the matcher's.
func TestMatchRemembersBounded(t *testing.T) {
	c := MustLoad()
	for i := range 3 * maxMatched {
		accept := fmt.Sprintf("de;q=0.%d, it;q=0.5", i%9+1)
		if i%2 == 1 {
			accept += strings.Repeat(" ", i%40) + ", x-" + strconv.Itoa(i)
		}
		want := "it"
		if i%9+1 >= 5 { // at the same q, the first
			want = "de"
		}
		if got := c.Match(accept).Code; got != want {
			t.Fatalf("Match(%q) = %s, want %s", accept, got, want)
		}
		if n := len(c.matched); n > maxMatched {
			t.Fatalf("%d headers remembered, at most %d", n, maxMatched)
		}
	}
	long := "fr, " + strings.Repeat("x-abc, ", maxHeader/7+1)
	if c.Match(long).Code != "fr" {
		t.Error("a long header is still matched")
	}
	if _, kept := c.matched[long]; kept {
		t.Error("a header longer than maxHeader was remembered")
	}
}

func TestFormats(t *testing.T) {
	c := MustLoad()
	it, _ := c.Get("it")
	de, _ := c.Get("de")
	en, _ := c.Get("en")
	day := time.Date(2026, 12, 1, 14, 5, 0, 0, time.UTC)
	for _, tc := range []struct{ got, want string }{
		{it.Day(day), "martedì 1 dicembre 2026"},
		{de.Day(day), "Dienstag, 1. Dezember 2026"},
		{en.Day(day), "Tuesday 1 December 2026"},
		{it.MonthYear(day), "dicembre 2026"},
		{it.DateTime(day), "1 dic 2026, 14:05 UTC"},
		{it.Percent(0.99951, 2), "99,95%"},
		{de.Percent(0.5, 1), "50,0 %"},
		{en.Percent(0.99951, 2), "99.95%"},
		{it.Ago(day.Add(-4*time.Minute), day), "4 minuti fa"},
		{it.Ago(day.Add(-2*time.Hour), day), "2 ore fa"},
		{de.Ago(day.Add(3*24*time.Hour), day), "in 3 Tagen"},
		{en.Ago(day.Add(-10*time.Second), day), "just now"},
		{it.N("page.no_incidents_days", 7), "Nessun incidente negli ultimi 7 giorni."},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
