package probe

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/statusd/statusd/exporter/probe/celery"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/testsvc"
)

// startWorker starts a real Celery worker on broker in its own mailbox
// namespace, so that tests see only their own workers.
func startWorker(t *testing.T, broker, name string) (*testsvc.CeleryWorker, string) {
	t.Helper()
	ns := "statusd_" + strings.ToLower(strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()))
	w := testsvc.StartCeleryWorker(t, broker, ns, name, func(worker string) bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		replies, _ := celery.Broadcast(ctx, broker, celery.Request{Namespace: ns, Method: "ping", Workers: []string{worker}})
		return len(replies) == 1
	})
	return w, ns
}

func celeryCheck(broker, ns string, extra string) string {
	return fmt.Sprintf(`{name: workers, kind: celery, timeout: 2s, broker: %q, namespace: %q%s}`, broker, ns, extra)
}

// testCelery runs the checks every broker must pass.
func testCelery(t *testing.T, broker, password string) {
	w, ns := startWorker(t, broker, "default")
	host, _ := os.Hostname()
	ghost := "ghost@" + host

	t.Run("every worker", func(t *testing.T) {
		r := run(t, celeryCheck(broker, ns, ""), Env{})
		wantLevel(t, r, status.Fine, true)
		if fmt.Sprint(r.Details) != fmt.Sprintf("map[%s:true]", w.Name) || r.Value == nil || *r.Value != 1 ||
			r.Message != "1 Celery worker answered within 1s: "+w.Name {
			t.Errorf("details %v value %v message %q", r.Details, r.Value, r.Message)
		}
	})
	t.Run("named workers answer at once", func(t *testing.T) {
		// The check returns when the named worker has answered, long
		// before its timeout.
		c := checkFrom(t, fmt.Sprintf(`{name: workers, kind: celery, timeout: 30s, interval: 1m, broker: %q, namespace: %q, workers: [%s]}`, broker, ns, w.Name))
		p, err := New(c.ID("test"), c, Env{})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := WithTimeout(context.Background(), time.Duration(c.Timeout))
		defer cancel()
		wantLevel(t, p.Probe(ctx), status.Fine, true)
		if ctx.Err() != nil {
			t.Error("the check waited out its timeout for a worker that had answered")
		}
	})
	t.Run("named worker missing", func(t *testing.T) {
		r := run(t, celeryCheck(broker, ns, fmt.Sprintf(", workers: [%s, %s]", w.Name, ghost)), Env{})
		wantLevel(t, r, status.Problem, false)
		if figures(r)[ghost] != false || figures(r)[w.Name] != true || len(figures(r)) != 2 ||
			r.Message != "Celery worker "+ghost+" did not answer within 2s" {
			t.Errorf("details %v message %q", r.Details, r.Message)
		}
	})
	t.Run("stats", func(t *testing.T) {
		r := run(t, celeryCheck(broker, ns, fmt.Sprintf(", workers: [%s], stats: true", w.Name)), Env{})
		wantLevel(t, r, status.Fine, true)
		st, _ := figures(r)["stats"].(map[string]any)[w.Name].(map[string]any)
		pool, _ := st["pool"].(map[string]any)
		if pool["max_concurrency"] != 1 || len(pool["processes"].([]int)) != 1 || st["total_tasks"] != 0.0 || st["pid"].(int) <= 0 ||
			!strings.HasPrefix(st["broker"].(string), strings.SplitN(broker, ":", 2)[0]+"://127.0.0.1:") {
			t.Errorf("stats %v", st)
		}
		if fmt.Sprint(figures(r)["workers"]) != fmt.Sprintf("map[%s:true]", w.Name) {
			t.Errorf("workers %v", figures(r)["workers"])
		}
		wantNoSecret(t, r, password)
	})
	t.Run("worker stops", func(t *testing.T) {
		w.Stop()
		r := run(t, celeryCheck(broker, ns, ""), Env{})
		wantLevel(t, r, status.Problem, false)
		if len(figures(r)) != 0 || !strings.HasPrefix(r.Message, "no Celery worker listens on "+strings.SplitN(broker, ":", 2)[0]+"://127.0.0.1:") {
			t.Errorf("details %v message %q", r.Details, r.Message)
		}
		wantNoSecret(t, r, password)
		r = run(t, celeryCheck(broker, ns, fmt.Sprintf(", workers: [%s]", w.Name)), Env{})
		wantLevel(t, r, status.Problem, false)
		if figures(r)[w.Name] != false || r.Message != "Celery worker "+w.Name+" not running: no worker listens on "+redactURL(broker) {
			t.Errorf("details %v message %q", r.Details, r.Message)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		r := run(t, celeryCheck(strings.Replace(broker, password, "Wr0ng-pass", 1), ns, ""), Env{})
		wantLevel(t, r, status.Problem, false)
		if !strings.HasPrefix(r.Message, "Celery broker ") {
			t.Errorf("message %q", r.Message)
		}
		wantNoSecret(t, r, "Wr0ng-pass", password)
	})
}

func TestCeleryRedis(t *testing.T) {
	broker := testsvc.RedisUser(t, "Cel-pass-7", "~*", "&*", "+@all")
	testCelery(t, broker, "Cel-pass-7")
}

func TestCeleryAMQP(t *testing.T) {
	broker := testsvc.AMQP(t)
	u := strings.SplitN(strings.TrimPrefix(broker, "amqp://"), "@", 2)
	_, password, _ := strings.Cut(u[0], ":")
	testCelery(t, broker, password)
}

func TestCeleryBrokerBroken(t *testing.T) {
	for _, scheme := range []string{"redis", "amqp"} {
		t.Run(scheme+" down", func(t *testing.T) {
			r := run(t, celeryCheck(scheme+"://user:Br0ker-pw@"+closedAddr(t)+"/", "celery", ""), Env{})
			wantLevel(t, r, status.Problem, false)
			if !strings.HasPrefix(r.Message, "Celery broker "+scheme+"://127.0.0.1:") || !strings.Contains(r.Message, "refused") {
				t.Errorf("message %q", r.Message)
			}
			wantNoSecret(t, r, "Br0ker-pw")
		})
		t.Run(scheme+" hung", func(t *testing.T) {
			r := wantTimely(t, strings.Replace(celeryCheck(scheme+"://user:Br0ker-pw@"+blackHole(t)+"/", "celery", ""), "2s", "1s", 1))
			wantNoSecret(t, r, "Br0ker-pw")
		})
	}
}
