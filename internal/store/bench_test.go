package store

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/testsvc"
)

// BenchmarkWrite measures one recorder flush of a second's worth of results
// for 2,000 checks at a 10 s interval: 200 results and their minute
// rollups. Reported per result.
func BenchmarkWrite(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			dsn := "sqlite:" + filepath.Join(b.TempDir(), "s.db")
			if backend == "postgres" {
				dsn = testsvc.Postgres(b)
			}
			s, err := Open(context.Background(), dsn, Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			if _, err := s.Migrate(context.Background()); err != nil {
				b.Fatal(err)
			}
			const perFlush = 200
			ids := make([]status.CheckID, 2000)
			for i := range ids {
				ids[i] = status.CheckID{Resource: "load", Check: fmt.Sprintf("c%05d", i)}
			}
			m, err := s.EnsureChecks(context.Background(), ids, time.Now())
			if err != nil {
				b.Fatal(err)
			}
			at := time.Now()
			b.ResetTimer()
			for n := 0; n < b.N; n += perFlush {
				batch := Batch{Results: make([]ResultRow, perFlush)}
				for i := range batch.Results {
					at = at.Add(5 * time.Millisecond)
					batch.Results[i] = ResultRow{CheckID: m[ids[(n+i)%len(ids)]], Result: status.Result{
						Level: status.Fine, Success: true, Value: status.Float(0.0003), Message: "HTTP 200 in 300µs",
						Details: map[string]any{"status_code": 200}, Duration: 300 * time.Microsecond, CheckedAt: at,
					}}
				}
				if err := s.Write(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRecorderObserve counts results of 10,000 checks into the
// recorder, a minute of runs at a time, and reports what it holds per
// check after six minutes: the rollups it keeps for up to RollupInterval.
func BenchmarkRecorderObserve(b *testing.B) {
	ids := make([]status.CheckID, 10000)
	for i := range ids {
		ids[i] = status.CheckID{Resource: "load", Check: fmt.Sprintf("c%05d", i)}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r := NewRecorder(nil, slog.New(slog.DiscardHandler), nil, RecorderOptions{ResultsInterval: time.Hour})
	t0 := time.Unix(1e9, 0)
	for m := range 6 {
		for _, id := range ids {
			r.Observe(id, status.Result{Level: status.Fine, Success: true, CheckedAt: t0.Add(time.Duration(m) * time.Minute)})
		}
	}
	r.results = nil // what waits to be written is not what this measures
	runtime.GC()
	runtime.ReadMemStats(&after)
	for i := 0; b.Loop(); i++ {
		r.Observe(ids[i%len(ids)], status.Result{Level: status.Fine, Success: true, CheckedAt: t0.Add(5 * time.Minute)})
	}
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(len(ids)), "held-B/check")
}
