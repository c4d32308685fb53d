package downtime_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/statusd/statusd/downtime"
)

// A Go program takes its downtime from a statusd (here a stand-in that
// says a deploy is under way) in three lines: the source, the middleware,
// the handler wrapped.
func Example() {
	statusd := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"periods":[{"id":1,"enabled":true,"start":"2026-12-02T21:00:00Z","reason":"Deploying v2.3"}]}`)
	}))
	defer statusd.Close()
	app := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "the shop") })

	watcher := downtime.Watch(context.Background(), downtime.Remote(statusd.URL, nil), downtime.WatchOptions{})
	_ = watcher.Refresh(context.Background()) // a program would not wait: the watcher reads every second
	handler := downtime.Middleware(watcher, downtime.Options{Now: func() time.Time { return time.Date(2026, 12, 2, 22, 0, 0, 0, time.UTC) }})(app)

	for _, path := range []string{"/cart", "/admin/"} {
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		fmt.Println(path, rec.Code)
	}
	// Output:
	// /cart 503
	// /admin/ 200
}
