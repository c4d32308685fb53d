package probe

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/statusd/statusd/internal/status"
)

func TestHTTP(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "all good") })
	mux.HandleFunc("/down", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "nope", http.StatusServiceUnavailable) })
	mux.HandleFunc("/json", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"status":"ok","db":{"up":true,"lag":3},"items":[{"name":"a"},{"name":"b"}]}`)
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ok", http.StatusFound) })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		fmt.Fprintf(w, "%s %s %s %s %s", r.Method, r.Header.Get("X-Team"), r.Header.Get("Authorization"), user+":"+pass, readAll(r))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	u := srv.URL

	cases := []probeCase{
		{"ok", `{name: c, kind: http, url: "` + u + `/ok"}`, status.Fine, true, "HTTP 200 in "},
		{"unexpected status", `{name: c, kind: http, url: "` + u + `/down"}`, status.Problem, false, "HTTP 503 in"},
		{"expected status", `{name: c, kind: http, url: "` + u + `/down", expected_status: [503]}`, status.Fine, true, "HTTP 503"},
		{"body contains", `{name: c, kind: http, url: "` + u + `/ok", body_contains: good}`, status.Fine, true, ""},
		{"body lacks", `{name: c, kind: http, url: "` + u + `/ok", body_contains: bad}`, status.Problem, false, `body does not contain "bad"`},
		{"body regex", `{name: c, kind: http, url: "` + u + `/ok", body_regex: "^all \\w+$"}`, status.Fine, true, ""},
		{"body regex fails", `{name: c, kind: http, url: "` + u + `/ok", body_regex: "^good"}`, status.Problem, false, "body does not match /^good/"},
		{"json fields", `{name: c, kind: http, url: "` + u + `/json", json: [{path: status, equals: ok}, {path: db.up, equals: true}, {path: db.lag, equals: 3}, {path: $.items.1.name, equals: b}]}`, status.Fine, true, ""},
		{"json mismatch", `{name: c, kind: http, url: "` + u + `/json", json: [{path: db.lag, equals: 0}]}`, status.Problem, false, "JSON field db.lag is 3, expected 0"},
		{"json missing", `{name: c, kind: http, url: "` + u + `/json", json: [{path: items.5.name, equals: x}]}`, status.Problem, false, "JSON field items.5.name is missing"},
		{"json not json", `{name: c, kind: http, url: "` + u + `/ok", json: [{path: a, equals: 1}]}`, status.Problem, false, "body is not JSON"},
		{"follows redirects", `{name: c, kind: http, url: "` + u + `/redirect"}`, status.Fine, true, "HTTP 200"},
		{"redirect not followed", `{name: c, kind: http, url: "` + u + `/redirect", follow_redirects: false}`, status.Problem, false, "HTTP 302"},
		{"redirect expected", `{name: c, kind: http, url: "` + u + `/redirect", follow_redirects: false, expected_status: [3xx]}`, status.Fine, true, "HTTP 302"},
		{"timeout", `{name: c, kind: http, url: "` + u + `/slow", timeout: 300ms}`, status.Problem, false, "timed out after 300ms"},
		{"refused", `{name: c, kind: http, url: "http://` + closedAddr(t) + `/"}`, status.Problem, false, "connection refused"},
		{"request options", `{name: c, kind: http, url: "` + u + `/echo", method: POST, headers: {X-Team: ops}, bearer_token: t0k, body: hello, body_contains: "POST ops Bearer t0k : hello"}`, status.Fine, true, ""},
		{"basic auth", `{name: c, kind: http, url: "` + u + `/echo", basic_auth: {username: u, password: p}, body_contains: "u:p"}`, status.Fine, true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := c.run(t)
			if c.success && (r.Value == nil || *r.Value <= 0) {
				t.Errorf("value = %v, want the response time", r.Value)
			}
		})
	}
}

func readAll(r *http.Request) string {
	b, _ := io.ReadAll(r.Body)
	return string(b)
}

func TestHTTPDetailsAndThresholdValue(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer srv.Close()
	r := run(t, `{name: c, kind: http, url: "`+srv.URL+`"}`, Env{})
	if d := httpDetails(t, r); d.StatusCode != http.StatusNoContent || d.HTTPVersion != "HTTP/1.1" || d.Redirects != 0 {
		t.Errorf("details = %+v", d)
	}
	// The API and the store show them as they showed the map they were:
	// the response's fields only when a response came.
	if keys := detailKeys(t, r); keys != "http_version redirects status_code timings" {
		t.Errorf("details in JSON = %s", keys)
	}
	srv.Close()
	r = run(t, `{name: c, kind: http, url: "`+srv.URL+`"}`, Env{})
	if keys := detailKeys(t, r); keys != "timings" {
		t.Errorf("details in JSON without a response = %s", keys)
	}
}

// httpDetails are the details of an http check's result.
func httpDetails(t *testing.T, r status.Result) *HTTPDetails {
	t.Helper()
	d, ok := r.Details.(*HTTPDetails)
	if !ok {
		t.Fatalf("details = %#v, want *HTTPDetails", r.Details)
	}
	return d
}

// detailKeys are the keys of a result's details in its JSON, sorted.
func detailKeys(t *testing.T, r status.Result) string {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Details map[string]json.RawMessage }
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	return strings.Join(slices.Sorted(maps.Keys(got.Details)), " ")
}

func TestHTTPNewConnectionPerRun(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c := checkFrom(t, `{name: c, kind: http, url: "`+srv.URL+`"}`)
	p, err := New(c.ID("test"), c, Env{})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		wantLevel(t, p.Probe(t.Context()), status.Fine, true)
	}
	if n := conns.Load(); n != 3 {
		t.Errorf("3 runs opened %d connections, want 3", n)
	}
}

func TestHTTPNeverShowsCredentials(t *testing.T) {
	r := run(t, `{name: c, kind: http, url: "http://admin:s3cret@`+closedAddr(t)+`/?token=t0psecret"}`, Env{})
	wantLevel(t, r, status.Problem, false)
	if strings.Contains(r.Message, "s3cret") || strings.Contains(r.Message, "t0psecret") {
		t.Errorf("message leaks credentials: %s", r.Message)
	}
}

func TestHTTPS(t *testing.T) {
	ca := newCA(t)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.leaf(t, time.Now().Add(30*24*time.Hour))}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted run's handshake fails on purpose
	srv.StartTLS()
	defer srv.Close()

	r := run(t, `{name: c, kind: http, url: "`+srv.URL+`"}`, Env{})
	wantLevel(t, r, status.Problem, false)
	if !strings.Contains(r.Message, "certificate") {
		t.Errorf("untrusted certificate message: %s", r.Message)
	}
	wantLevel(t, run(t, `{name: c, kind: http, url: "`+srv.URL+`", tls_config: {ca_file: "`+ca.file+`"}}`, Env{}), status.Fine, true)
	wantLevel(t, run(t, `{name: c, kind: http, url: "`+srv.URL+`", tls_config: {insecure_skip_verify: true}}`, Env{}), status.Fine, true)
}

func TestHTTPRedirectsAndChunks(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	mux.HandleFunc("/form", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/method", http.StatusSeeOther)
	})
	mux.HandleFunc("/method", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "method=%s", r.Method) })
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		for i := range 3 {
			fmt.Fprintf(w, "part%d ", i)
			w.(http.Flusher).Flush()
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	r := run(t, `{name: c, kind: http, url: "`+srv.URL+`/loop"}`, Env{})
	if r.Success || r.Message != "stopped after 10 redirects" {
		t.Errorf("redirect loop: %+v", r)
	}
	wantLevel(t, run(t, `{name: c, kind: http, url: "`+srv.URL+`/form", method: POST, body: x, body_contains: method=GET}`, Env{}), status.Fine, true)
	wantLevel(t, run(t, `{name: c, kind: http, url: "`+srv.URL+`/chunked", body_contains: part2}`, Env{}), status.Fine, true)
}

func TestHTTPThroughProxy(t *testing.T) {
	var proxied atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A forward proxy receives the absolute URL.
		if r.URL.Host == "origin.example" {
			proxied.Add(1)
			if r.URL.Path == "/moved" {
				http.Redirect(w, r, "/health", http.StatusFound)
				return
			}
			fmt.Fprint(w, "via proxy")
		}
	}))
	defer proxy.Close()
	wantLevel(t, run(t, `{name: c, kind: http, url: "http://origin.example/health", body_contains: via proxy, proxy_url: "`+proxy.URL+`"}`, Env{}), status.Fine, true)
	if proxied.Load() != 1 {
		t.Error("the request did not go through the proxy")
	}
	// Proxied requests follow redirects by the same rules as direct ones.
	wantLevel(t, run(t, `{name: c, kind: http, url: "http://origin.example/moved", body_contains: via proxy, proxy_url: "`+proxy.URL+`"}`, Env{}), status.Fine, true)
	r := run(t, `{name: c, kind: http, url: "http://origin.example/moved", follow_redirects: false, proxy_url: "`+proxy.URL+`"}`, Env{})
	if r.Success || !strings.HasPrefix(r.Message, "HTTP 302") {
		t.Errorf("redirect not followed through a proxy: %q", r.Message)
	}
}

// credentialServer records the credentials each request brings.
type credentialServer struct {
	url  string
	mu   sync.Mutex
	seen []string
}

func (c *credentialServer) got() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.seen...)
}

func (c *credentialServer) record(r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen = append(c.seen, r.Header.Get("Authorization")+"|"+r.Header.Get("Cookie"))
}

// newCredentialServer serves on addr (host:0), recording credentials and
// answering 200, or a redirect to redirect() when it returns a URL.
func newCredentialServer(t *testing.T, addr string, tlsCert *tls.Certificate, redirect func() string) *credentialServer {
	t.Helper()
	cs := &credentialServer{}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs.record(r)
		if to := redirect(); to != "" {
			http.Redirect(w, r, to, http.StatusFound)
		}
	})}}
	if tlsCert != nil {
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{*tlsCert}}
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	cs.url = srv.URL
	return cs
}

// No credential follows a redirect to another host or from https to http;
// on the same host and scheme it does.
func TestHTTPRedirectKeepsCredentialsHome(t *testing.T) {
	ca := newCA(t)
	cert := ca.leaf(t, time.Now().Add(30*24*time.Hour))
	creds := map[string]string{
		"bearer_token":  `bearer_token: t0psecret`,
		"authorization": `authorization: {credentials: t0psecret}`,
		"basic_auth":    `basic_auth: {username: u, password: t0psecret}`,
		"header":        `headers: {Authorization: "Bearer t0psecret", Cookie: "session=t0psecret"}`,
	}
	for name, opt := range creds {
		t.Run(name, func(t *testing.T) {
			other := newCredentialServer(t, "127.0.0.2:0", nil, func() string { return "" })
			plain := newCredentialServer(t, "127.0.0.1:0", nil, func() string { return "" })
			var home *credentialServer
			var target atomic.Value
			home = newCredentialServer(t, "127.0.0.1:0", &cert, func() string {
				if len(home.got()) == 1 {
					return target.Load().(string)
				}
				return ""
			})
			check := func(to string) string {
				target.Store(to)
				home.mu.Lock()
				home.seen = nil
				home.mu.Unlock()
				return `{name: c, kind: http, url: "` + home.url + `/", tls_config: {ca_file: "` + ca.file + `"}, ` + opt + `}`
			}

			// Another host.
			wantLevel(t, run(t, check(other.url+"/"), Env{}), status.Fine, true)
			// From https to http on the same host.
			wantLevel(t, run(t, check(plain.url+"/"), Env{}), status.Fine, true)
			for _, s := range []*credentialServer{other, plain} {
				if got := s.got(); len(got) != 1 || strings.Contains(got[0], "t0psecret") || strings.Contains(got[0], "dTp0MHBzZWNyZXQ") {
					t.Errorf("%s received %q", s.url, got)
				}
			}
			if got := home.got(); len(got) != 1 || !strings.Contains(got[0], "t0psecret") && !strings.Contains(got[0], "dTp0MHBzZWNyZXQ") {
				t.Errorf("the target itself received %q, want the credentials", got)
			}
			// The same host and scheme keep them.
			wantLevel(t, run(t, check(home.url+"/again"), Env{}), status.Fine, true)
			if got := home.got(); len(got) != 2 || got[0] != got[1] {
				t.Errorf("a same-host redirect carried %q", got)
			}
		})
	}
}

// rawServer answers every connection with response, written as is after
// the request has been read.
func rawServer(t *testing.T, response func(w *bufio.Writer)) string {
	t.Helper()
	return serve(t, listen(t), func(c net.Conn) {
		defer c.Close()
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		w := bufio.NewWriter(c)
		response(w)
		_ = w.Flush()
	})
}

func TestHTTPWire(t *testing.T) {
	bigHeader := rawServer(t, func(w *bufio.Writer) {
		w.WriteString("HTTP/1.1 200 OK\r\nX-Big: ")
		w.WriteString(strings.Repeat("a", 1<<20))
		w.WriteString("\r\nContent-Length: 2\r\n\r\nok")
	})
	continues := rawServer(t, func(w *bufio.Writer) {
		w.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
		w.WriteString("HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n")
		w.WriteString("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\ndown")
	})
	mux := http.NewServeMux()
	mux.HandleFunc("/hints", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		fmt.Fprint(w, "final answer")
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Write(bytes.Repeat([]byte("x"), 2<<20))
	})
	mux.HandleFunc("/gzip", func(w http.ResponseWriter, r *http.Request) {
		// Compressed although the request did not ask for it.
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		fmt.Fprint(zw, `{"status": "healthy"}`)
		zw.Close()
	})
	mux.HandleFunc("/brotli", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "br")
		fmt.Fprint(w, "\x0b\x02\x80ok\x03")
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	u := srv.URL

	cases := []probeCase{
		{"huge response header", `{name: c, kind: http, url: "http://` + bigHeader + `/"}`, status.Problem, false, "server response headers exceeded 65536 bytes"},
		{"1xx then the final answer", `{name: c, kind: http, url: "http://` + continues + `/"}`, status.Problem, false, "HTTP 503"},
		{"103 early hints", `{name: c, kind: http, url: "` + u + `/hints", body_contains: final answer}`, status.Fine, true, "HTTP 200"},
		{"body over the limit", `{name: c, kind: http, url: "` + u + `/big"}`, status.Problem, false, "HTTP 200, then reading the body: body larger than 1 MiB (body_size_limit)"},
		{"body over the limit, looked at", `{name: c, kind: http, url: "` + u + `/big", body_contains: x}`, status.Problem, false, "body larger than 1 MiB"},
		{"body within a raised limit", `{name: c, kind: http, url: "` + u + `/big", body_size_limit: 4MiB, body_contains: xxx}`, status.Fine, true, "HTTP 200"},
		{"unasked gzip", `{name: c, kind: http, url: "` + u + `/gzip", body_contains: healthy, json: [{path: status, equals: healthy}]}`, status.Fine, true, "HTTP 200"},
		{"unknown encoding", `{name: c, kind: http, url: "` + u + `/brotli", body_contains: ok}`, status.Problem, false, `unsupported Content-Encoding "br"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t) })
	}
}

func TestHTTPTimings(t *testing.T) {
	ca := newCA(t)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			http.Redirect(w, r, "/next", http.StatusFound)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.leaf(t, time.Now().Add(30*24*time.Hour))}}
	srv.StartTLS()
	defer srv.Close()
	url := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	r := run(t, `{name: c, kind: http, url: "`+url+`/", tls_config: {ca_file: "`+ca.file+`"}}`, Env{})
	wantLevel(t, r, status.Fine, true)
	// As the API and the store show them.
	b, err := json.Marshal(httpDetails(t, r).Timings)
	if err != nil {
		t.Fatal(err)
	}
	var timings map[string]float64
	if err := json.Unmarshal(b, &timings); err != nil {
		t.Fatal(err)
	}
	for _, phase := range []string{"dns", "connect", "tls", "processing", "transfer"} {
		if v, ok := timings[phase]; !ok || v <= 0 {
			t.Errorf("timing %s = %v, want a positive number of seconds", phase, timings[phase])
		}
	}
	if d := httpDetails(t, r); d.Redirects != 1 || d.HTTPVersion != "HTTP/1.1" || d.StatusCode != 200 {
		t.Errorf("details = %+v", d)
	}

	// An IP address: the transport times the connect itself, and there
	// is no DNS phase.
	r = run(t, `{name: c, kind: http, url: "`+srv.URL+`/next", tls_config: {ca_file: "`+ca.file+`", server_name: localhost}}`, Env{})
	wantLevel(t, r, status.Fine, true)
	ip := httpDetails(t, r).Timings
	if ip.DNS != 0 || ip.Connect <= 0 || ip.TLS <= 0 || ip.Processing <= 0 {
		t.Errorf("timings of an IP address = %+v, want no dns and positive connect, tls and processing", ip)
	}
}

func TestHTTP2(t *testing.T) {
	ca := newCA(t)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, r.Proto) }))
	// Only HTTP/2: a client that cannot speak it is turned away.
	srv.EnableHTTP2 = true
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP2(true)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.leaf(t, time.Now().Add(30*24*time.Hour))}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the HTTP/1.1 client is refused on purpose
	srv.StartTLS()
	defer srv.Close()

	r := run(t, `{name: c, kind: http, url: "`+srv.URL+`", body_contains: HTTP/2.0, tls_config: {ca_file: "`+ca.file+`"}}`, Env{})
	wantLevel(t, r, status.Fine, true)
	if d := httpDetails(t, r); d.HTTPVersion != "HTTP/2.0" {
		t.Errorf("details = %+v", d)
	}
	r = run(t, `{name: c, kind: http, url: "`+srv.URL+`", enable_http2: false, tls_config: {ca_file: "`+ca.file+`"}}`, Env{})
	wantLevel(t, r, status.Problem, false)
}

func TestHTTPClientCertificateAndServerName(t *testing.T) {
	ca := newCA(t)
	serverCert, _, _ := ca.issue(t, x509.ExtKeyUsageServerAuth, time.Now().Add(30*24*time.Hour), "status.internal.example")
	_, clientCert, clientKey := ca.issue(t, x509.ExtKeyUsageClientAuth, time.Now().Add(30*24*time.Hour), "statusd")
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello ", r.TLS.PeerCertificates[0].Subject.CommonName)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.pool()}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point
	srv.StartTLS()
	defer srv.Close()

	tlsOpts := `ca_file: "` + ca.file + `", cert_file: "` + clientCert + `", key_file: "` + clientKey + `"`
	wantLevel(t, run(t, `{name: c, kind: http, url: "`+srv.URL+`", body_contains: hello statusd, tls_config: {`+tlsOpts+`, server_name: status.internal.example}}`, Env{}), status.Fine, true)
	r := run(t, `{name: c, kind: http, url: "`+srv.URL+`", tls_config: {`+tlsOpts+`}}`, Env{})
	wantLevel(t, r, status.Problem, false)
	if !strings.Contains(r.Message, "cannot validate certificate for 127.0.0.1") {
		t.Errorf("without server_name: %q", r.Message)
	}
	r = run(t, `{name: c, kind: http, url: "`+srv.URL+`", tls_config: {ca_file: "`+ca.file+`", server_name: status.internal.example}}`, Env{})
	wantLevel(t, r, status.Problem, false)
	if !strings.Contains(r.Message, "certificate") {
		t.Errorf("without a client certificate: %q", r.Message)
	}
}

// TestHTTPSharedHeader runs checks that share the default request header
// (no headers of their own) with credentials, a body and a redirect to
// another host: each sends only what is its own, and the shared header
// is never written to.
func TestHTTPSharedHeader(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]string{} // path → User-Agent and Authorization
	record := func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.Path] = r.Header.Get("User-Agent") + "|" + r.Header.Get("Authorization")
		mu.Unlock()
	}
	other := httptest.NewServer(http.HandlerFunc(record))
	defer other.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("/", record)
	mux.HandleFunc("/away", func(w http.ResponseWriter, r *http.Request) {
		record(w, r)
		http.Redirect(w, r, strings.Replace(other.URL, "127.0.0.1", "localhost", 1)+"/landed", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	env := Env{}.WithPools()
	for _, check := range []string{
		`{name: c, kind: http, url: "` + srv.URL + `/basic", basic_auth: {username: u, password: p}}`,
		`{name: c, kind: http, url: "` + srv.URL + `/bearer", bearer_token: t0k, method: POST, body: hello}`,
		`{name: c, kind: http, url: "` + srv.URL + `/away", bearer_token: t0k}`,
		`{name: c, kind: http, url: "` + srv.URL + `/plain"}`,
	} {
		if r := run(t, check, env); !r.Success {
			t.Fatalf("%s: %s", check, r.Message)
		}
	}
	want := map[string]string{
		"/basic":  "statusd|Basic dTpw",
		"/bearer": "statusd|Bearer t0k",
		"/away":   "statusd|Bearer t0k",
		"/landed": "statusd|", // another host: no credentials
		"/plain":  "statusd|",
	}
	mu.Lock()
	defer mu.Unlock()
	for path, w := range want {
		if seen[path] != w {
			t.Errorf("%s got User-Agent|Authorization %q, want %q", path, seen[path], w)
		}
	}
	if h := env.shared().header; len(h) != 1 || h.Get("User-Agent") != userAgent {
		t.Errorf("the shared header was written to: %v", h)
	}
}
