package probe

import (
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
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
	if r.Details["status_code"] != http.StatusNoContent {
		t.Errorf("details = %v", r.Details)
	}
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
	wantLevel(t, run(t, `{name: c, kind: http, url: "`+srv.URL+`", ca_file: "`+ca.file+`"}`, Env{}), status.Fine, true)
	wantLevel(t, run(t, `{name: c, kind: http, url: "`+srv.URL+`", insecure_skip_verify: true}`, Env{}), status.Fine, true)
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
			fmt.Fprint(w, "via proxy")
		}
	}))
	defer proxy.Close()
	proxyURL, _ := url.Parse(proxy.URL)
	c := checkFrom(t, `{name: c, kind: http, url: "http://origin.example/health", body_contains: via proxy}`)
	p, err := newHTTPProber(c.HTTP, http.ProxyURL(proxyURL))
	if err != nil {
		t.Fatal(err)
	}
	wantLevel(t, p.Probe(t.Context()), status.Fine, true)
	if proxied.Load() != 1 {
		t.Error("the request did not go through the proxy")
	}
}
