// Command subscribers measures how long one incident's news takes to
// reach 10,000 confirmed e-mail subscribers through statusd's outbox and
// a local SMTP server (a Go SMTP server in this process, the notifier
// tests' own), while statusd runs 200 http checks a second, and whether
// any check run started more than 1 s late meanwhile.
//
//	go build -o bin/statusd ./cmd/statusd
//	go run ./bench/subscribers -statusd bin/statusd
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/statusd/statusd/bench/internal/proc"
	"github.com/statusd/statusd/internal/store"
	"github.com/statusd/statusd/notifier/notifytest"
)

func main() {
	var (
		bin         = flag.String("statusd", "bin/statusd", "statusd binary")
		subscribers = flag.Int("subscribers", 10_000, "confirmed e-mail subscribers")
		checks      = flag.Int("checks", 200, "http checks at 1 s beside the fan-out")
	)
	flag.Parse()
	dir, err := os.MkdirTemp("", "subscribers")
	proc.Must(err)
	defer os.RemoveAll(dir)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	proc.Must(err)
	smtp, srv, err := notifytest.ServeSMTP(l, "", "", filepath.Join(dir, "ca.pem"))
	proc.Must(err)
	defer srv.Close()
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	defer target.Close()

	dsn := "sqlite:" + filepath.Join(dir, "statusd.db")
	cfg := filepath.Join(dir, "statusd.yml")
	var b strings.Builder
	fmt.Fprintf(&b, "site: {name: ACME}\nsmtp: {host: 127.0.0.1, port: %d, tls: none, from: status@acme.example}\n", smtp.Port)
	b.WriteString("services: [{name: API}]\nresources:\n  health:\n")
	for i := range *checks {
		fmt.Fprintf(&b, "    - {name: c%03d, kind: http, url: %q, interval: 1s, timeout: 500ms}\n", i, target.URL)
	}
	proc.Must(os.WriteFile(cfg, []byte(b.String()), 0o600))
	seed(dsn, *subscribers)
	out, err := exec.Command(*bin, "--config.file="+cfg, "--storage.dsn="+dsn, "token", "add", "bench", "--scope", "write").Output()
	proc.Must(err)
	token := strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])

	listen := proc.FreeAddr()
	base := "http://" + listen
	cmd := exec.Command(*bin, "--config.file="+cfg, "--storage.dsn="+dsn, "--web.listen-address="+listen,
		"--web.external-url=https://status.acme.example", "--log.level=warn")
	cmd.Stderr = os.Stderr
	proc.Must(cmd.Start())
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	proc.WaitUp(base + "/")
	time.Sleep(5 * time.Second) // the checks settle into their schedule
	lateBefore := late(base)

	start := time.Now()
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/incidents", strings.NewReader(`{"title":"Payments fail","impact":"major","services":["API"]}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	proc.Must(err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		log.Fatalf("open the incident: %d %s", resp.StatusCode, body)
	}
	written := time.Since(start)
	deadline := start.Add(5 * time.Minute)
	for len(smtp.Mails()) < *subscribers {
		if time.Now().After(deadline) {
			log.Fatalf("only %d mails after 5 minutes", len(smtp.Mails()))
		}
		time.Sleep(100 * time.Millisecond)
	}
	took := time.Since(start)
	lateAfter := late(base)
	fmt.Printf("subscribers=%d checks=%d/s cores=%d\n", *subscribers, *checks, proc.NumCPU())
	fmt.Printf("incident opened (the fan-out into the outbox included) in %s; %d mails in %s (%.0f mails/s, group_wait 10s included)\n",
		written.Round(time.Millisecond), len(smtp.Mails()), took.Round(100*time.Millisecond), float64(*subscribers)/took.Seconds())
	fmt.Printf("check runs that started more than 1 s late meanwhile: %.0f\n", lateAfter-lateBefore)
}

// seed writes the config's service and n confirmed e-mail subscribers.
func seed(dsn string, n int) {
	ctx := context.Background()
	st, err := store.Open(ctx, dsn, store.Options{})
	proc.Must(err)
	defer st.Close()
	_, err = st.Migrate(ctx)
	proc.Must(err)
	now := time.Now().Add(-time.Hour)
	proc.Must(st.SyncConfig(ctx, nil, []store.ServiceSpec{{Name: "API"}}, now))
	proc.Must(st.Update(ctx, func(tx *store.Tx) error {
		for i := range n {
			_, token, err := tx.Subscribe(store.Subscription{Kind: store.SubscribeEmail, Address: fmt.Sprintf("visitor%05d@example.com", i),
				Language: []string{"en", "it", "de", "fr", "es"}[i%5], ConfirmWithin: time.Hour}, now)
			if err != nil {
				return err
			}
			if _, err := tx.ConfirmSubscription(token, now); err != nil {
				return err
			}
		}
		return nil
	}))
}

// late is how many check runs started more than 1 s after they were due.
func late(base string) float64 {
	resp, err := http.Get(base + "/metrics")
	proc.Must(err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var count, within float64
	for _, line := range bytes.Split(b, []byte("\n")) {
		s := string(line)
		f := strings.Fields(s)
		switch {
		case len(f) != 2:
		case strings.HasPrefix(s, "statusd_scheduler_delay_seconds_count"):
			count, _ = strconv.ParseFloat(f[1], 64)
		case strings.HasPrefix(s, `statusd_scheduler_delay_seconds_bucket{le="1"}`):
			within, _ = strconv.ParseFloat(f[1], 64)
		}
	}
	return count - within
}
