package probe

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/status"
)

// httpProber requests a URL with Go's net/http, configured by Prometheus's
// client options (see newHTTPClient). It keeps one client per check and no
// connection between runs.
type httpProber struct {
	rules responseRules
	// body is the request's body, sent afresh by every run.
	body string
	// request is the request every run sends, built once: a run sends a
	// shallow copy with its context (and a fresh body). net/http never
	// modifies a request it is given, and a check never overlaps itself.
	request *http.Request
	limit   int64
	client  *http.Client
	// tracers time the phases of runs: one is taken for a run and put
	// back after it, so that their hooks are built once for as many runs
	// as happen at once, not once per check.
	tracers *sync.Pool
}

// userAgent is what an http check says it is, unless its headers say
// otherwise.
const userAgent = "statusd"

// newHTTP checks status, body and JSON fields of a response. The value is
// the response time in seconds, body included.
func newHTTP(_ status.CheckID, c *config.Check, env Env) (Prober, error) {
	h := c.HTTP
	shared := env.shared()
	req, err := http.NewRequest(h.Method, h.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("invalid request: %w", err)
	}
	if len(h.Headers) == 0 {
		req.Header = shared.header
	} else {
		req.Header.Set("User-Agent", userAgent)
	}
	// One request per connection, said once here rather than by a copy
	// of the request in every run (see directTransport).
	req.Close = true
	for k, v := range h.Headers {
		if strings.EqualFold(k, "Host") {
			req.Host = string(v)
			continue
		}
		req.Header.Set(k, string(v))
	}
	client, err := newHTTPClient(h.HTTPClientConfig, req.URL, shared.dialer)
	if err != nil {
		return nil, err
	}
	return &httpProber{
		rules:   responseRules{expected: h.ExpectedStatus, contains: h.BodyContains, regex: h.BodyRegex, json: h.JSON},
		body:    h.Body,
		request: req,
		limit:   int64(h.BodySizeLimit),
		client:  client,
		tracers: shared.tracers,
	}, nil
}

// responseRules are what a response must meet: all a run reads of the
// check's config, which is not kept (the client options in it, most of
// its half a kilobyte, are spent on the request and the client).
type responseRules struct {
	expected []config.StatusRange
	contains string
	regex    *config.Regexp
	json     []config.JSONCondition
}

// wantBody tells whether the rules look at the body; otherwise it is
// read and dropped, so that the time covers the whole response.
func (rules *responseRules) wantBody() bool {
	return rules.contains != "" || rules.regex != nil || len(rules.json) > 0
}

// Probe implements Prober.
func (p *httpProber) Probe(ctx context.Context) status.Result {
	tr := p.tracers.Get().(*tracer)
	defer p.tracers.Put(tr)
	tr.reset()
	start := time.Now()
	code, proto, body, err := p.fetch(withTracer(ctx, tr), tr)
	took := time.Since(start)
	details := &HTTPDetails{Timings: tr.phases()}
	if code != 0 {
		details.StatusCode, details.HTTPVersion, details.Redirects = code, proto, tr.hops-1
	}
	if err != nil {
		msg := describeErr(ctx, err)
		if code != 0 {
			msg = fmt.Sprintf("HTTP %d, then reading the body: %s", code, msg)
		}
		r := fail("%s", msg)
		r.Details = details
		return r
	}
	r := status.Result{
		Level:   status.Fine,
		Success: true,
		Value:   status.Float(took.Seconds()),
		Details: details,
		Message: "HTTP " + strconv.Itoa(code) + " in " + Human(took),
	}
	if problem := p.rules.check(code, body); problem != "" {
		r.Level, r.Success = status.Problem, false
		r.Message += ": " + problem
	}
	return r
}

// HTTPDetails are an http check's details. Every run reports the same
// fields, so they are a struct rather than a map: one allocation a run
// instead of four, and about 300 bytes less held for each check's latest
// result.
type HTTPDetails struct {
	// HTTPVersion, Redirects and StatusCode are those of the final
	// response; none is reported when no response came.
	HTTPVersion string  `json:"http_version"`
	Redirects   int     `json:"redirects"`
	StatusCode  int     `json:"status_code"`
	Timings     Timings `json:"timings"`
}

// MarshalJSON writes the details as the API has always shown them: the
// response's fields only when there was a response.
func (d *HTTPDetails) MarshalJSON() ([]byte, error) {
	if d.StatusCode == 0 {
		return json.Marshal(struct {
			Timings Timings `json:"timings"`
		}{d.Timings})
	}
	type fields HTTPDetails // without this method
	return json.Marshal((*fields)(d))
}

// errBodyTooLarge is a body over the check's body_size_limit.
type errBodyTooLarge struct{ limit int64 }

func (e errBodyTooLarge) Error() string {
	return "body larger than " + byteSize(e.limit) + " (body_size_limit)"
}

// fetch makes the request and returns the final status code, protocol and
// the body when the check looks at it.
func (p *httpProber) fetch(ctx context.Context, tr *tracer) (int, string, []byte, error) {
	req := p.request.WithContext(ctx)
	if body := p.body; body != "" {
		req.ContentLength = int64(len(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }
		req.Body, _ = req.GetBody()
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	body, err := p.readBody(resp)
	tr.bodyRead()
	return resp.StatusCode, resp.Proto, body, err
}

// readBody reads the body, decompressed when the server compressed it,
// up to the check's limit; a larger body is an error. It keeps the body
// only when the check looks at it.
func (p *httpProber) readBody(resp *http.Response) ([]byte, error) {
	r := io.Reader(resp.Body)
	switch enc := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("gzip body: %w", err)
		}
		defer zr.Close()
		r = zr
	case "deflate":
		zr, err := zlib.NewReader(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("deflate body: %w", err)
		}
		defer zr.Close()
		r = zr
	default:
		return nil, fmt.Errorf("unsupported Content-Encoding %q", enc)
	}
	r = io.LimitReader(r, p.limit+1)
	var body []byte
	var n int64
	var err error
	if p.rules.wantBody() {
		body, err = io.ReadAll(r)
		n = int64(len(body))
	} else {
		n, err = io.Copy(io.Discard, r)
	}
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return nil, fmt.Errorf("body cut short: %w", err)
	case err != nil:
		return nil, err
	case n > p.limit:
		return nil, errBodyTooLarge{p.limit}
	}
	return body, nil
}

// tracer times the phases of every request a run makes (one per redirect),
// as blackbox_exporter does: dns, connect, tls, processing (request
// written to first response byte) and transfer (the rest of the response).
// Its hooks may be called from the transport's goroutines.
type tracer struct {
	hooks *httptrace.ClientTrace

	mu   sync.Mutex
	hops int // requests made
	// the phases summed over the requests
	t Timings
	// the current request's marks
	dnsStart, connectStart, tlsStart, wrote, firstByte time.Time
}

// Timings are the phases of an http check's run, in seconds.
type Timings struct {
	DNS        float64 `json:"dns"`
	Connect    float64 `json:"connect"`
	TLS        float64 `json:"tls"`
	Processing float64 `json:"processing"`
	Transfer   float64 `json:"transfer"`
}

func newTracer() *tracer {
	t := &tracer{}
	since := func(from time.Time) float64 { return time.Since(from).Seconds() }
	t.hooks = &httptrace.ClientTrace{
		GetConn: func(string) {
			t.mu.Lock()
			defer t.mu.Unlock()
			t.hops++
			// The previous response's body ended when the next request began.
			t.endTransfer()
		},
		DNSStart: func(httptrace.DNSStartInfo) { t.mark(&t.dnsStart) },
		DNSDone: func(httptrace.DNSDoneInfo) {
			t.mu.Lock()
			defer t.mu.Unlock()
			t.t.DNS += since(t.dnsStart)
		},
		ConnectStart: func(string, string) {
			t.mu.Lock()
			defer t.mu.Unlock()
			if t.connectStart.IsZero() { // the first of parallel attempts
				t.connectStart = time.Now()
			}
		},
		ConnectDone: func(_, _ string, err error) {
			t.mu.Lock()
			defer t.mu.Unlock()
			if err == nil && !t.connectStart.IsZero() {
				t.t.Connect += since(t.connectStart)
				t.connectStart = time.Time{}
			}
		},
		TLSHandshakeStart: func() { t.mark(&t.tlsStart) },
		TLSHandshakeDone: func(tls.ConnectionState, error) {
			t.mu.Lock()
			defer t.mu.Unlock()
			t.t.TLS += since(t.tlsStart)
		},
		WroteRequest: func(httptrace.WroteRequestInfo) { t.mark(&t.wrote) },
		GotFirstResponseByte: func() {
			t.mu.Lock()
			defer t.mu.Unlock()
			t.firstByte = time.Now()
			if !t.wrote.IsZero() {
				t.t.Processing += t.firstByte.Sub(t.wrote).Seconds()
			}
		},
	}
	return t
}

// mark sets a mark to now.
func (t *tracer) mark(m *time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	*m = time.Now()
}

// reset readies the tracer for a run.
func (t *tracer) reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.hops, t.t = 0, Timings{}
	t.dnsStart, t.connectStart, t.tlsStart, t.wrote, t.firstByte = time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}
}

// endTransfer adds the time since the first byte of a response to the
// transfer phase. t.mu is held.
func (t *tracer) endTransfer() {
	if !t.firstByte.IsZero() {
		t.t.Transfer += time.Since(t.firstByte).Seconds()
		t.firstByte = time.Time{}
	}
}

// bodyRead marks the end of the last response.
func (t *tracer) bodyRead() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.endTransfer()
}

// tracerKey is the context key of a run's tracer.
type tracerKey struct{}

// withTracer gives a run's requests its tracer. It travels under a key of
// its own rather than as httptrace hooks: the transport of a direct check
// calls it without httptrace's context values and the dialer's hooks (a
// tenth of a run's allocations at 1,000 runs per second); traceTransport
// hands it to net/http's Transport as httptrace hooks.
func withTracer(ctx context.Context, tr *tracer) context.Context {
	return context.WithValue(ctx, tracerKey{}, tr)
}

// runTrace returns the hooks a request reports to: its run's tracer, or
// those given with httptrace (then viaHTTPTrace: the dialer calls them).
func runTrace(ctx context.Context) (hooks *httptrace.ClientTrace, viaHTTPTrace bool) {
	if tr, ok := ctx.Value(tracerKey{}).(*tracer); ok {
		return tr.hooks, false
	}
	hooks = httptrace.ContextClientTrace(ctx)
	return hooks, hooks != nil
}

// traceTransport gives a run's tracer to net/http's Transport (a check
// through a proxy, or with HTTP/2) as httptrace hooks.
type traceTransport struct{ next http.RoundTripper }

func (t traceTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if tr, ok := req.Context().Value(tracerKey{}).(*tracer); ok {
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), tr.hooks))
	}
	return t.next.RoundTrip(req)
}

// phases returns the summed phases.
func (t *tracer) phases() Timings {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.t
}

// byteSize formats a byte count as 1 MiB, 512 KiB or 300 B.
func byteSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return strconv.FormatInt(n>>30, 10) + " GiB"
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " B"
}

// check returns what is wrong with a response, or "".
func (rules *responseRules) check(code int, body []byte) string {
	accepted := false
	for _, r := range rules.expected {
		if r.Contains(code) {
			accepted = true
			break
		}
	}
	if !accepted {
		want := make([]string, len(rules.expected))
		for i, r := range rules.expected {
			want[i] = r.String()
		}
		return "expected status " + strings.Join(want, ", ")
	}
	if rules.contains != "" && !bytes.Contains(body, []byte(rules.contains)) {
		return fmt.Sprintf("body does not contain %q", rules.contains)
	}
	if rules.regex != nil && !rules.regex.Match(body) {
		return fmt.Sprintf("body does not match /%s/", rules.regex)
	}
	if len(rules.json) == 0 {
		return ""
	}
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		return "body is not JSON: " + err.Error()
	}
	for _, cond := range rules.json {
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
