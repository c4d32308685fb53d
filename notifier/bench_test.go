package notifier_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/statusd/statusd/internal/message"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/testsvc"
	"github.com/statusd/statusd/notifier"
	"github.com/statusd/statusd/notifier/email"
	"github.com/statusd/statusd/notifier/notifytest"
	"github.com/statusd/statusd/notifier/slack"
)

// The environment of a child process serving a peer (a fake Slack, an
// SMTP server), so that a benchmark counts the dispatcher's CPU alone.
const (
	childPeer     = "STATUSD_TEST_PEER"
	childPeerAddr = "STATUSD_TEST_PEER_ADDR"
	childPeerCA   = "STATUSD_TEST_PEER_CA"
)

func servePeer(peer, addr, caFile string) int {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	switch peer {
	case "slack":
		_ = http.Serve(l, notifytest.NewSlackHandler())
	case "smtp":
		if _, _, err := notifytest.ServeSMTP(l, "status", "hunter2", caFile); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		select {}
	}
	return 0
}

// startPeer runs a peer in a child process until the benchmark ends.
func startPeer(b *testing.B, peer string) (addr, caFile string) {
	addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(testsvc.FreePort(b)))
	caFile = filepath.Join(b.TempDir(), "ca.pem")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childPeer+"="+peer, childPeerAddr+"="+addr, childPeerCA+"="+caFile)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			if _, err := os.Stat(caFile); peer != "smtp" || err == nil {
				return addr, caFile
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("the %s peer did not start", peer)
		}
	}
}

// The dispatcher's throughput: b.N status changes (one message each) for
// ten receivers, delivered by rounds until the outbox is empty, to a peer
// in another process: the CPU per message is the dispatcher's alone.
func BenchmarkDispatchSlack(b *testing.B) {
	addr, _ := startPeer(b, "slack")
	benchmarkDispatch(b, func(name string) notifier.Notifier {
		return slack.New(slack.Config{Receiver: name, WebhookURL: "http://" + addr + "/services/T0/B0/" + name, Client: http.DefaultClient})
	})
}

func BenchmarkDispatchEmail(b *testing.B) {
	addr, caFile := startPeer(b, "smtp")
	pem, err := os.ReadFile(caFile)
	if err != nil {
		b.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	server, err := email.NewServer(email.Config{Host: host, Port: p, TLS: "starttls", Username: "status", Password: "hunter2",
		TLSConfig: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}})
	if err != nil {
		b.Fatal(err)
	}
	benchmarkDispatch(b, func(name string) notifier.Notifier {
		n, err := email.New(email.Config{To: []string{name + "@acme.example"}, From: "status@acme.example", Server: server})
		if err != nil {
			b.Fatal(err)
		}
		return n
	})
}

func benchmarkDispatch(b *testing.B, integration func(name string) notifier.Notifier) {
	st := openStore(b, "sqlite:"+filepath.Join(b.TempDir(), "statusd.db"))
	var receivers []notifier.Receiver
	for r := range 10 {
		name := fmt.Sprintf("r%d", r)
		receivers = append(receivers, notifier.Receiver{Name: name, Integrations: []notifier.Integration{{Name: "x", Notifier: integration(name)}}})
	}
	d := notifier.New(notifier.Options{Store: st, Concurrency: 10})
	d.SetReceivers(receivers, fast)
	msgs := make([]message.Message, b.N)
	for i := range msgs {
		msgs[i] = message.Message{Version: 1, Kind: message.StatusChange, Receiver: fmt.Sprintf("r%d", i%10), Site: message.Site{Name: "ACME"}, Time: t0,
			Service: &message.ServiceChange{Name: fmt.Sprintf("svc%d", i), From: status.Operational, To: status.PartialOutage, At: t0}}
	}
	enqueue(b, st, time.Now(), msgs...)
	ctx := context.Background()
	b.ResetTimer()
	cpu0, start := cpuTime(b), time.Now()
	sent := 0
	for sent < b.N {
		n, err := d.Round(ctx, true)
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			b.Fatalf("stuck after %d of %d", sent, b.N)
		}
		sent += n
	}
	b.ReportMetric(float64(sent)/time.Since(start).Seconds(), "msgs/s")
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(sent), "cpu-ns/msg")
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
