package downtime

import (
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
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
	if opts.Transport == nil {
		// Keep connections to the app for the visitors' many at once:
		// http.DefaultTransport keeps two idle per host, so that under
		// load nearly every request dialled the app anew (32 clients with
		// wrk: 6.6 ms at p50 through the gate against 0.43 ms directly;
		// with these, BENCHMARKS.md).
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns, t.MaxIdleConnsPerHost = 1024, 1024
		opts.Transport = t
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(upstream)
			r.SetXForwarded()
			r.Out.Host = r.In.Host // the app sees the host visitors asked for
		},
		// FlushInterval 0: an answer of unknown length (server-sent
		// events, a stream) is flushed as the app writes it; one of known
		// length goes out in as few writes as it can (flushing every write
		// of every answer cost a system call per write: 0.29 ms at p50
		// through the gate against 0.08 directly, BENCHMARKS.md).
		Transport:  opts.Transport,
		BufferPool: buffers{},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				return // the visitor went away: nobody to answer
			}
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

// buffers lends the proxy its copy buffers: without a pool it allocates
// 32 KiB per request, and the garbage collector chasing them was most of
// the gate's p99 (2.2 ms through the gate at one connection, 0.8-1.0 ms
// with the pool; BENCHMARKS.md).
type buffers struct{}

var bufferPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (buffers) Get() []byte  { return *bufferPool.Get().(*[]byte) }
func (buffers) Put(b []byte) { bufferPool.Put(&b) }
