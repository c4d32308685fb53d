package testsvc

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// celeryApp is the Celery application the test workers run; BROKER and
// NAMESPACE come from the environment, so that each test has its own
// mailbox and sees only its own workers.
const celeryApp = `import os
from celery import Celery

app = Celery("statusd_test", broker=os.environ["BROKER"])
app.conf.control_exchange = os.environ["NAMESPACE"]
app.conf.broker_connection_retry_on_startup = True


@app.task
def add(x, y):
    return x + y
`

// CeleryWorker is a real Celery worker (Debian: python3-celery, plus
// python3-redis for a Redis broker).
type CeleryWorker struct {
	*Process
	// Name is the worker's node name, as it answers pings: name@hostname.
	Name string
}

// Python is the interpreter with Celery: STATUSD_TEST_PYTHON, else
// Debian's /usr/bin/python3 (a python3 earlier on PATH, from pyenv say,
// may not have Debian's packages).
func Python() string {
	return Env("STATUSD_TEST_PYTHON", "/usr/bin/python3")
}

// StartCeleryWorker starts a Celery worker named name@<host> on broker,
// answering on the mailbox namespace, and returns once the worker listens.
// ready tells whether the worker answers (statusd's own ping, so the test
// depends on nothing else).
func StartCeleryWorker(t testing.TB, broker, namespace, name string, ready func(worker string) bool) *CeleryWorker {
	t.Helper()
	py := Python()
	if out, err := exec.Command(py, "-c", "import celery, redis, amqp").CombinedOutput(); err != nil {
		Unavailable(t, "Celery", err, "install Debian's python3-celery and python3-redis ("+py+": "+string(out)+")")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "statusd_test_app.py"), []byte(celeryApp), 0o600); err != nil {
		t.Fatal(err)
	}
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "-m", "celery", "-A", "statusd_test_app", "worker",
		"-n", name+"@%h", "--pool=solo", "--concurrency=1", "--loglevel=WARNING",
		"--without-gossip", "--without-mingle", "--without-heartbeat")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BROKER="+broker, "NAMESPACE="+namespace, "PYTHONDONTWRITEBYTECODE=1")
	w := &CeleryWorker{Process: StartCmd(t, "celery worker "+name, cmd), Name: name + "@" + host}
	w.WaitFor(t, 30*time.Second, func() bool { return ready(w.Name) })
	return w
}
