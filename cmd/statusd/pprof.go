//go:build pprof

package main

import (
	"log"
	"net/http"
	_ "net/http/pprof" // the profiling handlers, on a port of their own
	"os"
)

// A profiling build (go build -tags pprof ./cmd/statusd) serves Go's
// profiles on the address in STATUSD_PPROF (127.0.0.1:6060 by default),
// apart from statusd's own listeners: a release build has none of it.
func init() {
	addr := os.Getenv("STATUSD_PPROF")
	if addr == "" {
		addr = "127.0.0.1:6060"
	}
	go func() { log.Println(http.ListenAndServe(addr, nil)) }() //nolint:gosec // a profiling build only
}
