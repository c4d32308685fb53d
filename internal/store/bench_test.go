package store

import (
	"context"
	"fmt"
	"path/filepath"
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
