package probe

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/statusd/statusd/internal/testsvc"
)

// BenchmarkHTTPProbe is one http check run against a local server, a new
// connection each time. The server's work is in the same process here, so
// the time is an upper bound; bench/checkload measures statusd alone.
func BenchmarkHTTPProbe(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	defer srv.Close()
	benchmarkProbe(b, `{name: c, kind: http, url: "`+srv.URL+`/health"}`)
}

// The backing-service kinds against the machine's servers: a new
// connection per run, so the time includes the server's login.

func BenchmarkPostgresProbe(b *testing.B) {
	benchmarkProbe(b, `{name: c, kind: postgres, dsn: "`+testsvc.Postgres(b)+`"}`)
}

func BenchmarkPostgresStatsProbe(b *testing.B) {
	benchmarkProbe(b, `{name: c, kind: postgres, stats: true, dsn: "`+testsvc.Postgres(b)+`"}`)
}

func BenchmarkMySQLProbe(b *testing.B) {
	benchmarkProbe(b, `{name: c, kind: mysql, dsn: "`+testsvc.MySQL(b)+`"}`)
}

func BenchmarkRedisProbe(b *testing.B) {
	benchmarkProbe(b, `{name: c, kind: redis, dsn: "`+testsvc.Redis(b)+`"}`)
}

func BenchmarkMemcachedProbe(b *testing.B) {
	benchmarkProbe(b, `{name: c, kind: memcached, address: "`+testsvc.Memcached(b).Addr+`"}`)
}

func benchmarkProbe(b *testing.B, yaml string) {
	c := checkFrom(b, yaml)
	p, err := New(c.ID("test"), c, Env{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	before := cpuTime(b)
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if r := p.Probe(ctx); !r.Success {
			b.Fatal(r.Message)
		}
		cancel()
	}
	// Wall time includes the server's work (PostgreSQL forks a backend per
	// connection); this process's own CPU time per run is statusd's cost.
	b.ReportMetric(float64(cpuTime(b)-before)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
