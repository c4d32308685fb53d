package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	"github.com/statusd/statusd/bench/internal/proc"
)

// load is what one run of a comparison puts on statusd.
type load struct {
	checks                   int
	interval, warmup, window time.Duration
	scrapes                  int
}

// result is what one run measured.
type result struct {
	runsPerSec, late          float64
	cpuPerRun, cpuEachSecond  time.Duration
	rssEnd, rssPerCheck       float64 // MiB, KiB
	metrics, checks           time.Duration
	completed                 float64 // runs done / expected
	heapInuse, goroutines     float64
	metricsBytes, checksBytes int
}

// runOnce runs a binary under a load and measures it.
func runOnce(binary, target string, l load) result {
	dir, err := os.MkdirTemp("", "checkload")
	proc.Must(err)
	defer os.RemoveAll(dir)
	cfg := filepath.Join(dir, "statusd.yml")
	proc.Must(writeConfig(cfg, target, l.checks, l.interval, 0, ""))
	addr := proc.FreeAddr()
	cmd := exec.Command(binary, "--config.file", cfg, "--storage.dsn", "sqlite:"+filepath.Join(dir, "statusd.db"), "--web.listen-address", addr, "--log.level", "warn")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	proc.Must(cmd.Start())
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	pid := cmd.Process.Pid
	base := "http://" + addr
	proc.WaitUp(base + "/metrics")
	time.Sleep(l.warmup)

	s0 := sample(pid, base+"/metrics")
	c0 := cpuTime(pid)
	start := time.Now()
	time.Sleep(l.window)
	c1 := cpuTime(pid)
	elapsed := time.Since(start)
	s1 := sample(pid, base+"/metrics")

	r := result{
		runsPerSec:    (s1.runs - s0.runs) / elapsed.Seconds(),
		late:          (s1.delayCount - s1.delayLE1) - (s0.delayCount - s0.delayLE1),
		cpuEachSecond: time.Duration(float64(c1-c0) / elapsed.Seconds()),
		rssEnd:        proc.MiB(s1.rss),
		heapInuse:     s1.heapInuse / (1 << 20), goroutines: s1.goroutines,
	}
	r.rssPerCheck = float64(s1.rss) / 1024 / float64(l.checks)
	if runs := s1.runs - s0.runs; runs > 0 {
		r.cpuPerRun = time.Duration(float64(c1-c0) / runs)
	}
	r.completed = (s1.runs - s0.runs) / (float64(l.checks) * elapsed.Seconds() / l.interval.Seconds())
	r.metrics, r.metricsBytes = timed(base+"/metrics", l.scrapes)
	r.checks, r.checksBytes = timed(base+"/api/v1/checks", l.scrapes)
	return r
}

// timed fetches a URL n times and returns the median time and the size.
func timed(url string, n int) (time.Duration, int) {
	took := make([]time.Duration, 0, max(n, 1))
	size := 0
	for range max(n, 1) {
		t := time.Now()
		resp, err := http.Get(url)
		proc.Must(err)
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		proc.Must(err)
		took = append(took, time.Since(t))
		size = int(n)
	}
	slices.Sort(took)
	return took[len(took)/2], size
}

func (r result) String() string {
	return fmt.Sprintf("runs/s %7.1f (%.3f of expected, %.0f late >1s)  cpu/run %6.3fms  cpu/s %6.1fms  rss %6.1fMiB (%5.1fKiB/check, heap %.1fMiB, %.0f goroutines)  /metrics %s (%dB)  /api/v1/checks %s (%dB)",
		r.runsPerSec, r.completed, r.late, ms(r.cpuPerRun), ms(r.cpuEachSecond), r.rssEnd, r.rssPerCheck, r.heapInuse, r.goroutines,
		r.metrics.Round(100*time.Microsecond), r.metricsBytes, r.checks.Round(100*time.Microsecond), r.checksBytes)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// compare runs a and b in turn, rounds times each (A B, B A, …), and
// prints every run and the median ratios of a to b.
func compare(l load, a, b string, rounds int) {
	target := startTarget()
	fmt.Printf("A=%s B=%s checks=%d interval=%s warmup=%s window=%s rounds=%d cores=%d\n", a, b, l.checks, l.interval, l.warmup, l.window, rounds, proc.NumCPU())
	var as, bs []result
	for i := range rounds {
		order := []string{a, b}
		if i%2 == 1 {
			order = []string{b, a}
		}
		for _, bin := range order {
			r := runOnce(bin, target, l)
			name := "A"
			if bin == b {
				name = "B"
				bs = append(bs, r)
			} else {
				as = append(as, r)
			}
			fmt.Printf("round %d %s: %s\n", i+1, name, r)
		}
	}
	med := func(rs []result, f func(result) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	for _, m := range []struct {
		name string
		f    func(result) float64
	}{
		{"cpu per run (ms)", func(r result) float64 { return ms(r.cpuPerRun) }},
		{"cpu per second (ms)", func(r result) float64 { return ms(r.cpuEachSecond) }},
		{"runs per second", func(r result) float64 { return r.runsPerSec }},
		{"rss per check (KiB)", func(r result) float64 { return r.rssPerCheck }},
		{"/metrics (ms)", func(r result) float64 { return ms(r.metrics) }},
		{"/api/v1/checks (ms)", func(r result) float64 { return ms(r.checks) }},
	} {
		ma, mb := med(as, m.f), med(bs, m.f)
		fmt.Printf("median %-22s A %9.3f  B %9.3f  A/B %.2f\n", m.name, ma, mb, ma/mb)
	}
}
