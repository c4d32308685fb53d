package testsvc

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// Target is an HTTP server for checks to watch: it answers 200 while up
// is set (at first) and 503 once the test clears it.
func Target(t testing.TB) (srv *httptest.Server, up *atomic.Bool) {
	up = &atomic.Bool{}
	up.Store(true)
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, up
}
