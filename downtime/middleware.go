package downtime

import (
	"bytes"
	"context"
	"crypto/subtle"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Options say who is let through during downtime and what the others
// get. The zero value exempts /admin and serves the built-in down page.
type Options struct {
	// ExemptExactURLs are paths served during downtime, exactly: the
	// query is ignored and their children are not exempt.
	ExemptExactURLs []string
	// ExemptPaths are path prefixes served during downtime, by path
	// segment (/admin is /admin and /admin/…, not /administrators). Nil
	// is DefaultExemptPaths; set, even empty, it replaces them.
	ExemptPaths []string
	// AllowNetworks are the client networks served during downtime (the
	// office, the deploy host).
	AllowNetworks []netip.Prefix
	// TrustedProxies are the proxies whose X-Forwarded-For is believed:
	// behind them the client is the last address in it that is not one
	// of them. Without them the client is the connection's address.
	TrustedProxies []netip.Prefix
	// Bypass lets a request through (statusd passes its admin's session).
	Bypass func(*http.Request) bool
	// BypassCookie and BypassHeader name a cookie and a header that let a
	// request through when they carry BypassSecret.
	BypassCookie, BypassHeader string
	BypassSecret               string
	// RedirectURL, when set, answers 302 to it instead of the down page.
	RedirectURL string
	// Template renders the down page (data: PageData); nil is the
	// built-in one.
	Template *template.Template
	// Texts are the built-in page's texts for a request, e.g. in the
	// visitor's language; nil is English.
	Texts func(*http.Request) PageTexts
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Context bounds the watcher Middleware starts for a Source that is
	// not a *Watcher (default: the program's life).
	Context context.Context
}

// DefaultExemptPaths are the prefixes served during downtime when
// Options.ExemptPaths is nil: statusd's admin, where downtime is ended.
var DefaultExemptPaths = []string{"/admin"}

// PageData is what the down page's template gets.
type PageData struct {
	Reason string
	// Until is when the site is up again, nil when unknown.
	Until *time.Time
	// RetryAfter is Until in seconds from now, 0 when unknown.
	RetryAfter int
	// Texts are the page's words.
	Texts PageTexts
}

// PageTexts are the built-in down page's words, in one language.
type PageTexts struct {
	// Lang is the language's code, for <html lang>.
	Lang                            string
	Title, BackBy, BackSoon, Thanks string
	// Time writes the time the site is back by; nil: UTC, in English.
	Time func(time.Time) string
}

// EnglishTexts are the built-in page's words when Options.Texts is nil.
var EnglishTexts = PageTexts{Lang: "en", Title: "Down for maintenance", BackBy: "We expect to be back by",
	BackSoon: "We will be back shortly.", Thanks: "Thank you for your patience."}

//go:embed down.html
var downHTML string

// DefaultTemplate is the built-in down page, in the style of statusd's
// status page.
var DefaultTemplate = template.Must(template.New("down").Funcs(template.FuncMap{
	"rfc3339": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	// when is the time the site is back by, in the page's words.
	"when": func(tx PageTexts, t time.Time) string {
		if tx.Time != nil {
			return tx.Time(t)
		}
		return t.UTC().Format("Mon 2 Jan 2006 15:04 MST")
	},
}).Parse(downHTML))

// gate is a middleware's compiled options.
type gate struct {
	watcher  *Watcher
	exact    map[string]bool
	prefixes []string
	allow    []netip.Prefix
	proxies  []netip.Prefix
	bypass   func(*http.Request) bool
	cookie   string
	header   string
	secret   []byte
	redirect string
	template *template.Template
	texts    func(*http.Request) PageTexts
	now      func() time.Time
}

// Middleware serves the down page for every request during downtime,
// but those Options exempt. The state comes from source: a *Watcher is
// used as it is; any other Source is watched (Watch) for the program's
// life, or Options.Context's.
func Middleware(source Source, opts Options) func(http.Handler) http.Handler {
	g := compile(source, opts)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			down, reason, until := g.watcher.Current().Down(g.now())
			if !down || g.exempt(r) {
				next.ServeHTTP(w, r)
				return
			}
			g.serveDown(w, r, reason, until)
		})
	}
}

func compile(source Source, opts Options) *gate {
	w, ok := source.(*Watcher)
	if !ok {
		ctx := opts.Context
		if ctx == nil {
			ctx = context.Background()
		}
		w = Watch(ctx, source, WatchOptions{})
	}
	g := &gate{watcher: w, exact: map[string]bool{}, allow: opts.AllowNetworks, proxies: opts.TrustedProxies,
		bypass: opts.Bypass, cookie: opts.BypassCookie, header: opts.BypassHeader, secret: []byte(opts.BypassSecret),
		redirect: opts.RedirectURL, template: opts.Template, texts: opts.Texts, now: opts.Now}
	for _, p := range opts.ExemptExactURLs {
		g.exact[p] = true
	}
	g.prefixes = opts.ExemptPaths
	if g.prefixes == nil {
		g.prefixes = DefaultExemptPaths
	}
	if g.template == nil {
		g.template = DefaultTemplate
	}
	if g.now == nil {
		g.now = time.Now
	}
	// A redirect to this site's own path must not be redirected again.
	if u, err := url.Parse(opts.RedirectURL); err == nil && opts.RedirectURL != "" && u.Host == "" {
		g.exact[u.Path] = true
	}
	return g
}

// exempt tells whether a request is served during downtime, by the rules
// in order: exact URLs, path prefixes, client networks, bypass.
func (g *gate) exempt(r *http.Request) bool {
	path := r.URL.Path
	if g.exact[path] {
		return true
	}
	for _, p := range g.prefixes {
		if underPrefix(path, p) {
			return true
		}
	}
	if len(g.allow) > 0 {
		if ip, ok := g.client(r); ok {
			for _, n := range g.allow {
				if n.Contains(ip) {
					return true
				}
			}
		}
	}
	if g.bypass != nil && g.bypass(r) {
		return true
	}
	if len(g.secret) > 0 {
		if g.cookie != "" {
			if c, err := r.Cookie(g.cookie); err == nil && subtle.ConstantTimeCompare([]byte(c.Value), g.secret) == 1 {
				return true
			}
		}
		if g.header != "" {
			if v := r.Header.Get(g.header); v != "" && subtle.ConstantTimeCompare([]byte(v), g.secret) == 1 {
				return true
			}
		}
	}
	return false
}

// underPrefix tells whether path is prefix or under it, by segment.
func underPrefix(path, prefix string) bool {
	prefix = strings.TrimSuffix(prefix, "/")
	if prefix == "" {
		return true // "/" exempts everything
	}
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// client is the address a request comes from: the connection's, or,
// when that is a trusted proxy, the last address of X-Forwarded-For that
// is not a trusted proxy.
func (g *gate) client(r *http.Request) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	ip = ip.Unmap()
	if !g.trusted(ip) {
		return ip, true
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return netip.Addr{}, false // a forged or broken chain lets nobody in
		}
		hop = hop.Unmap()
		if !g.trusted(hop) {
			return hop, true
		}
	}
	return ip, true
}

func (g *gate) trusted(ip netip.Addr) bool {
	for _, p := range g.proxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// serveDown answers a request during downtime: a redirect, JSON for a
// client that asks for it, or the down page; 503 with Retry-After when
// the end is known, never cached.
func (g *gate) serveDown(w http.ResponseWriter, r *http.Request, reason string, until *time.Time) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if g.redirect != "" {
		http.Redirect(w, r, g.redirect, http.StatusFound)
		return
	}
	data := PageData{Reason: reason, Until: until, Texts: EnglishTexts}
	if g.texts != nil {
		data.Texts = g.texts(r)
		h.Add("Vary", "Accept-Language")
	}
	if until != nil {
		data.RetryAfter = max(1, int(math.Ceil(until.Sub(g.now()).Seconds())))
		h.Set("Retry-After", strconv.Itoa(data.RetryAfter))
	}
	if wantsJSON(r) {
		body := struct {
			Error      string     `json:"error"`
			Reason     string     `json:"reason,omitempty"`
			Until      *time.Time `json:"until"`
			RetryAfter int        `json:"retry_after,omitempty"`
		}{"down for maintenance", reason, until, data.RetryAfter}
		b, _ := json.Marshal(body)
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		if r.Method != http.MethodHead {
			_, _ = w.Write(append(b, '\n'))
		}
		return
	}
	var b bytes.Buffer
	if err := g.template.Execute(&b, data); err != nil {
		b.Reset()
		fmt.Fprintf(&b, "<!doctype html><title>Down for maintenance</title><h1>Down for maintenance</h1><p>%s</p>", template.HTMLEscapeString(reason))
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	// The page is the template's alone (the reason is escaped): its inline
	// style may apply, nothing else may load or run.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data: https:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	w.WriteHeader(http.StatusServiceUnavailable)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b.Bytes())
	}
}

// wantsJSON tells whether a client prefers JSON to HTML.
func wantsJSON(r *http.Request) bool {
	best, bestQ := "", -1.0
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		if (mt == "application/json" || mt == "text/html" || strings.HasSuffix(mt, "+json")) && q > bestQ {
			best, bestQ = mt, q
		}
	}
	return best != "" && best != "text/html"
}
