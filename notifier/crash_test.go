package notifier_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
	"github.com/statusd/statusd/internal/testsvc"
	"github.com/statusd/statusd/notifier"
	"github.com/statusd/statusd/notifier/webhook"
)

// The environment of a child process that delivers the outbox once, so
// that a test can kill it in the middle.
const (
	childDSN  = "STATUSD_TEST_DISPATCH_DSN"
	childHook = "STATUSD_TEST_DISPATCH_HOOK"
)

func TestMain(m *testing.M) {
	if dsn := os.Getenv(childDSN); dsn != "" {
		os.Exit(dispatchOnce(dsn, os.Getenv(childHook)))
	}
	if peer := os.Getenv(childPeer); peer != "" {
		os.Exit(servePeer(peer, os.Getenv(childPeerAddr), os.Getenv(childPeerCA)))
	}
	os.Exit(m.Run())
}

// dispatchOnce is the child: one round with a one-second lease.
func dispatchOnce(dsn, hook string) int {
	st, err := store.Open(context.Background(), dsn, store.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	n, _ := webhook.New(webhook.Config{URL: hook, ContentType: "application/json", Client: http.DefaultClient})
	d := notifier.New(notifier.Options{Store: st, Lease: time.Second, Owner: "child"})
	d.SetReceivers([]notifier.Receiver{{Name: "ops", Integrations: []notifier.Integration{{Name: "webhook", Notifier: n}}}}, fast)
	if _, err := d.Round(context.Background(), true); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return 0
}

// A dispatcher killed between sending a notification and recording it:
// the next one sends it again once the claim has run out — at worst one
// repeat, never a loss — and records it once.
func TestCrashBetweenSendAndRecord(t *testing.T) {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "statusd.db")
	st := openStore(t, dsn)
	enqueue(t, st, time.Now(), checkMessage("ops", "health/api", status.Problem))

	var got atomic.Int32
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got.Add(1) == 1 {
			arrived <- struct{}{}
			<-release // the first sender dies before it hears back
			return
		}
	}))
	defer hook.Close()
	defer close(release)

	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), childDSN+"="+dsn, childHook+"="+hook.URL)
	out := &testsvc.Buffer{}
	child.Stdout, child.Stderr = out, out
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-arrived:
	case <-time.After(time.Minute):
		_ = child.Process.Kill()
		t.Fatalf("the child sent nothing:\n%s", out)
	}
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	if rows, _ := st.Outbox(context.Background(), store.OutboxSent); len(rows) != 0 {
		t.Fatal("the killed dispatcher recorded the delivery")
	}

	// Another dispatcher, once the claim has run out.
	n, _ := webhook.New(webhook.Config{URL: hook.URL, ContentType: "application/json", Client: http.DefaultClient})
	d := notifier.New(notifier.Options{Store: st, Clock: clockwork.NewFakeClockAt(time.Now().Add(2 * time.Second))})
	d.SetReceivers([]notifier.Receiver{{Name: "ops", Integrations: []notifier.Integration{{Name: "webhook", Notifier: n}}}}, fast)
	delivered, err := d.Round(context.Background(), true)
	if err != nil || delivered != 1 {
		t.Fatalf("after the crash: %d delivered (%v)", delivered, err)
	}
	sent, _ := st.Outbox(context.Background(), store.OutboxSent)
	pending, _ := st.Outbox(context.Background(), store.OutboxPending)
	if got.Load() != 2 || len(sent) != 1 || len(pending) != 0 {
		t.Errorf("the hook got %d requests; %d sent and %d pending rows; want 2, 1 and 0", got.Load(), len(sent), len(pending))
	}
}

// Two dispatchers on one PostgreSQL, running at once, deliver every row
// exactly once, each receiver's in order.
func TestTwoDispatchersOnePostgres(t *testing.T) {
	dsn := testsvc.Postgres(t)
	st := openStore(t, dsn)
	const receivers, perReceiver = 10, 30
	var mu sync.Mutex
	seen := map[string][]string{} // receiver → checks in arrival order
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct {
			Receiver string
			Checks   []struct{ ID string }
		}
		if err := jsonDecode(r, &m); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, c := range m.Checks {
			seen[m.Receiver] = append(seen[m.Receiver], c.ID)
		}
	}))
	defer hook.Close()
	for i := range perReceiver {
		for r := range receivers {
			enqueue(t, st, time.Now(), checkMessage(fmt.Sprintf("r%02d", r), fmt.Sprintf("health/c%03d", i), status.Problem))
		}
	}
	var all []notifier.Receiver
	for r := range receivers {
		n, _ := webhook.New(webhook.Config{URL: hook.URL, ContentType: "application/json", Client: http.DefaultClient})
		all = append(all, notifier.Receiver{Name: fmt.Sprintf("r%02d", r), Integrations: []notifier.Integration{{Name: "webhook", Notifier: n}}})
	}
	var wg sync.WaitGroup
	for i := range 2 {
		other := openStore(t, dsn)
		d := notifier.New(notifier.Options{Store: other, Owner: fmt.Sprint("d", i), Concurrency: 3})
		d.SetReceivers(all, fast)
		wg.Go(func() {
			for range 200 {
				if n, _, err := other.OutboxStats(context.Background()); err != nil || n == 0 {
					return
				}
				if _, err := d.Round(context.Background(), true); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	for r := range receivers {
		name := fmt.Sprintf("r%02d", r)
		if got := seen[name]; len(got) != perReceiver {
			t.Errorf("%s got %d notifications, want %d: %v", name, len(got), perReceiver, got)
		} else {
			for i, id := range got {
				if want := fmt.Sprintf("health/c%03d", i); id != want {
					t.Errorf("%s: notification %d is %s, want %s (out of order)", name, i, id, want)
					break
				}
			}
		}
	}
}

func jsonDecode(r *http.Request, v any) error { return json.NewDecoder(r.Body).Decode(v) }
