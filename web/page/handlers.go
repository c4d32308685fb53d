package page

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/feeds"

	"github.com/statusd/statusd/internal/i18n"
	"github.com/statusd/statusd/internal/store"
	"github.com/statusd/statusd/web/route"
)

// Cache policies: pages are revalidated on every visit (their ETag makes
// that cheap), versioned assets are kept.
const (
	revalidate = "no-cache"
	immutable  = "public, max-age=31536000, immutable"
)

// Routes registers the pages on a router.
func (p *Pages) Routes(r *route.Router) {
	read := []string{http.MethodGet, http.MethodHead}
	r.Handle("/", p.secure(http.HandlerFunc(p.index)), read...)
	r.Handle("/incidents/{id}", p.secure(http.HandlerFunc(p.incident)), read...)
	r.Handle("/history", p.secure(http.HandlerFunc(p.history)), read...)
	// The archive's addresses are /history/2026/11: four digits, two;
	// another is no page at all.
	month := func(req *http.Request) bool {
		return digits(req.PathValue("yyyy"), 4) && digits(req.PathValue("mm"), 2)
	}
	r.Handle("/history/{yyyy}/{mm}", p.secure(r.Where(month, http.HandlerFunc(p.month))), read...)
	r.Handle("/feed.atom", p.secure(http.HandlerFunc(p.feed)), read...)
	// /badge/{service}.svg (a wildcard is a whole segment).
	svg := func(req *http.Request) bool { return strings.HasSuffix(req.PathValue("badge"), ".svg") }
	r.Handle("/badge/{badge}", p.secure(r.Where(svg, http.HandlerFunc(p.badge))), read...)
	r.Handle("/favicon.ico", p.secure(http.HandlerFunc(p.faviconICO)), read...)
	r.Handle("/favicon/{state}", p.secure(http.HandlerFunc(p.static)), read...)
	r.Handle("/static/{file}", p.secure(http.HandlerFunc(p.static)), read...)
	r.Handle("/checks", p.secure(http.HandlerFunc(p.checks)), read...)
	r.Handle("/widget", p.framable(http.HandlerFunc(p.widget)), read...)
	p.subscribeRoutes(r)
}

// widget is the banner alone, for other sites to show in an iframe:
//
//	<iframe src="https://status.acme.example/widget" title="ACME status" style="border:0;width:100%;height:3rem"></iframe>
func (p *Pages) widget(w http.ResponseWriter, r *http.Request) {
	s, ok := p.snap(w)
	if !ok {
		return
	}
	l := p.langOf(w, r, s)
	a, err := s.lazyAsset("widget|"+l.Code, htmlType, func() ([]byte, error) {
		return p.html(s, "widget", p.data(s, "", s.built, l))
	})
	if err != nil {
		http.Error(w, "cannot render the widget", http.StatusInternalServerError)
		return
	}
	a.serve(w, r, http.StatusOK, revalidate)
}

// snap is the current snapshot; it exists once a theme is in use.
func (p *Pages) snap(w http.ResponseWriter) (*snapshot, bool) {
	s := p.current.Load()
	if s == nil {
		http.Error(w, "the status page is starting", http.StatusServiceUnavailable)
		return nil, false
	}
	return s, true
}

func (p *Pages) index(w http.ResponseWriter, r *http.Request) {
	s, ok := p.snap(w)
	if !ok {
		return
	}
	a, err := p.indexIn(s, p.langOf(w, r, s))
	if err != nil {
		p.opts.Logger.Error("Cannot render the status page", "err", err)
		http.Error(w, "cannot render the status page", http.StatusInternalServerError)
		return
	}
	a.serve(w, r, http.StatusOK, revalidate)
}

// langCookie remembers the language a visitor chose with ?lang=.
const langCookie = "statusd_lang"

// langOf is the language to answer a request in: page.language when set,
// else ?lang= (remembered in a cookie), the cookie, then the browser's
// Accept-Language. The answer varies by those headers.
func (p *Pages) langOf(w http.ResponseWriter, r *http.Request, s *snapshot) *i18n.Lang {
	if s.r.settings.Language != "" {
		return s.lang
	}
	h := w.Header()
	h["Vary"] = varyLanguage
	cat := s.r.catalog
	if q := langParam(r); q != "" {
		if l, ok := cat.Get(q); ok {
			path := "/"
			if p.opts.ExternalURL != nil && p.opts.ExternalURL.Path != "" {
				path = p.opts.ExternalURL.Path
			}
			http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l.Code, Path: path, MaxAge: 365 * 24 * 3600,
				SameSite: http.SameSiteLaxMode, HttpOnly: true, Secure: r.TLS != nil})
			return l
		}
	}
	if c, err := r.Cookie(langCookie); err == nil {
		if l, ok := cat.Get(c.Value); ok {
			return l
		}
	}
	return cat.Match(r.Header.Get("Accept-Language"))
}

// langParam is ?lang=, without parsing the query of a request that has
// none (most: the page is served tens of thousands of times a second).
func langParam(r *http.Request) string {
	if r.URL.RawQuery == "" {
		return ""
	}
	return r.URL.Query().Get("lang")
}

// varyLanguage is the Vary of a page in the visitor's language.
var varyLanguage = []string{"Accept-Encoding, Accept-Language, Cookie"}

// NotFound answers a page that does not exist, as a page (a browser's
// visitor gets the site, not raw JSON).
func (p *Pages) NotFound(w http.ResponseWriter, r *http.Request) {
	s, ok := p.snap(w)
	if !ok {
		return
	}
	root := strings.Repeat("../", strings.Count(strings.TrimPrefix(r.URL.Path, "/"), "/"))
	p.errorPage(w, r, s, root, http.StatusNotFound, "error.not_found", "error.not_found_text", "Path", r.URL.Path)
}

// errorPage answers an HTML error page, its title and message by
// catalogue key (args fill the message).
func (p *Pages) errorPage(w http.ResponseWriter, r *http.Request, s *snapshot, root string, code int, title, msgKey string, args ...any) {
	l := p.langOf(w, r, s)
	d := p.data(s, root, p.opts.Clock.Now(), l)
	msg := l.T(msgKey, args...)
	d.Error = &ErrorView{Title: l.T(title), Message: msg}
	body, err := p.html(s, "error", d)
	if err != nil {
		http.Error(w, msg, code)
		return
	}
	plainAsset(body, htmlType).serve(w, r, code, "no-store")
}

func (p *Pages) unavailable(w http.ResponseWriter, r *http.Request, s *snapshot, root string, err error) {
	p.opts.Logger.Debug("A page could not be read from the database", "path", r.URL.Path, "err", err)
	p.errorPage(w, r, s, root, http.StatusServiceUnavailable, "error.unavailable", "error.unavailable_text")
}

func (p *Pages) incident(w http.ResponseWriter, r *http.Request) {
	s, ok := p.snap(w)
	if !ok {
		return
	}
	raw := r.PathValue("id")
	id, err := strconv.ParseInt(raw, 10, 64)
	// An id past the largest the board saw does not exist (yet): it is
	// answered without asking the database.
	if err != nil || id < 1 || id > s.board.MaxIncidentID {
		p.errorPage(w, r, s, "../", http.StatusNotFound, "error.no_incident", "error.no_incident_text", "ID", raw)
		return
	}
	l := p.langOf(w, r, s)
	a, err := s.lazyAsset("incident/"+strconv.FormatInt(id, 10)+"|"+l.Code, htmlType, func() ([]byte, error) {
		inc, ok := s.board.Incident(id)
		if !ok {
			var err error
			if inc, err = p.opts.Store.Incident(r.Context(), id); err != nil {
				return nil, err
			}
		}
		d := p.data(s, "../", p.opts.Clock.Now(), l)
		v := incidentView(inc, "../", s.r.settings.Location, l)
		d.Incident = &v
		return p.html(s, "incident", d)
	})
	switch {
	case errors.Is(err, store.ErrNoIncident):
		p.errorPage(w, r, s, "../", http.StatusNotFound, "error.no_incident", "error.no_incident_text", "ID", raw)
	case err != nil:
		p.unavailable(w, r, s, "../", err)
	default:
		a.serve(w, r, http.StatusOK, revalidate)
	}
}

// months are the months with incidents, newest first, read once per
// snapshot.
func (p *Pages) months(ctx context.Context, s *snapshot) ([]time.Time, error) {
	s.monthsMu.Lock()
	defer s.monthsMu.Unlock()
	if s.months != nil {
		return s.months, nil
	}
	ms, err := p.opts.Store.IncidentMonths(ctx, s.r.settings.Location)
	if err != nil {
		return nil, err
	}
	s.months = append([]time.Time{}, ms...)
	return s.months, nil
}

// history sends visitors to the month of the latest incident.
func (p *Pages) history(w http.ResponseWriter, r *http.Request) {
	s, ok := p.snap(w)
	if !ok {
		return
	}
	ms, err := p.months(r.Context(), s)
	if err != nil {
		p.unavailable(w, r, s, "", err)
		return
	}
	if len(ms) == 0 {
		l := p.langOf(w, r, s)
		a, err := s.lazyAsset("history/empty|"+l.Code, htmlType, func() ([]byte, error) {
			d := p.data(s, "", p.opts.Clock.Now(), l)
			d.Archive = &Archive{}
			return p.html(s, "archive", d)
		})
		if err != nil {
			p.unavailable(w, r, s, "", err)
			return
		}
		a.serve(w, r, http.StatusOK, revalidate)
		return
	}
	// Relative, so that it works behind a proxy under any path
	// (http.Redirect would make it absolute).
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Location", "history/"+ms[0].Format("2006/01"))
	w.WriteHeader(http.StatusFound)
}

// Archive is a month of incidents.
type Archive struct {
	// Label names the month; "" for the empty archive.
	Label string
	Days  []IncidentDay
	// Newer and Older are the nearest months with incidents, when any.
	Newer, Older *MonthLink
}

// MonthLink links to an archive month.
type MonthLink struct {
	Path, Label string
}

func monthLink(m time.Time, l *i18n.Lang) *MonthLink {
	return &MonthLink{Path: m.Format("2006/01"), Label: l.MonthYear(m)}
}

// digits tells whether s is n decimal digits.
func digits(s string, n int) bool {
	return len(s) == n && strings.Trim(s, "0123456789") == ""
}

// month lists a month's incidents; an empty or future month is not found
// (django-statusboard's MonthArchiveView).
func (p *Pages) month(w http.ResponseWriter, r *http.Request) {
	s, ok := p.snap(w)
	if !ok {
		return
	}
	const root = "../../"
	yyyy, mm := r.PathValue("yyyy"), r.PathValue("mm")
	year, _ := strconv.Atoi(yyyy)
	mon, _ := strconv.Atoi(mm)
	notFound := func() {
		p.errorPage(w, r, s, root, http.StatusNotFound, "page.no_incidents_found", "error.no_month_text", "Month", yyyy+"/"+mm)
	}
	if mon < 1 || mon > 12 {
		notFound()
		return
	}
	// Months are the site's: November ends at midnight in site.timezone.
	start := time.Date(year, time.Month(mon), 1, 0, 0, 0, 0, s.r.settings.Location)
	ms, err := p.months(r.Context(), s)
	if err != nil {
		p.unavailable(w, r, s, root, err)
		return
	}
	now := p.opts.Clock.Now().UTC()
	i := slices.IndexFunc(ms, func(m time.Time) bool { return m.Equal(start) })
	if i < 0 || start.After(now) {
		notFound()
		return
	}
	l := p.langOf(w, r, s)
	a, err := s.lazyAsset("history/"+start.Format("2006/01")+"|"+l.Code, htmlType, func() ([]byte, error) {
		incs, _, err := p.opts.Store.Incidents(r.Context(), store.IncidentQuery{Since: start, Before: start.AddDate(0, 1, 0)})
		if err != nil {
			return nil, err
		}
		arch := &Archive{Label: l.MonthYear(start), Days: byDay(incs, root, s.r.settings.Location, l)}
		if i > 0 && !ms[i-1].After(now) {
			arch.Newer = monthLink(ms[i-1], l)
		}
		if i+1 < len(ms) {
			arch.Older = monthLink(ms[i+1], l)
		}
		d := p.data(s, root, p.opts.Clock.Now(), l)
		d.Archive = arch
		return p.html(s, "archive", d)
	})
	if err != nil {
		p.unavailable(w, r, s, root, err)
		return
	}
	a.serve(w, r, http.StatusOK, revalidate)
}

// feedItems is how many incidents the feed holds.
const feedItems = 50

// feed serves an Atom feed of the latest incidents.
func (p *Pages) feed(w http.ResponseWriter, r *http.Request) {
	s, ok := p.snap(w)
	if !ok {
		return
	}
	base := RootURL(p.opts.ExternalURL, r)
	l := p.langOf(w, r, s)
	a, err := s.lazyAsset("feed|"+l.Code+"|"+base, "application/atom+xml; charset=utf-8", func() ([]byte, error) {
		st := s.r.settings
		f := &feeds.Feed{
			Title:       l.T("page.feed_title", "Site", st.Title),
			Link:        &feeds.Link{Href: base},
			Id:          base,
			Description: l.T("feed.title", "Site", st.Title),
			Updated:     s.board.Built,
			Author:      &feeds.Author{Name: st.Title},
		}
		incs := s.board.Incidents
		if len(incs) > feedItems {
			incs = incs[:feedItems]
		}
		for i := range incs {
			inc := &incs[i]
			link := base + "incidents/" + strconv.FormatInt(inc.ID, 10)
			var content []byte
			for _, u := range inc.Updates {
				content = fmt.Appendf(content, "<p><strong>%s</strong> (%s):</p>%s", stateLabel(u.State, l),
					l.DateTime(u.CreatedAt.In(st.Location)), Markdown(u.Message))
			}
			updated := inc.Occurred
			if len(inc.Updates) > 0 {
				updated = inc.Updates[0].CreatedAt
			}
			f.Items = append(f.Items, &feeds.Item{
				Title:   fmt.Sprintf("%s [%s]", inc.Title, stateLabel(inc.State(), l)),
				Link:    &feeds.Link{Href: link},
				Id:      link,
				Created: inc.Occurred,
				Updated: updated,
				Content: string(content),
			})
			if updated.After(f.Updated) {
				f.Updated = updated
			}
		}
		// Downtime ahead or in progress is news too.
		for _, d := range s.board.Downtime {
			if !d.Start.Valid {
				continue
			}
			id := base + "#downtime-" + strconv.FormatInt(d.ID, 10)
			what := l.T("feed.downtime")
			if d.Reason != "" {
				what += ": " + d.Reason
			}
			text := l.T("feed.from", "Start", l.DateTime(d.Start.Time.In(st.Location)))
			if d.End.Valid {
				text += " " + l.T("feed.until", "End", l.DateTime(d.End.Time.In(st.Location)))
			}
			f.Items = append(f.Items, &feeds.Item{Title: what, Link: &feeds.Link{Href: base}, Id: id, Created: d.Start.Time, Updated: d.Start.Time,
				Content: "<p>" + template.HTMLEscapeString(text) + "</p>"})
		}
		return atomXML(f, base+"feed.atom", l.Code)
	})
	if err != nil {
		http.Error(w, "cannot write the feed", http.StatusInternalServerError)
		return
	}
	a.serve(w, r, http.StatusOK, revalidate)
}

// RootURL is statusd's root as visitors reach it, with a trailing slash:
// the external URL when set, else the request's scheme and host.
func RootURL(external *url.URL, r *http.Request) string {
	if external != nil {
		return strings.TrimSuffix(external.String(), "/") + "/"
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/"
}

func (p *Pages) badge(w http.ResponseWriter, r *http.Request) {
	s, ok := p.snap(w)
	if !ok {
		return
	}
	name, _ := strings.CutSuffix(r.PathValue("badge"), ".svg")
	a, ok := s.badges[name]
	if q := langParam(r); ok && q != "" {
		// Badges are embedded elsewhere: in the default language, or
		// the one asked for.
		if l, known := s.r.catalog.Get(q); known && l != s.lang {
			sv, _ := s.board.Service(name)
			a, _ = s.lazyAsset("badge|"+l.Code+"|"+name, "image/svg+xml", func() ([]byte, error) {
				return Badge(sv.Name, sv.Status, sv.Maintenance, l), nil
			})
		}
	}
	if !ok {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		http.Error(w, "no service named "+strconv.Quote(name), http.StatusNotFound)
		return
	}
	a.serve(w, r, http.StatusOK, revalidate)
}

// faviconICO serves the icon of the worst status at the address browsers
// ask for on their own.
func (p *Pages) faviconICO(w http.ResponseWriter, r *http.Request) {
	if s, ok := p.snap(w); ok {
		s.r.favicons[s.favicon].ico.serve(w, r, http.StatusOK, revalidate)
	}
}

// static serves the versioned assets: the stylesheet, the script and the
// icon of each state (the page links the worst status's).
func (p *Pages) static(w http.ResponseWriter, r *http.Request) {
	s, ok := p.snap(w)
	if !ok {
		return
	}
	a, ok := s.r.static[strings.TrimPrefix(r.URL.Path, "/")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	a.serve(w, r, http.StatusOK, immutable)
}

// atomFeed is an Atom feed as RFC 4287 wants it: gorilla/feeds writes one
// link, and a feed needs two (the page, and itself with rel="self"), and
// an author (the site).
type atomFeed struct {
	XMLName  xml.Name           `xml:"feed"`
	Xmlns    string             `xml:"xmlns,attr"`
	Lang     string             `xml:"xml:lang,attr,omitempty"`
	Title    string             `xml:"title"`
	ID       string             `xml:"id"`
	Updated  string             `xml:"updated"`
	Subtitle string             `xml:"subtitle,omitempty"`
	Links    []feeds.AtomLink   `xml:"link"`
	Author   *feeds.AtomAuthor  `xml:"author"`
	Entries  []*feeds.AtomEntry `xml:"entry"`
}

// atomXML writes a feed with its self link and the site as its author.
func atomXML(f *feeds.Feed, self, lang string) ([]byte, error) {
	a := (&feeds.Atom{Feed: f}).AtomFeed()
	out := atomFeed{Xmlns: a.Xmlns, Lang: lang, Title: a.Title, ID: a.Id, Updated: a.Updated, Subtitle: a.Subtitle, Entries: a.Entries,
		Links:  []feeds.AtomLink{{Href: f.Link.Href, Rel: "alternate", Type: "text/html"}, {Href: self, Rel: "self", Type: "application/atom+xml"}},
		Author: &feeds.AtomAuthor{AtomPerson: feeds.AtomPerson{Name: f.Author.Name, Uri: f.Link.Href}}}
	b, err := xml.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), b...), nil
}
