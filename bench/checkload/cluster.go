package main

import (
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "github.com/lib/pq" // PostgreSQL, to read its statistics

	"github.com/statusd/statusd/bench/internal/proc"
)

// clusterLoad runs -members statusd processes sharing -checks checks on
// one PostgreSQL, in a schema of their own, and reports over the window
// the runs of all of them, their CPU per run and RSS, and what PostgreSQL
// did: transactions, rows written to the shared tables, and the CPU of
// its processes.
func clusterLoad(binary, dsn string, members int, l load) {
	db, err := sql.Open("postgres", dsn)
	proc.Must(err)
	defer db.Close()
	schema := fmt.Sprintf("checkload_%d", os.Getpid())
	_, err = db.Exec("CREATE SCHEMA " + schema)
	proc.Must(err)
	defer func() { _, _ = db.Exec("DROP SCHEMA " + schema + " CASCADE") }()
	u, err := url.Parse(dsn)
	proc.Must(err)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()

	target := startTarget()
	dir, err := os.MkdirTemp("", "checkload")
	proc.Must(err)
	defer os.RemoveAll(dir)
	cfg := filepath.Join(dir, "statusd.yml")
	proc.Must(writeConfig(cfg, target, l.checks, l.interval, 0, ""))
	var pids []int
	var urls []string
	for i := range members {
		addr := proc.FreeAddr()
		cmd := exec.Command(binary, "--config.file", cfg, "--storage.dsn", u.String(), "--web.listen-address", addr,
			"--cluster.member-id", "m"+strconv.Itoa(i+1), "--log.level", "warn")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		proc.Must(cmd.Start())
		defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
		pids = append(pids, cmd.Process.Pid)
		urls = append(urls, "http://"+addr+"/metrics")
		proc.WaitUp(urls[i])
	}
	fmt.Printf("members=%d checks=%d interval=%s warmup=%s window=%s cores=%d\n", members, l.checks, l.interval, l.warmup, l.window, proc.NumCPU())
	time.Sleep(l.warmup)

	runs := func() (total float64, each []float64) {
		for i, pid := range pids {
			s := sample(pid, urls[i])
			total += s.runs
			each = append(each, s.runs)
		}
		return total, each
	}
	cpu := func() (c time.Duration) {
		for _, pid := range pids {
			c += cpuTime(pid)
		}
		return c
	}
	r0, _ := runs()
	c0, pg0, st0 := cpu(), postgresCPU(), pgStats(db, schema)
	start := time.Now()
	time.Sleep(l.window)
	c1, pg1, st1 := cpu(), postgresCPU(), pgStats(db, schema)
	var pg time.Duration // of the processes alive over the window
	for pid, c := range pg1 {
		if b, ok := pg0[pid]; ok {
			pg += c - b
		}
	}
	elapsed := time.Since(start)
	r1, each := runs()
	var rss int64
	for _, pid := range pids {
		rss += proc.RSS(pid)
	}
	done := r1 - r0
	expected := float64(l.checks) * elapsed.Seconds() / l.interval.Seconds()
	fmt.Printf("runs=%.0f expected=%.0f ratio=%.4f runs_total_by_member=%v\n", done, expected, done/expected, each)
	fmt.Printf("statusd: cpu=%.2fs cpu_per_run=%.3fms cpu_share=%.1f%% rss=%.1fMiB rss_per_check=%.1fKiB\n",
		(c1 - c0).Seconds(), (c1-c0).Seconds()*1000/done, 100*(c1-c0).Seconds()/elapsed.Seconds(), proc.MiB(rss), float64(rss)/1024/float64(l.checks))
	per := func(a, b int64) float64 { return float64(b-a) / elapsed.Seconds() }
	fmt.Printf("postgres: cpu=%.2fs cpu_share=%.1f%% xact_per_s=%.1f check_latest_rows_written_per_s=%.1f cluster_rows_written_per_s=%.1f results_rows_per_s=%.1f\n",
		pg.Seconds(), 100*pg.Seconds()/elapsed.Seconds(), per(st0.xacts, st1.xacts),
		per(st0.latest, st1.latest), per(st0.cluster, st1.cluster), per(st0.results, st1.results))
}

// pgCounters are cumulative counters of PostgreSQL.
type pgCounters struct{ xacts, latest, cluster, results int64 }

func pgStats(db *sql.DB, schema string) pgCounters {
	var c pgCounters
	proc.Must(db.QueryRow("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()").Scan(&c.xacts))
	rows, err := db.Query(`SELECT relname, n_tup_ins + n_tup_upd FROM pg_stat_user_tables WHERE schemaname = $1`, schema)
	proc.Must(err)
	defer rows.Close()
	for rows.Next() {
		var name string
		var n int64
		proc.Must(rows.Scan(&name, &n))
		switch name {
		case "check_latest":
			c.latest += n
		case "cluster_members", "cluster_leases":
			c.cluster += n
		case "check_results":
			c.results += n
		}
	}
	return c
}

// postgresCPU is the CPU of every process named postgres on the
// machine, by pid.
func postgresCPU() map[int]time.Duration {
	c := map[int]time.Duration{}
	entries, err := os.ReadDir("/proc")
	proc.Must(err)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err != nil || !strings.HasPrefix(strings.TrimSpace(string(comm)), "postgres") {
			continue
		}
		if u, s, err := readCPU(pid); err == nil {
			c[pid] = u + s
		}
	}
	return c
}
