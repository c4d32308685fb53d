package downtime

import (
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
)

// GateOptions configure a gate.
type GateOptions struct {
	Options
	// UpstreamDown serves the down page (503) when the upstream cannot be
	// reached or fails to answer, instead of a bare 502.
	UpstreamDown bool
	// Transport reaches the upstream (default http.DefaultTransport).
	Transport http.RoundTripper
	// Logger says when the upstream fails (default: nowhere).
	Logger *slog.Logger
}

// NewGate is a reverse proxy to upstream that serves the down page during
// downtime (Middleware's rules), so that any web application gets
// downtime mode with no change to its code. It streams bodies as they
// come (server-sent events included), passes WebSocket upgrades through,
// and sets X-Forwarded-For, -Host and -Proto.
func NewGate(upstream *url.URL, source Source, opts GateOptions) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	g := compile(source, opts.Options)
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(upstream)
			r.SetXForwarded()
			r.Out.Host = r.In.Host // the app sees the host visitors asked for
		},
		// Flush at once: a streamed answer (server-sent events, a long
		// download) reaches the visitor as the app writes it.
		FlushInterval: -1,
		Transport:     opts.Transport,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			opts.Logger.Warn("The upstream did not answer", "upstream", upstream.Redacted(), "path", r.URL.Path, "err", err)
			if opts.UpstreamDown {
				g.serveDown(w, r, "", nil)
				return
			}
			http.Error(w, "the application behind this gate did not answer", http.StatusBadGateway)
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		down, reason, until := g.watcher.Current().Down(g.now())
		if down && !g.exempt(r) {
			g.serveDown(w, r, reason, until)
			return
		}
		proxy.ServeHTTP(w, r)
	})
}
