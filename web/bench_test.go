package web

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/statusd/statusd/exporter"
	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/status"
)

// BenchmarkMetrics10k serves /metrics, gzipped as Prometheus asks, for
// 10,000 checks that all have results: 70,000 check series plus the Go and
// process collectors.
func BenchmarkMetrics10k(b *testing.B) {
	for _, gz := range []bool{true, false} {
		b.Run(fmt.Sprintf("gzip=%v", gz), func(b *testing.B) { bench10k(b, "/metrics", gz) })
	}
}

// BenchmarkChecksAPI10k serves /api/v1/checks for 10,000 checks with
// results as an http check's, details included.
func BenchmarkChecksAPI10k(b *testing.B) { bench10k(b, "/api/v1/checks", false) }

// bench10k serves a path for 10,000 checks with results.
func bench10k(b *testing.B, path string, gz bool) {
	var cfg strings.Builder
	cfg.WriteString("resources:\n  load:\n")
	for i := range 10000 {
		fmt.Fprintf(&cfg, "    - {name: c%05d, kind: http, url: \"http://127.0.0.1:1/c/%d\"}\n", i, i)
	}
	c, err := config.Parse([]byte(cfg.String()), "", config.OSEnv())
	if err != nil {
		b.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	e := exporter.New(exporter.Options{Logger: logger})
	if err := e.Apply(c); err != nil {
		b.Fatal(err)
	}
	latest := map[status.CheckID]status.Result{}
	for _, r := range e.Resources() {
		for _, ch := range r.Checks {
			latest[ch.ID] = status.Result{Level: status.Fine, Success: true, Value: status.Float(0.000312),
				Duration: 312 * time.Microsecond, CheckedAt: time.Now(), Message: "HTTP 200 in 312µs",
				Details: map[string]any{"status_code": 200, "http_version": "HTTP/1.1", "redirects": 0,
					"timings": map[string]float64{"dns": 0, "connect": 0.0001, "tls": 0, "processing": 0.0002, "transfer": 0.00001}}}
		}
	}
	e.Restore(latest)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	h, err := Handler(Options{Logger: logger, Checks: e, Gatherer: reg, CheckMetrics: e.WriteMetrics})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	b.ResetTimer()
	for range b.N {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if gz {
			req.Header.Set("Accept-Encoding", "gzip")
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		b.SetBytes(n)
	}
}
