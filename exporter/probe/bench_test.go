package probe

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkHTTPProbe is one http check run against a local server, a new
// connection each time. The server's work is in the same process here, so
// the time is an upper bound; bench/checkload measures statusd alone.
func BenchmarkHTTPProbe(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	defer srv.Close()
	c := checkFrom(b, `{name: c, kind: http, url: "`+srv.URL+`/health"}`)
	p, err := New(c.ID("test"), c, Env{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if r := p.Probe(ctx); !r.Success {
			b.Fatal(r.Message)
		}
		cancel()
	}
}
