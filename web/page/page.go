// Package page serves the public status page: the index with services,
// uptime bars and incidents, incident pages, the monthly archive, an Atom
// feed, status badges, favicons that follow the worst status, and the
// checks dashboard. Pages are rendered from the board snapshot when it
// changes (and every 30 s for relative times), kept in memory with their
// gzip form and ETag, and served from there. Only what the snapshot does
// not hold (the archive, incidents older than its 500 newest) is read
// from the database, once per snapshot.
package page

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/statusd/statusd/internal/board"
	"github.com/statusd/statusd/internal/content"
	"github.com/statusd/statusd/internal/i18n"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
)

// Store is what pages read from the database, off the request path.
type Store interface {
	ServiceChangesSince(ctx context.Context, from time.Time) (map[string][]store.StatusChange, error)
	RollupsOf(ctx context.Context, ids []status.CheckID, res store.Resolution, from time.Time) (map[status.CheckID][]store.Rollup, error)
	DurationsOf(ctx context.Context, ids []status.CheckID, from time.Time) (map[status.CheckID][]float64, error)
	IncidentMonths(ctx context.Context, loc *time.Location) ([]time.Time, error)
	Incidents(ctx context.Context, q store.IncidentQuery) ([]store.Incident, int, error)
	Incident(ctx context.Context, id int64) (*store.Incident, error)
}

// Boards gives the current board and tells when it changes.
type Boards interface {
	Board() *board.Board
	Subscribe(func(*board.Board))
}

// CheckInfo is one check as the checks dashboard shows it.
type CheckInfo struct {
	ID          status.CheckID
	Kind        string
	Description string
	// Result is the latest result; nil before the first run.
	Result *status.Result
	// Evaluated is the debounced level; nil before the first evaluation.
	Evaluated *status.Level
	// Receivers are who is told about the check.
	Receivers []string
}

// Options configure the pages.
type Options struct {
	Logger *slog.Logger
	Store  Store
	Boards Boards
	// Checks lists every check for the dashboard, in config order.
	Checks func() []CheckInfo
	// ResponseTimed tells whether a check's runs time a response (an
	// http check's do), for the services' response-time sparklines.
	ResponseTimed func(status.CheckID) bool
	Clock         clockwork.Clock
	// ExternalURL is how visitors reach statusd, for the feed's absolute
	// links; nil builds them from the request.
	ExternalURL *url.URL
	Version     string
	// ChecksGuarded is set when something in front of every route (basic
	// auth from --web.config.file) already authenticates visitors, so the
	// checks dashboard may be served.
	ChecksGuarded bool
	// Catalog holds the languages; nil loads the built-in catalogues.
	Catalog *i18n.Catalog
	// Subscriptions take visitors' subscriptions; nil offers none.
	Subscriptions content.Subscriptions
	// Authorize tells whether a request may see the checks dashboard
	// anyway (it has an API token): nil, ErrTokensUnknown when no token
	// can be checked yet, or another error; nil Authorize: no.
	Authorize func(*http.Request) error
}

// ErrTokensUnknown is Authorize's answer while the API tokens have never
// been read: the dashboard answers 503 with Retry-After, not 401.
var ErrTokensUnknown = errors.New("the API tokens are not known yet")

// Settings are the config's page settings.
type Settings struct {
	Title, SiteName, SiteURL string
	Location                 *time.Location
	IncidentDays             int
	OpenIncidentsAlways      bool
	AutoRefresh              time.Duration
	// Favicons are icon files by state (see FaviconStates).
	Favicons     map[string]string
	TemplatesDir string
	PublicChecks bool
	// FrameAncestors are the sites that may frame the pages
	// (page.frame_ancestors); none when empty.
	FrameAncestors []string
	// Language forces the pages' language; "" follows each visitor.
	Language string
	// Logo is an image file shown in the header; Accent a #rrggbb
	// colour; HeaderLinks links in the header.
	Logo        string
	Accent      string
	HeaderLinks []HeaderLink
	// Subscribe is what the page offers visitors to subscribe.
	Subscribe SubscribeSettings
}

// Pages renders and serves the status page.
type Pages struct {
	opts Options
	// langsSeen are the languages visitors asked the index in, by code:
	// each snapshot renders them with the default one, so that a visitor
	// never waits for a render.
	langsSeen sync.Map
	renderer  atomic.Pointer[renderer]
	current   atomic.Pointer[snapshot]
	uptime    *uptimeData // the loop's
	dirty     chan struct{}
	mu        sync.Mutex // serialises builds
}

// renderer is one config's templates, icons and settings.
type renderer struct {
	settings Settings
	// subscribeLimits bound subscription requests (per config).
	subscribeLimits *subscribeLimits
	catalog         *i18n.Catalog
	brand           Brand
	templates       *templates
	favicons        map[string]*icon
	assets          Assets
	static          map[string]*asset // versioned assets by path under the root: static/…, favicon/…
	// csp is the pages' Content-Security-Policy header value;
	// framableCSP the widget's, which any site may frame.
	csp, framableCSP []string
}

// New returns pages with no theme; Use gives them one.
func New(opts Options) *Pages {
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Catalog == nil {
		opts.Catalog = i18n.MustLoad()
	}
	return &Pages{opts: opts, dirty: make(chan struct{}, 1)}
}

// Theme is a config's page settings loaded: its templates and icons.
type Theme struct{ r *renderer }

// Load loads page settings: a broken template override or an unreadable
// favicon is an error naming the file. now is the clock relative times
// are told by (nil: the wall clock).
func Load(s Settings, now func() time.Time) (*Theme, error) {
	if now == nil {
		now = time.Now
	}
	r, err := newRenderer(s, now, i18n.MustLoad())
	if err != nil {
		return nil, err
	}
	return &Theme{r}, nil
}

// Use renders the pages with a theme from now on.
func (p *Pages) Use(t *Theme) {
	p.renderer.Store(t.r)
	p.rebuild(context.Background(), false)
}

func newRenderer(s Settings, now func() time.Time, cat *i18n.Catalog) (*renderer, error) {
	if s.Location == nil {
		s.Location = time.UTC
	}
	if s.Title == "" {
		s.Title = s.SiteName
	}
	first, _ := cat.Get(cmp.Or(s.Language, i18n.Default))
	ts, in, err := loadTemplates(s.TemplatesDir, first, funcs(now, s.Location))
	if err != nil {
		return nil, err
	}
	icons, err := loadFavicons(s.Favicons)
	if err != nil {
		return nil, err
	}
	r := &renderer{settings: s, catalog: cat, templates: ts, favicons: icons, static: map[string]*asset{},
		brand: Brand{Accent: s.Accent, Links: s.HeaderLinks}, subscribeLimits: newSubscribeLimits(s.Subscribe)}
	if s.Logo != "" {
		b, err := os.ReadFile(s.Logo)
		if err != nil {
			return nil, fmt.Errorf("page.logo: %w", err)
		}
		a := newAsset(b, logoType(s.Logo))
		r.brand.Logo = "static/logo" + strings.ToLower(filepath.Ext(s.Logo)) + "?v=" + a.etag[1:9]
		r.static["static/logo"+strings.ToLower(filepath.Ext(s.Logo))] = a
	}
	if s.Accent != "" {
		// A stylesheet of its own, not an inline style: the policy
		// stays 'self'.
		a := newAsset([]byte(":root{--accent:"+s.Accent+"}\n"), "text/css; charset=utf-8")
		r.brand.CSS = "static/brand.css?v=" + a.etag[1:9]
		r.static["static/brand.css"] = a
	}
	r.csp = []string{contentSecurityPolicy(in.styles, in.scripts, s.FrameAncestors)}
	r.framableCSP = []string{contentSecurityPolicy(in.styles, in.scripts, []string{"*"})}
	for _, f := range []struct {
		file, ctype string
		path        *string
	}{{"style.css", "text/css; charset=utf-8", &r.assets.CSS}, {"page.js", "text/javascript; charset=utf-8", &r.assets.JS}} {
		b, err := fs.ReadFile(assets, "assets/static/"+f.file)
		if err != nil {
			return nil, err
		}
		a := newAsset(b, f.ctype)
		// The version in the path lets browsers keep it for a year.
		*f.path = "static/" + f.file + "?v=" + a.etag[1:9]
		r.static["static/"+f.file] = a
	}
	for state, ic := range icons {
		r.static["favicon/"+state] = ic.page
	}
	return r, nil
}

// logoType is a logo's content type by its extension.
func logoType(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".gif":
		return "image/gif"
	case ".webp":
		return "image/webp"
	}
	return "image/jpeg"
}

// Invalidate asks for the pages to be rendered again soon.
func (p *Pages) Invalidate() {
	select {
	case p.dirty <- struct{}{}:
	default:
	}
}

// Timing of the loop.
const (
	// tickEvery is how often the loop looks at the clock (a change of the
	// board wakes it at once).
	tickEvery = 15 * time.Second
	// renderEvery re-renders unchanged pages, for relative times and
	// the index's incident window, which move with the clock.
	renderEvery = 30 * time.Second
	// uptimeEvery re-reads the uptime bars' data (rollups are written
	// every 5 minutes); uptimeMinGap bounds re-reads when the board
	// changes often.
	uptimeEvery  = 5 * time.Minute
	uptimeMinGap = 5 * time.Second
)

// Run renders the pages when the board changes and as the clock moves,
// until ctx ends.
func (p *Pages) Run(ctx context.Context) {
	p.opts.Boards.Subscribe(func(*board.Board) { p.Invalidate() })
	p.rebuild(ctx, true)
	tick := p.opts.Clock.NewTicker(tickEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.dirty:
			p.rebuild(ctx, true)
		case <-tick.Chan():
			if p.due(p.opts.Clock.Now()) {
				p.rebuild(ctx, true)
			}
		}
	}
}

// due tells whether the pages should be rendered again: the board moved,
// relative times are old, or the uptime data is due.
func (p *Pages) due(now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, up := p.current.Load(), p.uptime
	return s == nil || s.board.Version != p.opts.Boards.Board().Version || now.Sub(s.built) >= renderEvery || p.uptimeDue(up, s.board, now)
}

// uptimeDue tells whether the uptime data should be read again.
func (p *Pages) uptimeDue(up *uptimeData, b *board.Board, now time.Time) bool {
	return up == nil || now.Sub(up.read) >= uptimeEvery || (up.version != b.Version && now.Sub(up.read) >= uptimeMinGap)
}

// Refresh renders the pages now from the current board, with the uptime
// data read again.
func (p *Pages) Refresh(ctx context.Context) {
	p.mu.Lock()
	p.uptime = nil
	p.mu.Unlock()
	p.rebuild(ctx, true)
}

// rebuild renders the pages from the current board; withUptime re-reads
// the uptime data when it is due.
func (p *Pages) rebuild(ctx context.Context, withUptime bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.renderer.Load()
	if r == nil {
		return
	}
	b := p.opts.Boards.Board()
	now := p.opts.Clock.Now()
	if withUptime && p.opts.Store != nil {
		if p.uptimeDue(p.uptime, b, now) {
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			fresh, err := readUptime(rctx, p.opts.Store, b, p.opts.ResponseTimed, now)
			cancel()
			if err != nil {
				p.opts.Logger.Debug("Cannot read the uptime history; the bars wait for the database", "err", err)
			} else {
				p.uptime = fresh
			}
		}
	}
	s, err := p.build(r, b, p.uptime, now)
	if err != nil {
		p.opts.Logger.Error("Cannot render the status page", "err", err)
		return
	}
	p.current.Store(s)
}

// readUptime reads what the uptime bars and sparklines need.
func readUptime(ctx context.Context, st Store, b *board.Board, timed func(status.CheckID) bool, now time.Time) (*uptimeData, error) {
	first := IndexWindow(now, UptimeDays)
	var ids, charted []status.CheckID
	for _, s := range b.Services {
		ids = append(ids, s.Checks...)
		// A service's chart is of its first check that times a response.
		for _, id := range s.Checks {
			if timed != nil && timed(id) {
				charted = append(charted, id)
				break
			}
		}
	}
	changes, err := st.ServiceChangesSince(ctx, first)
	if err != nil {
		return nil, err
	}
	days, err := st.RollupsOf(ctx, ids, store.Day, first)
	if err != nil {
		return nil, err
	}
	hours, err := st.RollupsOf(ctx, ids, store.Hour, now.Add(-24*time.Hour).Truncate(time.Hour))
	if err != nil {
		return nil, err
	}
	durations, err := st.DurationsOf(ctx, charted, now.Add(-24*time.Hour))
	if err != nil {
		return nil, err
	}
	then := make(map[string]store.StatusChange, len(b.Services))
	for _, s := range b.Services {
		then[s.Name] = store.StatusChange{At: s.Since, New: int(s.Status), Maintenance: s.Maintenance}
	}
	return &uptimeData{version: b.Version, read: now, changes: changes, then: then, days: days, hours: hours, durations: durations}, nil
}

// snapshot is the pages of one board, rendered.
type snapshot struct {
	r     *renderer
	board *board.Board
	built time.Time
	// index is the status page in the default language; the others are
	// rendered on first request, into lazy.
	index *asset
	lang  *i18n.Lang // the default language
	up    *uptimeData
	// prev is the one before, whose pages are kept when unchanged. It
	// is atomic: the next build drops it while requests that still hold
	// this snapshot may read it (prevLazy).
	prev    atomic.Pointer[snapshot]
	favicon string // the favicon state
	badges  map[string]*asset

	mu     sync.Mutex
	lazy   map[string]*asset        // pages rendered on first request
	making map[string]chan struct{} // pages being rendered, closed when done

	monthsMu sync.Mutex
	months   []time.Time // months with incidents, once read
}

// maxLazy bounds the pages a snapshot keeps (archive months, feeds by
// host): past it they are rendered per request.
const maxLazy = 256

func (p *Pages) build(r *renderer, b *board.Board, up *uptimeData, now time.Time) (*snapshot, error) {
	prev := p.current.Load()
	s := &snapshot{r: r, board: b, built: now, up: up, badges: map[string]*asset{}, lazy: map[string]*asset{}, making: map[string]chan struct{}{}}
	s.lang = r.defaultLang()
	if prev != nil {
		// Only the one before is kept: prev.prev goes.
		prev.prev.Store(nil)
		s.prev.Store(prev)
	}
	s.favicon = "default"
	if w, ok := b.Worst(); ok {
		s.favicon = w.String()
	}
	// A page rendered again as it was (the clock moved, nothing it shows
	// did) keeps its compressed form: compressing the index at the best
	// level was most of an idle statusd's CPU.
	var old *asset
	if prev != nil && prev.lang == s.lang {
		old = prev.index
	}
	var err error
	if s.index, err = p.renderIndex(s, s.lang, now, old); err != nil {
		return nil, err
	}
	p.langsSeen.Range(func(k, _ any) bool {
		l, ok := r.catalog.Get(k.(string))
		if !ok || l == s.lang {
			return true
		}
		key := "index|" + l.Code
		a, err := p.renderIndex(s, l, now, s.prevLazy(key))
		if err != nil {
			// Its first visitor renders it, and is told if it fails.
			p.opts.Logger.Error("Cannot render the status page", "lang", l.Code, "err", err)
			return true
		}
		s.lazy[key] = a
		return true
	})
	for _, sv := range b.Services {
		old = nil
		if prev != nil && prev.lang == s.lang {
			old = prev.badges[sv.Name]
		}
		s.badges[sv.Name] = keptAsset(old, Badge(sv.Name, sv.Status, sv.Maintenance, s.lang), "image/svg+xml")
	}
	return s, nil
}

// renderIndex renders a snapshot's status page in a language, keeping
// old when it is the same.
func (p *Pages) renderIndex(s *snapshot, l *i18n.Lang, now time.Time, old *asset) (*asset, error) {
	d := p.data(s, "", now, l)
	d.Index = s.r.buildIndex(s.board, s.up, p.opts.ResponseTimed, now, l)
	body, err := s.r.templates.execute("index", d)
	if err != nil {
		return nil, err
	}
	return keptAsset(old, body, htmlType), nil
}

// indexIn is the status page in a language: the default one rendered
// with the snapshot, others on first request.
func (p *Pages) indexIn(s *snapshot, l *i18n.Lang) (*asset, error) {
	if l == s.lang {
		return s.index, nil
	}
	key := "index|" + l.Code
	p.langsSeen.Store(l.Code, true)
	return s.lazyMade(key, func(bool) (*asset, error) {
		return p.renderIndex(s, l, s.built, s.prevLazy(key))
	})
}

// prevLazy is the snapshot before's page by key, nil when it had none.
func (s *snapshot) prevLazy(key string) *asset {
	prev := s.prev.Load()
	if prev == nil {
		return nil
	}
	prev.mu.Lock()
	defer prev.mu.Unlock()
	return prev.lazy[key]
}

// defaultLang is page.language, or English.
func (r *renderer) defaultLang() *i18n.Lang {
	l, _ := r.catalog.Get(cmp.Or(r.settings.Language, i18n.Default))
	return l
}

// Response is a response kept in memory and served many times, with its
// gzip form and ETag (what the pages are): for the read API's answers
// that many clients poll.
type Response struct{ a *asset }

// NewResponse keeps a body of a content type.
func NewResponse(body []byte, ctype string) *Response { return &Response{newAsset(body, ctype)} }

// Serve writes it: 304 when the client has it, gzip when it takes it.
func (r *Response) Serve(w http.ResponseWriter, req *http.Request, cacheControl string) {
	r.a.serve(w, req, http.StatusOK, cacheControl)
}

// keptAsset is old when it has the same body and type, or a new asset.
func keptAsset(old *asset, body []byte, ctype string) *asset {
	if old != nil && old.ctypeH[0] == ctype && bytes.Equal(old.body, body) {
		return old
	}
	return newAsset(body, ctype)
}

// data is what every page of a snapshot shares; root leads back to the
// page root from the page's path.
func (p *Pages) data(s *snapshot, root string, now time.Time, l *i18n.Lang) *Data {
	st := s.r.settings
	d := &Data{
		Site:        SiteInfo{Name: st.SiteName, Title: st.Title, URL: st.SiteURL},
		Root:        root,
		AutoRefresh: int(st.AutoRefresh / time.Second),
		Assets:      s.r.assets,
		Version:     p.opts.Version,
		Now:         now,
		Lang:        l,
		Brand:       s.r.brand,
		Subscribe:   p.opts.Subscriptions != nil && st.Subscribe.on(),
	}
	if st.Language == "" {
		for _, o := range s.r.catalog.Langs() {
			d.Langs = append(d.Langs, LangLink{Code: o.Code, Name: o.Name, Current: o == l})
		}
	}
	d.Favicon = root + "favicon/" + s.favicon + "?v=" + s.r.favicons[s.favicon].page.etag[1:9]
	if w, ok := s.board.Worst(); ok {
		d.Worst = statusView(w, l)
	}
	return d
}

// asset is a response with the header values it is served with, made
// once. A kept asset (newAsset) also has its gzip form and ETag; a page
// made for one request (plainAsset) has neither: compressing it at the
// best level would cost more than sending it.
type asset struct {
	body, gz []byte
	etag     string // "" for a page made for one request
	// The header values: the ETag, the type, and the length of body then
	// of gz.
	etagH, ctypeH []string
	length        [2][]string
}

// newAsset makes an asset that is kept and served many times.
func newAsset(body []byte, ctype string) *asset {
	a := plainAsset(body, ctype)
	a.etag = etag(body)
	a.etagH = []string{a.etag}
	// Text compresses; images (but SVG) are compressed already.
	if len(body) > 512 && (!strings.HasPrefix(ctype, "image/") || ctype == "image/svg+xml") {
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		_, _ = zw.Write(body) // a bytes.Buffer takes everything
		_ = zw.Close()
		a.gz = b.Bytes()
		a.length[1] = []string{strconv.Itoa(len(a.gz))}
	}
	return a
}

// plainAsset makes an asset served once: no ETag, no gzip.
func plainAsset(body []byte, ctype string) *asset {
	return &asset{body: body, ctypeH: []string{ctype}, length: [2][]string{{strconv.Itoa(len(body))}}}
}

func etag(b []byte) string {
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}

// serve writes an asset: 304 when the client has it, gzip when the client
// takes it. Headers are set in the map directly, in canonical form: the
// page is served tens of thousands of times a second.
func (a *asset) serve(w http.ResponseWriter, r *http.Request, code int, cacheControl string) {
	h := w.Header()
	h["Content-Type"] = a.ctypeH
	h["Cache-Control"] = []string{cacheControl}
	h["X-Content-Type-Options"] = nosniff
	if _, set := h["Vary"]; a.gz != nil && !set {
		h["Vary"] = varyEncoding
	}
	if a.etag != "" {
		h["Etag"] = a.etagH
	}
	if code == http.StatusOK && a.etag != "" && etagMatch(r.Header.Get("If-None-Match"), a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body, length := a.body, a.length[0]
	if a.gz != nil && AcceptsGzip(r) {
		h["Content-Encoding"] = gzipEncoding
		body, length = a.gz, a.length[1]
	}
	h["Content-Length"] = length
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body) // a client gone away is nobody's error
	}
}

var (
	nosniff      = []string{"nosniff"}
	varyEncoding = []string{"Accept-Encoding"}
	gzipEncoding = []string{"gzip"}
)

func etagMatch(header, tag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == tag || t == "*" {
			return true
		}
	}
	return false
}

// AcceptsGzip tells whether a request takes a gzipped response: gzip (or
// *) listed in Accept-Encoding with a quality above 0 (RFC 9110 §12.5.3).
func AcceptsGzip(r *http.Request) bool {
	star := false
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.TrimSpace(coding)
		q := 1.0
		if name, value, ok := strings.Cut(strings.TrimSpace(params), "="); ok && strings.EqualFold(strings.TrimSpace(name), "q") {
			if v, err := strconv.ParseFloat(strings.TrimSpace(value), 64); err == nil {
				q = v
			}
		}
		switch {
		case strings.EqualFold(coding, "gzip"):
			return q > 0
		case coding == "*":
			star = q > 0
		}
	}
	return star
}

// html renders a page of a snapshot, for one request.
func (p *Pages) html(s *snapshot, page string, d *Data) ([]byte, error) {
	return s.r.templates.execute(page, d)
}

// lazyAsset returns a snapshot's response by key, made with fn the first
// time and kept, up to maxLazy; past it (a visitor varying the Host of
// the feed, say) each request makes its own, without the cost of
// compressing it.
func (s *snapshot) lazyAsset(key, ctype string, fn func() ([]byte, error)) (*asset, error) {
	return s.lazyMade(key, func(kept bool) (*asset, error) {
		body, err := fn()
		switch {
		case err != nil:
			return nil, err
		case kept:
			return newAsset(body, ctype), nil
		}
		return plainAsset(body, ctype), nil
	})
}

// lazyMade returns a snapshot's response by key, made the first time
// and kept while the snapshot keeps fewer than maxLazy (build is told
// whether it will be kept); requests that want it meanwhile wait for
// that one making.
func (s *snapshot) lazyMade(key string, build func(kept bool) (*asset, error)) (*asset, error) {
	s.mu.Lock()
	for {
		if a, ok := s.lazy[key]; ok {
			s.mu.Unlock()
			return a, nil
		}
		// Another request makes it: wait for it rather than make it
		// again (64 visitors of a new page would render it 64 times).
		wait, busy := s.making[key]
		if !busy {
			break
		}
		s.mu.Unlock()
		<-wait
		s.mu.Lock()
	}
	kept := len(s.lazy) < maxLazy
	done := make(chan struct{})
	s.making[key] = done
	s.mu.Unlock()
	a, err := build(kept)
	s.mu.Lock()
	delete(s.making, key)
	if err == nil && kept && len(s.lazy) < maxLazy {
		s.lazy[key] = a
	}
	s.mu.Unlock()
	close(done)
	return a, err
}

// htmlType is the content type of pages.
const htmlType = "text/html; charset=utf-8"
