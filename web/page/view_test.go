package page

import (
	"html/template"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/statusd/statusd/internal/board"
	"github.com/statusd/statusd/internal/i18n"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
)

// The index window at its edges, as django-statusboard's tests set it up:
// incident a now and closed, incident b 30 days ago and open.
func TestIndexIncidents(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	incs := []store.Incident{
		{ID: 1, Occurred: now, Closed: true},
		{ID: 2, Occurred: now.AddDate(0, 0, -30), Closed: false},
	}
	for _, tc := range []struct {
		days       int
		openAlways bool
		want       int
	}{
		{32, false, 2}, {31, false, 2}, {30, false, 1}, {29, false, 1}, {1, false, 1}, {0, false, 0},
		{7, true, 2}, {31, true, 2}, {0, true, 1},
	} {
		if got := len(IndexIncidents(incs, now, tc.days, tc.openAlways)); got != tc.want {
			t.Errorf("days %d, open %v: %d incidents, want %d", tc.days, tc.openAlways, got, tc.want)
		}
	}
	// UTC midnight is the edge: days=1 keeps 00:00:00 today, not 23:59:59
	// yesterday; days=0 keeps a future-dated incident only.
	midnight := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	edge := []store.Incident{
		{ID: 3, Occurred: midnight, Closed: true},
		{ID: 4, Occurred: midnight.Add(-time.Second), Closed: true},
		{ID: 5, Occurred: midnight.Add(48 * time.Hour), Closed: true},
	}
	if got := IndexIncidents(edge, now, 1, true); len(got) != 2 || got[0].ID != 5 || got[1].ID != 3 {
		t.Errorf("days 1: %+v", got)
	}
	if got := IndexIncidents(edge, now, 0, true); len(got) != 1 || got[0].ID != 5 {
		t.Errorf("days 0: %+v", got)
	}
	// The window is UTC's midnight whatever the time zone of now.
	rome := time.FixedZone("CET", 3600)
	if w := IndexWindow(time.Date(2026, 11, 23, 0, 30, 0, 0, rome), 1); !w.Equal(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("window from 00:30 CET: %s", w)
	}
}

func TestServiceDays(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	today := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	created := today.AddDate(0, 0, -2).Add(12 * time.Hour) // noon, two days ago
	changes := []store.StatusChange{
		// Yesterday 06:00–12:00 in partial outage, then degraded until
		// today 06:00.
		{At: today.Add(-18 * time.Hour), Old: 0, New: 2},
		{At: today.Add(-12 * time.Hour), Old: 2, New: 1},
		{At: today.Add(6 * time.Hour), Old: 1, New: 0, Maintenance: true},
	}
	days := ServiceDays(now, 4, status.Operational, created, changes, nil)
	if len(days) != 4 || !days[0].Date.Equal(today.AddDate(0, 0, -3)) || !days[3].Date.Equal(today) {
		t.Fatalf("days: %+v", days)
	}
	if !days[0].NoData || days[1].NoData {
		t.Errorf("no data before creation: %+v %+v", days[0], days[1])
	}
	if days[1].Worst != status.Operational || days[1].Uptime != 1 {
		t.Errorf("the day of creation: %+v", days[1])
	}
	if days[2].Worst != status.PartialOutage || days[2].Uptime != 0.75 {
		t.Errorf("yesterday: %+v, want partial outage and 75%% up", days[2])
	}
	if days[3].Worst != status.Degraded || days[3].Uptime != 1 || !days[3].Maintenance {
		t.Errorf("today: %+v", days[3])
	}

	// An outage set by hand (or by an alert) counts as the checks' do,
	// whatever the checks' runs say: red is never "100% uptime".
	rollups := SumDays([][]store.Rollup{{{Bucket: today, Runs: 90}}})
	manual := []store.StatusChange{{At: today.Add(6 * time.Hour), Old: 0, New: 3, Cause: store.CauseManual}}
	if d := ServiceDays(now, 1, status.MajorOutage, created, manual, rollups); d[0].Uptime != 0.5 || d[0].Worst != status.MajorOutage {
		t.Errorf("a manual outage from 06:00 to noon: %+v, want 50%%", d[0])
	}

	// The board's status, newer than the history read, is today's.
	up := &uptimeData{changes: map[string][]store.StatusChange{}, then: map[string]store.StatusChange{
		"API": {At: created, New: int(status.Operational)}}}
	svc := &board.Service{Name: "API", Status: status.MajorOutage, Since: today.Add(11 * time.Hour)}
	if d := ServiceDays(now, 1, svc.Status, created, up.history(svc), nil); d[0].Worst != status.MajorOutage || d[0].Uptime != 11.0/12 {
		t.Errorf("today after a change the history does not hold yet: %+v", d[0])
	}
	svc.Status, svc.Since = status.Operational, created
	if h := up.history(svc); len(h) != 0 {
		t.Errorf("no change since the read: %+v", h)
	}

	cat := i18n.MustLoad()
	en, _ := cat.Get("en")
	it, _ := cat.Get("it")
	bar := uptimeBar(days, en)
	if bar.Days[0].Class != "nd" || bar.Days[2].Class != "s2" || bar.Days[3].Class != "s1" || bar.Label != "91.66% uptime over 3 days" || bar.Percent != "91.66%" {
		t.Errorf("bar: %+v", bar)
	}
	if bar.Days[2].Title != "22 Nov 2026: 75% uptime, partial outage" {
		t.Errorf("tooltip %q", bar.Days[2].Title)
	}
	bar = uptimeBar(days, it)
	if bar.Label != "91,66% di disponibilità in 3 giorni" || bar.Days[2].Title != "22 nov 2026: 75% di disponibilità, interruzione parziale" {
		t.Errorf("Italian bar: %q, %q", bar.Label, bar.Days[2].Title)
	}
}

func TestPercent(t *testing.T) {
	en, _ := i18n.MustLoad().Get("en")
	for f, want := range map[float64]string{1: "100%", 0.99999: "99.99%", 0.995: "99.5%", 0.5: "50%", 0: "0%", 0.123456: "12.34%"} {
		if got := percent(f, en); got != want {
			t.Errorf("percent(%v) = %q, want %q", f, got, want)
		}
	}
}

func TestAgo(t *testing.T) {
	en, _ := i18n.MustLoad().Get("en")
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for d, want := range map[time.Duration]string{
		10 * time.Second: "just now", 2 * time.Minute: "2 minutes ago", time.Minute: "1 minute ago", 3 * time.Hour: "3 hours ago",
		50 * time.Hour: "2 days ago", 400 * 24 * time.Hour: "1 year ago", -2 * time.Hour: "in 2 hours",
	} {
		if got := en.Ago(now.Add(-d), now); got != want {
			t.Errorf("Ago(-%s) = %q, want %q", d, got, want)
		}
	}
}

func TestUrlize(t *testing.T) {
	for in, want := range map[string]template.HTML{
		"see https://x.example/a?b=1&c=2.":  `see <a href="https://x.example/a?b=1&amp;c=2" rel="nofollow noopener">https://x.example/a?b=1&amp;c=2</a>.`,
		"<b>bold</b>\nnext":                 "&lt;b&gt;bold&lt;/b&gt;<br>next",
		`(http://a.example/"onmouseover=x)`: `(<a href="http://a.example/" rel="nofollow noopener">http://a.example/</a>&#34;onmouseover=x)`,
		"javascript:alert(1)":               "javascript:alert(1)",
	} {
		if got := Urlize(in); got != want {
			t.Errorf("Urlize(%q)\n got %s\nwant %s", in, got, want)
		}
	}
}

func TestChart(t *testing.T) {
	en, _ := i18n.MustLoad().Get("en")
	hours := []store.Rollup{{Runs: 2, DurationSeconds: 0.2}, {Runs: 1, DurationSeconds: 0.3}, {Runs: 1, DurationSeconds: 1.5}}
	if sparkline(hours[:1], nil, en) != nil {
		t.Error("a line from one point")
	}
	// Without stored runs, the percentiles are the hours' averages'.
	s := sparkline(hours, nil, en)
	if s == nil || s.Points != "0.0,43.9 120.0,37.8 240.0,1.0" || s.P50 != "300 ms" || s.P95 != "1.38 s" || s.Peak != "1.50 s" ||
		s.Label != "Response time over the last 3 hours: 300 ms median, 1.38 s at the 95th percentile" {
		t.Errorf("chart: %+v", s)
	}
	// With them, the runs' own: 100 runs of 1…100 ms.
	var runs []float64
	for i := range 100 {
		runs = append(runs, float64(100-i)/1000)
	}
	if s := sparkline(hours, runs, en); s.P50 != "50 ms" || s.P95 != "95 ms" {
		t.Errorf("percentiles of the runs: p50 %s p95 %s", s.P50, s.P95)
	}
}

func TestAcceptsGzip(t *testing.T) {
	for header, want := range map[string]bool{
		"": false, "gzip": true, "GZIP": true, "br, gzip;q=0.5": true, "gzip;q=0": false, "gzip; q=0.0": false,
		"gzip;q=0.001": true, "*": true, "*;q=0": false, "gzip;q=0, *": false, "identity": false, "deflate, *;q=0.1": true,
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept-Encoding", header)
		if got := AcceptsGzip(r); got != want {
			t.Errorf("Accept-Encoding %q: %v, want %v", header, got, want)
		}
	}
}

// TestMarkdownIsInert: operators write Markdown; raw HTML, script and
// javascript: links come out inert, and links get rel="nofollow noopener".
func TestMarkdownIsInert(t *testing.T) {
	for in, want := range map[string]string{
		"Card payments **fail**.":               "<p>Card payments <strong>fail</strong>.</p>\n",
		"see https://psp.example/status":        `<p>see <a href="https://psp.example/status" rel="nofollow noopener">https://psp.example/status</a></p>` + "\n",
		"[docs](https://x.example)":             `<p><a href="https://x.example" rel="nofollow noopener">docs</a></p>` + "\n",
		"line one\nline two":                    "<p>line one<br>\nline two</p>\n",
		"<script>alert(1)</script>":             "<!-- raw HTML omitted -->\n",
		"hi <img src=x onerror=alert(1)> there": "<p>hi <!-- raw HTML omitted --> there</p>\n",
		"[click](javascript:alert(1))":          `<p><a href="" rel="nofollow noopener">click</a></p>` + "\n",
		"[x](JaVaScRiPt:alert(1))":              `<p><a href="" rel="nofollow noopener">x</a></p>` + "\n",
		"<javascript:alert(1)>":                 `<p><a href="" rel="nofollow noopener">javascript:alert(1)</a></p>` + "\n",
		"`<b>`":                                 "<p><code>&lt;b&gt;</code></p>\n",
		"a & b < c":                             "<p>a &amp; b &lt; c</p>\n",
	} {
		if got := string(Markdown(in)); got != want {
			t.Errorf("Markdown(%q)\n got %q\nwant %q", in, got, want)
		}
	}
}

// schemePattern is an address's scheme; dangerous are the schemes that
// run code or read files when followed.
var (
	schemePattern = regexp.MustCompile(`^([a-z][a-z0-9+.-]*):`)
	dangerous     = map[string]bool{"javascript": true, "vbscript": true, "file": true, "data": true}
)

// FuzzMarkdown: whatever an operator writes, the HTML has only the
// elements Markdown makes, no event handler attribute and no address that
// runs code or reads files (javascript:, vbscript:, file:, data: but
// images).
func FuzzMarkdown(f *testing.F) {
	for _, s := range []string{"<script>x</script>", "[a](javascript:x)", "<a href=javascript:x>y</a>", "**x** https://e.example", "<div onclick=x>", "![i](data:text/html,x)"} {
		f.Add(s)
	}
	allowed := map[string]bool{"p": true, "a": true, "strong": true, "em": true, "code": true, "pre": true, "br": true, "ul": true, "ol": true, "li": true,
		"blockquote": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true, "hr": true, "del": true, "img": true}
	f.Fuzz(func(t *testing.T, s string) {
		out := string(Markdown(s))
		z := html.NewTokenizer(strings.NewReader(out))
		for {
			tt := z.Next()
			if tt == html.ErrorToken {
				return
			}
			if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
				continue
			}
			tok := z.Token()
			if !allowed[tok.Data] {
				t.Fatalf("Markdown(%q) = %q has <%s>", s, out, tok.Data)
			}
			for _, a := range tok.Attr {
				// Browsers drop tabs and line breaks inside an address.
				v := strings.ToLower(strings.Map(func(r rune) rune {
					if r == '\t' || r == '\n' || r == '\r' {
						return -1
					}
					return r
				}, strings.TrimSpace(a.Val)))
				if strings.HasPrefix(a.Key, "on") {
					t.Fatalf("Markdown(%q) = %q has %s", s, out, a.Key)
				}
				if a.Key != "href" && a.Key != "src" {
					continue
				}
				if m := schemePattern.FindStringSubmatch(v); m != nil && dangerous[m[1]] && !strings.HasPrefix(v, "data:image/") {
					t.Fatalf("Markdown(%q) = %q has %s=%q", s, out, a.Key, a.Val)
				}
			}
		}
	})
}
