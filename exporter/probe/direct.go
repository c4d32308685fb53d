package probe

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"
)

// directTransport is the innermost round tripper of an http check that
// goes through no proxy and speaks HTTP/1.1 (plain http, or https without
// enable_http2). It makes each request on a connection of its own, in the
// caller's goroutine: dial (net.Dialer), TLS (crypto/tls), then net/http's
// own wire format, Request.Write and ReadResponse; the connection closes
// with the body. Everything around it (credentials, headers, OAuth2,
// redirects) is Prometheus's round trippers and net/http's Client, as for
// any check.
//
// net/http's Transport does the same work with three goroutines per new
// connection (a dialer, a reader and a writer, each starting with a small
// stack that grows) and channels between them: machinery for reusing
// connections, which a health check must not do. Measured with
// bench/checkload at 1,000 runs per second against b880cb4, in one sitting
// (BENCHMARKS.md, "CPU given back"): the Transport cost 1.51× b880cb4's
// CPU per run and 1.57× its memory per check; this transport brings both
// back to b880cb4's level or below.
type directTransport struct {
	dialer *net.Dialer
	// origin is the check's URL host (with its port), originHost its
	// name or address and originAddr the address to dial, worked out
	// once: every run dials them (a redirect may lead elsewhere).
	origin, originHost, originAddr string
	// originIP tells that the origin is an IP address: no DNS phase.
	originIP bool
	// tlsConfig is the check's (nil: Go's defaults); a request gets a
	// copy with its host as the server name when the config names none.
	tlsConfig *tls.Config
	// maxHeader bounds the response header (maxResponseHeaderBytes).
	maxHeader int64
}

// Buffers of a run: it writes one request and reads one response header
// (the body is read through the buffer too, but in as large reads as the
// caller makes).
const (
	directReadBuffer  = 2 << 10
	directWriteBuffer = 1 << 10
)

var (
	readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, directReadBuffer) }}
	writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, directWriteBuffer) }}
)

// errHeaderTooLarge is a response header over maxHeader.
type errHeaderTooLarge struct{ limit int64 }

func (e errHeaderTooLarge) Error() string {
	return fmt.Sprintf("server response headers exceeded %d bytes; aborted", e.limit)
}

// RoundTrip implements http.RoundTripper.
func (t *directTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL == nil || (req.URL.Scheme != "http" && req.URL.Scheme != "https") || req.URL.Host == "" {
		closeBody(req)
		return nil, fmt.Errorf("unsupported URL %q", req.URL)
	}
	ctx := req.Context()
	trace, viaHTTPTrace := runTrace(ctx)
	host, addr, isIP := t.originHost, t.originAddr, t.originIP
	if req.URL.Host != t.origin || t.origin == "" {
		host, addr, isIP = dialAddr(req.URL)
	}
	if trace != nil && trace.GetConn != nil {
		trace.GetConn(addr)
	}
	conn, err := t.dial(ctx, addr, isIP, trace, viaHTTPTrace)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	// The context bounds the whole exchange, body included: its end (the
	// check's timeout, statusd stopping) closes the connection, which
	// ends any read or write in progress. (Deadlines on the connection
	// would add two runtime timers per run to the context's one.)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	fail := func(err error) (*http.Response, error) {
		stop()
		conn.Close()
		closeBody(req)
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, err
	}
	if req.URL.Scheme == "https" {
		cfg := &tls.Config{}
		if t.tlsConfig != nil {
			cfg = t.tlsConfig.Clone()
		}
		if cfg.ServerName == "" {
			cfg.ServerName = host
		}
		cfg.NextProtos = []string{"http/1.1"}
		tc := tls.Client(conn, cfg)
		if trace != nil && trace.TLSHandshakeStart != nil {
			trace.TLSHandshakeStart()
		}
		err := tc.HandshakeContext(ctx)
		if trace != nil && trace.TLSHandshakeDone != nil {
			trace.TLSHandshakeDone(tc.ConnectionState(), err)
		}
		if err != nil {
			return fail(err)
		}
		conn = tc
	}
	if trace != nil && trace.GotConn != nil {
		trace.GotConn(httptrace.GotConnInfo{Conn: conn})
	}

	// One request per connection: say so, as the Transport does without
	// keep-alives. (A shallow copy: the caller's request is not ours. A
	// check's own request says so already; a redirect's does not.)
	if !req.Close {
		r := *req
		r.Close = true
		req = &r
	}
	bw := writers.Get().(*bufio.Writer)
	bw.Reset(conn)
	err = req.Write(bw)
	if err == nil {
		err = bw.Flush()
	}
	bw.Reset(nil)
	writers.Put(bw)
	if trace != nil && trace.WroteRequest != nil {
		trace.WroteRequest(httptrace.WroteRequestInfo{Err: err})
	}
	if err != nil {
		return fail(err)
	}

	limit := &headerLimit{r: conn, left: t.maxHeader, max: t.maxHeader}
	br := readers.Get().(*bufio.Reader)
	br.Reset(limit)
	release := func() {
		br.Reset(nil)
		readers.Put(br)
	}
	if _, err := br.Peek(1); err != nil {
		release()
		return fail(limit.explain(err))
	}
	if trace != nil && trace.GotFirstResponseByte != nil {
		trace.GotFirstResponseByte()
	}
	var resp *http.Response
	for {
		resp, err = http.ReadResponse(br, req)
		if err != nil {
			release()
			return fail(limit.explain(err))
		}
		// Informational answers (100 Continue, 103 Early Hints) precede
		// the response.
		if resp.StatusCode < 100 || resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			break
		}
		if trace != nil && trace.Got1xxResponse != nil {
			if err := trace.Got1xxResponse(resp.StatusCode, nil); err != nil {
				release()
				return fail(err)
			}
		}
	}
	limit.left = -1 // the body is bounded by the check, not here
	resp.Body = &directBody{ReadCloser: resp.Body, conn: conn, stop: stop, release: release}
	return resp, nil
}

// dialAddr is the host of a URL, the address to dial for it and
// whether the host is an IP address.
func dialAddr(u *url.URL) (host, addr string, isIP bool) {
	host = u.Hostname()
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	_, err := netip.ParseAddr(host)
	return host, net.JoinHostPort(host, port), err == nil
}

// dial connects to addr within ctx and reports the dns and connect
// phases to trace. When trace came through httptrace, the dialer reports
// them itself; otherwise the transport times an IP address's connect,
// and hands a host name's dial to httptrace for its DNS phase (which
// only the resolver sees).
func (t *directTransport) dial(ctx context.Context, addr string, isIP bool, trace *httptrace.ClientTrace, viaHTTPTrace bool) (net.Conn, error) {
	dialCtx := context.Context(doneOnly{ctx})
	if trace == nil || viaHTTPTrace {
		return t.dialer.DialContext(dialCtx, "tcp", addr)
	}
	if !isIP {
		return t.dialer.DialContext(httptrace.WithClientTrace(dialCtx, trace), "tcp", addr)
	}
	if trace.ConnectStart != nil {
		trace.ConnectStart("tcp", addr)
	}
	conn, err := t.dialer.DialContext(dialCtx, "tcp", addr)
	if trace.ConnectDone != nil {
		trace.ConnectDone("tcp", addr, err)
	}
	return conn, err
}

// doneOnly is a context that ends when its parent does but tells no
// deadline. A dial with a deadline sets and clears a write deadline on
// the new socket (two operations on the runtime's timer heap, a tenth of
// a run's CPU in the profile at 1,000 runs per second); without one it
// is still cut short when the check's context ends, which is the same
// moment.
type doneOnly struct{ context.Context }

func (doneOnly) Deadline() (time.Time, bool) { return time.Time{}, false }

// closeBody closes a request's body, as a RoundTripper must even when it
// fails.
func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// headerLimit bounds what is read before the response body; left < 0
// lifts the bound.
type headerLimit struct {
	r         io.Reader
	left, max int64
	hit       bool
}

func (l *headerLimit) Read(p []byte) (int, error) {
	if l.left < 0 {
		return l.r.Read(p)
	}
	if l.left == 0 {
		l.hit = true
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// explain names a header over the bound for what it is.
func (l *headerLimit) explain(err error) error {
	if l.hit && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "EOF")) {
		return errHeaderTooLarge{limit: l.max}
	}
	return err
}

// directBody closes the connection with the response body.
type directBody struct {
	io.ReadCloser
	conn    net.Conn
	stop    func() bool
	release func()
	once    sync.Once
}

func (b *directBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(func() {
		b.stop()
		b.conn.Close()
		b.release()
	})
	return err
}
