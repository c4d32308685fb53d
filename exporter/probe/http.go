package probe

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/status"
)

const (
	// maxBody is how much of a response body an http check reads.
	maxBody = 1 << 20
	// maxRedirects is how many redirects an http check follows.
	maxRedirects = 10
)

// bufioReaders are shared by all http checks: a check reads one response
// per connection, so the buffer is all there is to reuse.
var bufioReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}

// httpProber requests a URL with a new connection per run, as a health
// check should. It speaks HTTP/1.1 itself, dialling, writing the request
// and reading the response in the check's own goroutine: net/http's
// Transport would add three goroutines and their hand-offs to every run,
// which costs more than the exchange. When a proxy is configured for the
// URL ($HTTP_PROXY and friends) it uses net/http, which knows proxies.
type httpProber struct {
	cfg      *config.HTTPCheck
	url      *url.URL
	roots    *x509.CertPool // from ca_file; nil for the system's
	dialer   net.Dialer
	viaProxy *http.Client
	wantBody bool
	// wire is the request to the configured URL as sent, serialised once:
	// it is the same every run; addr is where it goes.
	wire []byte
	addr string
}

// newHTTP checks status, body and JSON fields of a response. The value is
// the response time in seconds, body included.
func newHTTP(_ status.CheckID, c *config.Check, _ Env) (Prober, error) {
	return newHTTPProber(c.HTTP, http.ProxyFromEnvironment)
}

// newHTTPProber builds an http prober; proxy tells which proxy a request
// goes through (nil for none).
func newHTTPProber(h *config.HTTPCheck, proxy func(*http.Request) (*url.URL, error)) (*httpProber, error) {
	u, err := url.Parse(h.URL)
	if err != nil {
		return nil, fmt.Errorf("invalid url: %w", err)
	}
	p := &httpProber{
		cfg:      h,
		url:      u,
		dialer:   net.Dialer{KeepAlive: -1},
		wantBody: h.BodyContains != "" || h.BodyRegex != nil || len(h.JSON) > 0,
	}
	if h.CAFile != "" {
		pem, err := os.ReadFile(h.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read ca_file: %w", err)
		}
		p.roots = x509.NewCertPool()
		if !p.roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s holds no PEM certificates", h.CAFile)
		}
	}
	req, err := p.request(context.Background(), h.Method, u, h.Body)
	if err != nil {
		return nil, err
	}
	var wire bytes.Buffer
	if err := req.Write(&wire); err != nil {
		return nil, fmt.Errorf("invalid request: %w", err)
	}
	p.wire = wire.Bytes()
	p.addr = dialAddr(u)
	if via, _ := proxy(&http.Request{URL: u}); via != nil {
		p.viaProxy = &http.Client{Transport: &http.Transport{
			Proxy:              proxy,
			TLSClientConfig:    p.tlsConfig(u.Hostname()),
			DisableKeepAlives:  true,
			DisableCompression: true,
		}}
		if !*h.FollowRedirects {
			p.viaProxy.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		}
	}
	return p, nil
}

// Probe implements Prober.
func (p *httpProber) Probe(ctx context.Context) status.Result {
	start := time.Now()
	code, body, err := p.fetch(ctx)
	took := time.Since(start)
	if err != nil {
		if code != 0 {
			return fail("HTTP %d, then reading the body: %s", code, describeErr(ctx, start, err))
		}
		return fail("%s", describeErr(ctx, start, err))
	}
	r := status.Result{
		Level:   status.Fine,
		Success: true,
		Value:   status.Float(took.Seconds()),
		Details: map[string]any{"status_code": code},
		Message: fmt.Sprintf("HTTP %d in %s", code, Human(took)),
	}
	if problem := checkResponse(p.cfg, code, body); problem != "" {
		r.Level, r.Success = status.Problem, false
		r.Message += ": " + problem
	}
	return r
}

// fetch makes the request, following redirects when asked, and returns the
// final status code and the body when the check looks at it.
func (p *httpProber) fetch(ctx context.Context) (int, []byte, error) {
	method, target, body := p.cfg.Method, p.url, p.cfg.Body
	if p.viaProxy != nil {
		req, err := p.request(ctx, method, target, body)
		if err != nil {
			return 0, nil, err
		}
		resp, err := p.viaProxy.Do(req) // follows redirects itself
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		data, err := p.readBody(resp)
		return resp.StatusCode, data, err
	}
	// Reading a response needs only the request's method.
	req, wire := &http.Request{Method: method}, p.wire
	for redirects := 0; ; redirects++ {
		if redirects > 0 {
			var err error
			if req, err = p.request(ctx, method, target, body); err != nil {
				return 0, nil, err
			}
			var buf bytes.Buffer
			if err := req.Write(&buf); err != nil {
				return 0, nil, err
			}
			wire = buf.Bytes()
		}
		code, location, data, err := p.exchange(ctx, target, req, wire)
		if err != nil || location == "" || !*p.cfg.FollowRedirects {
			return code, data, err
		}
		if redirects == maxRedirects {
			return 0, nil, fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		next, err := target.Parse(location)
		if err != nil {
			return 0, nil, fmt.Errorf("HTTP %d to an invalid location: %w", code, err)
		}
		target = next
		if code == http.StatusSeeOther || ((code == http.StatusMovedPermanently || code == http.StatusFound) && method == http.MethodPost) {
			method, body = http.MethodGet, ""
		}
	}
}

func (p *httpProber) request(ctx context.Context, method string, u *url.URL, body string) (*http.Request, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("invalid request: %w", err)
	}
	req.Close = true
	req.Header.Set("User-Agent", "statusd")
	for k, v := range p.cfg.Headers {
		if strings.EqualFold(k, "Host") {
			req.Host = string(v)
			continue
		}
		req.Header.Set(k, string(v))
	}
	if a := p.cfg.BasicAuth; a != nil {
		req.SetBasicAuth(a.Username, string(a.Password))
	}
	if p.cfg.BearerToken != "" {
		req.Header.Set("Authorization", "Bearer "+string(p.cfg.BearerToken))
	}
	return req, nil
}

// exchange sends one request to u, serialised as wire, on a new connection
// and reads the response. It returns the Location of a redirect.
func (p *httpProber) exchange(ctx context.Context, u *url.URL, req *http.Request, wire []byte) (code int, location string, body []byte, err error) {
	addr := p.addr
	if u != p.url {
		addr = dialAddr(u)
	}
	conn, err := p.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return 0, "", nil, err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if u.Scheme == "https" {
		tc := tls.Client(conn, p.tlsConfig(u.Hostname()))
		if err := tc.HandshakeContext(ctx); err != nil {
			return 0, "", nil, err
		}
		conn = tc
	}
	if _, err := conn.Write(wire); err != nil {
		return 0, "", nil, err
	}
	br := bufioReaders.Get().(*bufio.Reader)
	br.Reset(conn)
	defer func() {
		br.Reset(nil)
		bufioReaders.Put(br)
	}()
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	body, err = p.readBody(resp)
	if err != nil {
		return resp.StatusCode, "", nil, err
	}
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		location = resp.Header.Get("Location")
	}
	return resp.StatusCode, location, body, nil
}

// dialAddr is the host:port a URL's requests go to.
func dialAddr(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// tlsConfig is the TLS configuration for a connection to host. It is built
// per connection, which costs little next to a handshake and keeps
// thousands of idle checks small.
func (p *httpProber) tlsConfig(host string) *tls.Config {
	return &tls.Config{
		ServerName:         host,
		RootCAs:            p.roots,
		InsecureSkipVerify: p.cfg.InsecureSkipVerify, //nolint:gosec // the operator asked for it
		NextProtos:         []string{"http/1.1"},
	}
}

// readBody reads the body (up to maxBody), keeping it only when the check
// looks at it: a health check's time includes the whole response.
func (p *httpProber) readBody(resp *http.Response) ([]byte, error) {
	if p.wantBody {
		return io.ReadAll(io.LimitReader(resp.Body, maxBody))
	}
	_, err := io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = fmt.Errorf("body cut short: %w", err)
	}
	return nil, err
}

// checkResponse returns what is wrong with a response, or "".
func checkResponse(h *config.HTTPCheck, code int, body []byte) string {
	accepted := false
	for _, r := range h.ExpectedStatus {
		if r.Contains(code) {
			accepted = true
			break
		}
	}
	if !accepted {
		want := make([]string, len(h.ExpectedStatus))
		for i, r := range h.ExpectedStatus {
			want[i] = r.String()
		}
		return "expected status " + strings.Join(want, ", ")
	}
	if h.BodyContains != "" && !bytes.Contains(body, []byte(h.BodyContains)) {
		return fmt.Sprintf("body does not contain %q", h.BodyContains)
	}
	if h.BodyRegex != nil && !h.BodyRegex.Match(body) {
		return fmt.Sprintf("body does not match /%s/", h.BodyRegex)
	}
	if len(h.JSON) == 0 {
		return ""
	}
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		return "body is not JSON: " + err.Error()
	}
	for _, cond := range h.JSON {
		got, found := jsonPath(doc, cond.Path)
		if !found {
			return fmt.Sprintf("JSON field %s is missing", cond.Path)
		}
		if !jsonEqual(got, cond.Equals) {
			return fmt.Sprintf("JSON field %s is %s, expected %s", cond.Path, jsonText(got), jsonText(cond.Equals))
		}
	}
	return ""
}

// jsonPath follows a dot-separated path ("data.items.0.status", optionally
// starting with "$.") through decoded JSON.
func jsonPath(doc any, path string) (any, bool) {
	path = strings.TrimPrefix(strings.TrimPrefix(path, "$"), ".")
	if path == "" {
		return doc, true
	}
	cur := doc
	for _, key := range strings.Split(path, ".") {
		switch v := cur.(type) {
		case map[string]any:
			next, ok := v[key]
			if !ok {
				return nil, false
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(v) {
				return nil, false
			}
			cur = v[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// jsonEqual compares a decoded JSON value with a value from YAML, numbers
// by value.
func jsonEqual(got, want any) bool {
	if g, ok := toFloat(got); ok {
		w, ok := toFloat(want)
		return ok && g == w
	}
	return jsonText(got) == jsonText(want)
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint64:
		return float64(n), true
	}
	return 0, false
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
