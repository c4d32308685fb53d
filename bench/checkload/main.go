// Command checkload measures statusd under many http checks: it serves a
// local HTTP target, writes a config of N checks against it, runs the
// statusd binary, and reports from statusd's own accounting over a steady
// window: runs done versus expected, runs late by more than a second (from
// statusd_scheduler_delay_seconds), CPU per run (/proc/PID/stat utime+stime
// over runs counted by statusd_check_runs_total), peak RSS, and how long
// /metrics takes to answer.
//
// With -outbox N it measures two windows of the same run: one, then N
// pending notifications written into the outbox for a webhook receiver
// (as the evaluator would, while statusd runs), then the second. The
// receiver is down (-hook down: every attempt is refused, so the rows
// stay) or up (-hook up: the dispatcher drains them during the second
// window, and the time the drain took is reported).
//
// With -against B it compares two binaries in one sitting: it runs the
// same load on -statusd and on B in turn, -rounds times (A B, then B A,
// so that a drift of the machine weighs on both), and prints each run and
// the ratios of A to B: CPU per run, RSS per check, /metrics and
// /api/v1/checks times. Figures from different sittings are not
// comparable on a shared machine; ratios from one sitting are.
//
//	go build -o bin/statusd ./cmd/statusd
//	go run ./bench/checkload -statusd bin/statusd -checks 2000 -interval 10s -window 60s
//	go run ./bench/checkload -statusd bin/statusd -checks 2000 -outbox 100000 -hook down
//	go run ./bench/checkload -statusd bin/statusd -against /tmp/statusd-old -checks 1000 -interval 1s -rounds 3
//	go run ./bench/checkload -statusd bin/statusd -members 3 -checks 9000 -interval 30s -storage.dsn postgres://…
//
// With -members N it runs N statusd sharing the checks on one PostgreSQL
// and reports for them together, and for PostgreSQL.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/statusd/statusd/bench/internal/proc"
	"github.com/statusd/statusd/internal/message"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
)

func main() {
	var (
		binary   = flag.String("statusd", "bin/statusd", "statusd binary to run")
		checks   = flag.Int("checks", 2000, "number of http checks")
		interval = flag.Duration("interval", 10*time.Second, "check interval")
		warmup   = flag.Duration("warmup", 0, "time before measuring (default: two intervals)")
		window   = flag.Duration("window", 60*time.Second, "steady measuring window")
		scrapes  = flag.Int("scrapes", 10, "timed /metrics requests after the window")
		dsn      = flag.String("storage.dsn", "", "statusd database (default: SQLite in a temp dir)")
		services = flag.Int("services", 0, "group the checks into this many services and notify a receiver about each check (0: no services, no notify rules)")
		outbox   = flag.Int("outbox", 0, "pending notifications to write into the outbox between two measuring windows")
		hook     = flag.String("hook", "down", "the outbox's webhook receiver: down (refuses every attempt) or up (answers 204)")
		against  = flag.String("against", "", "a second statusd binary to compare with -statusd, run in turn with the same load")
		rounds   = flag.Int("rounds", 3, "with -against: how many times each binary runs")
		members  = flag.Int("members", 0, "run this many statusd sharing the checks on the PostgreSQL of -storage.dsn (in a schema of their own) and report for all of them and PostgreSQL")
	)
	flag.Parse()
	if *warmup == 0 {
		*warmup = min(2**interval, time.Minute)
	}
	if *members > 0 {
		if !strings.HasPrefix(*dsn, "postgres") {
			log.Fatal("-members needs -storage.dsn=postgres://…")
		}
		clusterLoad(*binary, *dsn, *members, load{checks: *checks, interval: *interval, warmup: *warmup, window: *window})
		return
	}
	if *against != "" {
		l := load{checks: *checks, interval: *interval, warmup: *warmup, window: *window, scrapes: *scrapes}
		compare(l, *binary, *against, *rounds)
		return
	}

	target := startTarget()
	dir, err := os.MkdirTemp("", "checkload")
	proc.Must(err)
	defer os.RemoveAll(dir)
	cfg := filepath.Join(dir, "statusd.yml")
	hookURL := "" // no receiver unless notifications are measured
	if *services > 0 || *outbox > 0 {
		hookURL = "http://127.0.0.1:1/hook"
	}
	hooked := &hookStats{}
	if *hook == "up" {
		hookURL = startHook(hooked)
	}
	proc.Must(writeConfig(cfg, target, *checks, *interval, *services, hookURL))
	if *dsn == "" {
		*dsn = "sqlite:" + filepath.Join(dir, "statusd.db")
	}
	addr := proc.FreeAddr()
	cmd := exec.Command(*binary, "--config.file", cfg, "--storage.dsn", *dsn, "--web.listen-address", addr, "--log.level", "warn")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	proc.Must(cmd.Start())
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	pid := cmd.Process.Pid
	metricsURL := "http://" + addr + "/metrics"
	proc.WaitUp(metricsURL)

	fmt.Printf("checks=%d interval=%s services=%d outbox=%d hook=%s warmup=%s window=%s cores=%d\n", *checks, *interval, *services, *outbox, *hook, *warmup, *window, proc.NumCPU())
	time.Sleep(*warmup)
	m := meter{pid: pid, url: metricsURL, checks: *checks, interval: *interval}
	if *outbox > 0 {
		fmt.Println("-- before: an empty outbox")
		m.measure(*window)
		t := time.Now()
		proc.Must(fillOutbox(*dsn, *outbox))
		filled := time.Now()
		fmt.Printf("-- %d pending notifications written in %s\n", *outbox, filled.Sub(t).Round(time.Millisecond))
		if *hook == "down" {
			// The rows stay: measure the steady state, after statusd's
			// next writes have checkpointed them into the database file
			// (SQLite), a one-off cost of writing them. (With the hook up
			// the window takes the drain in.)
			time.Sleep(*interval)
		}
		fmt.Println("-- after:")
		s := m.measure(*window)
		fmt.Printf("outbox: pending=%.0f oldest_age=%.0fs notifications_sent=%.0f posts_received=%d failed=%.0f\n",
			s.pending, s.oldest, s.sent, hooked.posts.Load(), s.failed)
		if *hook == "up" && s.sent >= float64(*outbox) {
			fmt.Printf("outbox: drained in %s after it was written\n", time.Unix(0, hooked.last.Load()).Sub(filled).Round(time.Millisecond))
		}
	} else {
		m.measure(*window)
	}

	var took []time.Duration
	var size int
	c0 := cpuTime(pid)
	for range *scrapes {
		t := time.Now()
		n := get(metricsURL)
		took = append(took, time.Since(t))
		size = n
	}
	scrapeCPU := (cpuTime(pid) - c0) / time.Duration(*scrapes)
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	fmt.Printf("metrics_bytes=%d metrics_p50=%s metrics_max=%s metrics_cpu=%s\n", size, took[len(took)/2].Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond), scrapeCPU.Round(time.Millisecond))
}

// meter measures statusd over windows.
type meter struct {
	pid      int
	url      string
	checks   int
	interval time.Duration
}

// measure prints a window's runs, scheduling, CPU and RSS, and returns
// the sample at its end.
func (m meter) measure(window time.Duration) snapshot {
	peak := newPeakRSS(m.pid)
	// The CPU window excludes the two scrapes that count the runs; a
	// scrape's own cost is measured apart.
	s0 := sample(m.pid, m.url)
	u0, k0 := cpuSplit(m.pid)
	start := time.Now()
	time.Sleep(window)
	u1, k1 := cpuSplit(m.pid)
	elapsed := time.Since(start)
	s1 := sample(m.pid, m.url)
	peak.stop()

	runs := s1.runs - s0.runs
	expected := float64(m.checks) * elapsed.Seconds() / m.interval.Seconds()
	cpu := (u1 + k1) - (u0 + k0)
	late := (s1.delayCount - s1.delayLE1) - (s0.delayCount - s0.delayLE1)
	fmt.Printf("runs=%.0f expected=%.0f ratio=%.4f late_over_1s=%.0f failures=%.0f\n", runs, expected, runs/expected, late, s1.failures-s0.failures)
	fmt.Printf("cpu=%.2fs cpu_per_run=%.3fms (user %.3fms, system %.3fms) cpu_share=%.1f%%\n", cpu.Seconds(), cpu.Seconds()*1000/runs,
		(u1-u0).Seconds()*1000/runs, (k1-k0).Seconds()*1000/runs, 100*cpu.Seconds()/elapsed.Seconds())
	fmt.Printf("rss_end=%.1fMiB rss_peak=%.1fMiB rss_per_check=%.1fKiB (go: heap_inuse=%.1fMiB stack_inuse=%.1fMiB sys=%.1fMiB goroutines=%.0f)\n",
		proc.MiB(s1.rss), proc.MiB(peak.max()), float64(s1.rss)/1024/float64(m.checks), s1.heapInuse/(1<<20), s1.stackInuse/(1<<20), s1.goSys/(1<<20), s1.goroutines)
	return s1
}

// startTarget serves 200 OK on a loopback port, in this process so that
// its CPU is not counted as statusd's.
func startTarget() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	proc.Must(err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return "http://" + l.Addr().String()
}

// hookStats are what the webhook receiver got: how many posts, the last
// when (Unix nanoseconds).
type hookStats struct{ posts, last atomic.Int64 }

// startHook serves the webhook receiver, counting what it receives.
func startHook(h *hookStats) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	proc.Must(err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		h.posts.Add(1)
		h.last.Store(time.Now().UnixNano())
		w.WriteHeader(http.StatusNoContent)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return "http://" + l.Addr().String() + "/hook"
}

// fillOutbox migrates the database and writes n pending notifications for
// the receiver ops, as the evaluator would.
func fillOutbox(dsn string, n int) error {
	ctx := context.Background()
	st, err := store.Open(ctx, dsn, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}
	now := time.Now()
	for start := 0; start < n; start += 10000 {
		err := st.Update(ctx, func(tx *store.Tx) error {
			for i := start; i < min(start+10000, n); i++ {
				id := fmt.Sprintf("load/c%05d", i)
				m := message.Message{Version: message.Version, Kind: message.Instant, Receiver: "ops", Time: now,
					Checks: []message.Check{{ID: id, Level: status.Problem, Since: now, Message: "HTTP 503"}}}
				b, err := json.Marshal(m)
				if err != nil {
					return err
				}
				row := store.OutboxRow{Receiver: "ops", Kind: string(message.Instant), DedupKey: fmt.Sprintf("fill/%d", i), Topic: "check:" + id, Payload: string(b)}
				if _, err := tx.Enqueue(row, now); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func writeConfig(path, target string, n int, interval time.Duration, services int, hookURL string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "defaults: {interval: %s, timeout: %s}\nscheduler: {max_concurrency: 512}\nresources:\n  load:\n", interval, min(5*time.Second, interval/2))
	notify := ""
	if services > 0 {
		notify = ", notify: {receivers: [ops], mode: instant}"
	}
	for i := range n {
		fmt.Fprintf(&b, "    - {name: c%05d, kind: http, url: \"%s/c/%d\"%s}\n", i, target, i, notify)
	}
	if hookURL != "" {
		fmt.Fprintf(&b, "receivers:\n  ops: {webhook: {url: %q}}\n", hookURL)
	}
	if services > 0 {
		b.WriteString("services:\n")
		for s := range services {
			fmt.Fprintf(&b, "  - {name: s%03d, auto_incident: true, notify: {receivers: [ops]}, checks: [", s)
			for i := s; i < n; i += services {
				if i > s {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "load/c%05d", i)
			}
			b.WriteString("]}\n")
		}
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

func get(url string) int {
	resp, err := http.Get(url)
	proc.Must(err)
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	proc.Must(err)
	return int(n)
}

type snapshot struct {
	rss                  int64
	runs, failures       float64
	delayCount, delayLE1 float64
	// The notifier's figures.
	pending, oldest, sent, failed float64
	// Go runtime figures, for explaining RSS.
	goroutines, heapInuse, stackInuse, goSys float64
}

func sample(pid int, url string) snapshot {
	s := snapshot{rss: proc.RSS(pid)}
	resp, err := http.Get(url)
	proc.Must(err)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		name, value, ok := cutMetric(line)
		if !ok {
			continue
		}
		switch {
		case strings.HasPrefix(name, "statusd_check_runs_total{"):
			s.runs += value
		case strings.HasPrefix(name, "statusd_check_failures_total{"):
			s.failures += value
		case name == "statusd_scheduler_delay_seconds_count":
			s.delayCount = value
		case name == `statusd_scheduler_delay_seconds_bucket{le="1"}` || name == `statusd_scheduler_delay_seconds_bucket{le="1.0"}`:
			s.delayLE1 = value
		case name == "statusd_notifications_pending":
			s.pending = value
		case name == "statusd_notifications_oldest_pending_age_seconds":
			s.oldest = value
		case strings.HasPrefix(name, "statusd_notifications_sent_total{"):
			s.sent += value
		case strings.HasPrefix(name, "statusd_notifications_failed_total{"):
			s.failed += value
		case name == "go_goroutines":
			s.goroutines = value
		case name == "go_memstats_heap_inuse_bytes":
			s.heapInuse = value
		case name == "go_memstats_stack_inuse_bytes":
			s.stackInuse = value
		case name == "go_memstats_sys_bytes":
			s.goSys = value
		}
	}
	return s
}

func cutMetric(line string) (string, float64, bool) {
	if line == "" || line[0] == '#' {
		return "", 0, false
	}
	i := strings.LastIndexByte(line, ' ')
	if i < 0 {
		return "", 0, false
	}
	v, err := strconv.ParseFloat(line[i+1:], 64)
	return line[:i], v, err == nil
}

// cpuTime is the process's user+system CPU from /proc/PID/stat.
func cpuTime(pid int) time.Duration {
	u, s := cpuSplit(pid)
	return u + s
}

// cpuSplit is the process's user and system CPU from /proc/PID/stat.
func cpuSplit(pid int) (user, system time.Duration) {
	user, system, err := readCPU(pid)
	proc.Must(err)
	return user, system
}

// readCPU reads a process's user and system CPU from /proc/PID/stat; an
// error when the process is gone.
func readCPU(pid int) (user, system time.Duration, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// Fields after the command name, which is in parentheses.
	fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	const ticks = 100 // sysconf(_SC_CLK_TCK) on Linux
	return time.Duration(utime) * time.Second / ticks, time.Duration(stime) * time.Second / ticks, nil
}

type peakRSS struct {
	done chan struct{}
	peak chan int64
}

func newPeakRSS(pid int) *peakRSS {
	p := &peakRSS{done: make(chan struct{}), peak: make(chan int64, 1)}
	go func() {
		var m int64
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			m = max(m, proc.RSS(pid))
			select {
			case <-p.done:
				p.peak <- m
				return
			case <-t.C:
			}
		}
	}()
	return p
}

func (p *peakRSS) stop()      { close(p.done) }
func (p *peakRSS) max() int64 { return <-p.peak }
