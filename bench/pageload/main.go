// Command pageload measures the status page under load: a statusd with 50
// services in 10 groups and 500 incidents (90 days of status history),
// loaded with wrk at 64 connections beside a static file of the same
// size served by Go's http.FileServer (the ratio says what statusd's own
// work costs), then RSS over a million requests, the page's weight with
// every asset, and its first paint in headless Chromium.
//
//	go build -o bin/statusd ./cmd/statusd
//	go run ./bench/pageload -statusd bin/statusd
package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/statusd/statusd/bench/internal/proc"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
)

func main() {
	var (
		bin      = flag.String("statusd", "bin/statusd", "statusd binary")
		duration = flag.Duration("duration", 20*time.Second, "each wrk run")
		million  = flag.Int("requests", 1_000_000, "requests for the RSS measurement")
		serve    = flag.String("serve-static", "", "internal: serve this folder with http.FileServer on -addr")
		addr     = flag.String("addr", "", "internal: address for -serve-static")
		chromium = flag.String("chromium", "chromium", "Chromium binary for the first paint")
	)
	flag.Parse()
	if *serve != "" {
		log.Fatal(http.ListenAndServe(*addr, http.FileServer(http.Dir(*serve))))
	}

	dir, err := os.MkdirTemp("", "pageload")
	proc.Must(err)
	defer os.RemoveAll(dir)
	dsn := "sqlite:" + filepath.Join(dir, "statusd.db")
	cfg := filepath.Join(dir, "statusd.yml")
	proc.Must(os.WriteFile(cfg, []byte(config()), 0o600))
	proc.Must(seed(dsn))

	listen := proc.FreeAddr()
	base := "http://" + listen
	cmd := exec.Command(*bin, "--config.file="+cfg, "--storage.dsn="+dsn, "--web.listen-address="+listen, "--log.level=warn")
	cmd.Stderr = os.Stderr
	proc.Must(cmd.Start())
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	proc.WaitUp(base + "/")
	// Let the evaluator write the checks' first results and the page follow.
	time.Sleep(5 * time.Second)

	page := fetch(base+"/", false)
	fmt.Printf("services=50 groups=10 incidents=500 cores=%d page=%d bytes\n", proc.NumCPU(), len(page))

	// The same bytes as a static file, in another process.
	static := filepath.Join(dir, "static")
	proc.Must(os.MkdirAll(static, 0o755))
	proc.Must(os.WriteFile(filepath.Join(static, "page.html"), page, 0o644))
	saddr := proc.FreeAddr()
	self, err := os.Executable()
	proc.Must(err)
	fs := exec.Command(self, "-serve-static", static, "-addr", saddr)
	proc.Must(fs.Start())
	defer func() { _ = fs.Process.Kill(); _ = fs.Wait() }()
	sbase := "http://" + saddr
	proc.WaitUp(sbase + "/page.html")

	for _, gz := range []bool{true, false} {
		hdr := "identity"
		if gz {
			hdr = "gzip"
		}
		st := wrk(base+"/", hdr, *duration)
		fs := wrk(sbase+"/page.html", hdr, *duration)
		fmt.Printf("Accept-Encoding: %-8s statusd GET / %8.0f req/s p50 %s p99 %s | http.FileServer %8.0f req/s p99 %s | ratio %.2f\n",
			hdr, st.rps, st.p50, st.p99, fs.rps, fs.p99, st.rps/fs.rps)
	}

	// What widgets poll, and the page in another language (cached apart).
	for _, t := range []struct {
		what, path string
		headers    []string
	}{
		{"GET /api/v1/summary", "/api/v1/summary", nil},
		{"GET / in Italian", "/", []string{"Accept-Language: it-IT,it;q=0.9"}},
	} {
		r := wrk(base+t.path, "gzip", *duration, t.headers...)
		body := fetch(base+t.path, false)
		fmt.Printf("Accept-Encoding: gzip     statusd %-20s %8.0f req/s p50 %s p99 %s (%d bytes, %d gzipped)\n", t.what, r.rps, r.p50, r.p99,
			len(body), len(fetch(base+t.path, true)))
	}
	// Weight: the page and every asset it loads, compressed as browsers
	// get them.
	weight := len(fetch(base+"/", true))
	for _, m := range regexp.MustCompile(`(?:href|src)="((?:static|favicon)/[^"]+)"`).FindAllSubmatch(page, -1) {
		weight += len(fetch(base+"/"+strings.ReplaceAll(string(m[1]), "&amp;", "&"), true))
	}
	fmt.Printf("weight: %.1f KB compressed with every asset (page %d bytes, %d gzipped)\n", float64(weight)/1000, len(page), len(fetch(base+"/", true)))

	if *million == 0 {
		return
	}

	// RSS flat over a million requests: measured after a warm-up, then
	// after every 10 s of load.
	wrk(base+"/", "gzip", 5*time.Second)
	before := proc.RSS(cmd.Process.Pid)
	start := time.Now()
	var done float64
	var samples []float64
	for done < float64(*million) {
		r := wrk(base+"/", "gzip", 10*time.Second)
		done += r.requests
		samples = append(samples, proc.MiB(proc.RSS(cmd.Process.Pid)))
	}
	after := proc.RSS(cmd.Process.Pid)
	fmt.Printf("rss: %.1f MiB after warm-up, %.1f MiB after %.0f more requests in %s (%+.1f%%); every 10 s: %.1f MiB\n",
		proc.MiB(before), proc.MiB(after), done, time.Since(start).Round(time.Second), 100*float64(after-before)/float64(before), samples)

	firstPaint(*chromium, base+"/")
}

// config is 50 ping checks behind 50 services in 10 groups.
func config() string {
	var b strings.Builder
	b.WriteString("site: {name: ACME, url: https://acme.example}\nresources:\n  health:\n")
	for i := range 50 {
		fmt.Fprintf(&b, "    - {name: svc%02d, kind: ping, interval: 30s}\n", i)
	}
	b.WriteString("groups:\n")
	for g := range 10 {
		fmt.Fprintf(&b, "  - {name: Group %d, priority: %d, collapse: never}\n", g, g)
	}
	b.WriteString("services:\n")
	for i := range 50 {
		fmt.Fprintf(&b, "  - {name: Service %02d, group: Group %d, description: \"Service number %d of the platform\", link: \"https://acme.example/s/%d\", checks: [health/svc%02d]}\n", i, i%10, i, i, i)
	}
	return b.String()
}

// seed writes the config's services, 90 days of outages and 500
// incidents, as months of use would.
func seed(dsn string) error {
	ctx := context.Background()
	st, err := store.Open(ctx, dsn, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}
	now := time.Now().UTC()
	long := now.AddDate(0, 0, -120)
	var groups []store.GroupSpec
	for g := range 10 {
		groups = append(groups, store.GroupSpec{Name: fmt.Sprintf("Group %d", g), Priority: g, Collapse: "never"})
	}
	var services []store.ServiceSpec
	for i := range 50 {
		services = append(services, store.ServiceSpec{Name: fmt.Sprintf("Service %02d", i), Group: fmt.Sprintf("Group %d", i%10),
			Checks: []status.CheckID{{Resource: "health", Check: fmt.Sprintf("svc%02d", i)}}, OnProblem: status.PartialOutage})
	}
	if err := st.SyncConfig(ctx, groups, services, long); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	return st.Update(ctx, func(tx *store.Tx) error {
		for i := range 50 {
			sv, err := tx.Service(fmt.Sprintf("Service %02d", i))
			if err != nil {
				return err
			}
			// A dozen outages over 90 days.
			for k := range 12 {
				at := now.AddDate(0, 0, -89).Add(time.Duration(k*7*24+rng.IntN(100)) * time.Hour)
				c, err := tx.SetServiceStatus(sv, status.ServiceStatus(1+rng.IntN(3)), false, store.CauseChecks, "", at)
				if err != nil {
					return err
				}
				sv.Status = c.New
				if _, err := tx.SetServiceStatus(sv, status.Operational, false, store.CauseChecks, "", at.Add(time.Duration(10+rng.IntN(300))*time.Minute)); err != nil {
					return err
				}
				sv.Status = 0
			}
		}
		for k := range 500 {
			at := now.Add(-time.Duration(k) * 5 * time.Hour)
			state := store.Resolved
			if k < 2 {
				state = store.Investigating
			}
			id, err := tx.OpenIncident(fmt.Sprintf("Incident %d: elevated error rates", k), nil, store.Investigating,
				"We are investigating elevated error rates on the API. See https://acme.example/status for details.", false, at)
			if err != nil {
				return err
			}
			if err := tx.AddIncidentUpdate(id, state, "A fix has been deployed and error rates are back to normal.", at.Add(time.Hour)); err != nil {
				return err
			}
		}
		return nil
	})
}

type result struct {
	rps, requests float64
	p50, p99      string
}

// wrk runs wrk and reads its summary.
func wrk(url, encoding string, d time.Duration, headers ...string) result {
	args := []string{"-t2", "-c64", "-d" + d.String(), "--latency", "-H", "Accept-Encoding: " + encoding}
	for _, h := range headers {
		args = append(args, "-H", h)
	}
	out, err := exec.Command("wrk", append(args, url)...).CombinedOutput()
	if err != nil {
		log.Fatalf("wrk: %v\n%s", err, out)
	}
	var r result
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "Requests/sec:":
			r.rps, _ = strconv.ParseFloat(f[1], 64)
		case len(f) == 2 && f[0] == "50%":
			r.p50 = f[1]
		case len(f) == 2 && f[0] == "99%":
			r.p99 = f[1]
		case len(f) >= 2 && f[1] == "requests":
			r.requests, _ = strconv.ParseFloat(f[0], 64)
		}
	}
	if strings.Contains(string(out), "Non-2xx") {
		log.Fatalf("wrk saw errors:\n%s", out)
	}
	return r
}

// firstPaint loads the page five times in a fresh headless Chromium and
// reports the first contentful paint.
func firstPaint(bin, url string) {
	path, err := exec.LookPath(bin)
	if err != nil {
		fmt.Println("first paint: no Chromium:", err)
		return
	}
	dir, _ := os.MkdirTemp("", "chromium")
	defer os.RemoveAll(dir)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true), chromedp.UserDataDir(dir))
	defer cancel()
	ctx, cancel2 := chromedp.NewContext(actx)
	defer cancel2()
	var paints []float64
	for range 5 {
		// A new tab each time, with an empty cache, as a first visit.
		tab, closeTab := chromedp.NewContext(ctx)
		proc.Must(chromedp.Do(tab, chromedp.Navigate(url), chromedp.WaitReady("body")))
		fcp, err := chromedp.Run(tab, chromedp.Evaluate[float64](`performance.getEntriesByName("first-contentful-paint")[0].startTime`))
		proc.Must(err)
		paints = append(paints, fcp)
		closeTab()
	}
	slices.Sort(paints)
	fmt.Printf("first contentful paint: median %.0f ms (min %.0f, max %.0f, 5 loads)\n", paints[2], paints[0], paints[4])
}

func fetch(url string, gz bool) []byte {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if gz {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	proc.Must(err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	proc.Must(err)
	if resp.StatusCode != 200 {
		log.Fatalf("%s: %d", url, resp.StatusCode)
	}
	if !gz && resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		proc.Must(err)
		b, err = io.ReadAll(zr)
		proc.Must(err)
	}
	return b
}
