package probe

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"sync"
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

// BenchmarkHTTPProbeBurst runs http checks as statusd's scheduler does on
// a busy tick: 50 at once, against a target in another process, and
// reports this process's CPU per run, which is the check's cost alone.
func BenchmarkHTTPProbeBurst(b *testing.B) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(testsvc.FreePort(b)))
	target := exec.Command(os.Args[0])
	target.Env = append(os.Environ(), targetEnv+"="+addr)
	target.Stderr = os.Stderr
	if err := target.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = target.Process.Kill(); _ = target.Wait() }()
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("the target did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	const burst = 50
	probers := make([]Prober, burst)
	for i := range probers {
		c := checkFrom(b, fmt.Sprintf(`{name: c%d, kind: http, url: "http://%s/c/%d"}`, i, addr, i))
		p, err := New(c.ID("test"), c, Env{})
		if err != nil {
			b.Fatal(err)
		}
		probers[i] = p
	}
	b.ReportAllocs()
	before := cpuTime(b)
	runs := 0
	for b.Loop() {
		var wg sync.WaitGroup
		for _, p := range probers {
			wg.Go(func() {
				ctx, cancel := WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if r := p.Probe(ctx); !r.Success {
					b.Error(r.Message)
				}
			})
		}
		wg.Wait()
		runs += burst
	}
	b.ReportMetric(float64(cpuTime(b)-before)/float64(runs), "cpu-ns/run")
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
