package probe

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) {
	if addr := os.Getenv(targetEnv); addr != "" {
		serveTarget(addr) // a child process serving benchmarks
		return
	}
	// As main does: go-redis would print failed dials to stderr.
	redis.SetLogger(RedisLogger{Logger: slog.New(slog.DiscardHandler)})
	os.Exit(m.Run())
}

// targetEnv makes the test binary serve "ok" over HTTP on the address it
// names, instead of running tests: a target in another process, whose
// CPU is not counted as the client's.
const targetEnv = "STATUSD_BENCH_TARGET"

func serveTarget(addr string) {
	srv := &http.Server{Addr: addr, ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	})}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
