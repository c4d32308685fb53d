package web

import (
	"bufio"
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/prometheus/common/expfmt"
)

// metricsHandler serves /metrics in the Prometheus text format: the
// registry's families (Go, process, build, scheduler, store…) through
// client_golang's encoder, then the check families, which can number tens
// of thousands of series, from their own writer. Responses are gzipped at
// the fastest level when the scraper accepts it.
type metricsHandler struct {
	opts Options
	gzip sync.Pool
}

var textFormat = expfmt.NewFormat(expfmt.TypeTextPlain)

func (m *metricsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	mfs, err := m.opts.Gatherer.Gather()
	if err != nil {
		// Serve what was gathered; the error is the collector's to fix.
		m.opts.Logger.Error("Gathering metrics failed", "err", err)
	}
	w.Header().Set("Content-Type", string(textFormat))
	if r.Method == http.MethodHead {
		return
	}
	var out io.Writer = w
	if acceptsGzip(r) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Add("Vary", "Accept-Encoding")
		gz, _ := m.gzip.Get().(*gzip.Writer)
		if gz == nil {
			gz, _ = gzip.NewWriterLevel(w, gzip.BestSpeed)
		} else {
			gz.Reset(w)
		}
		defer func() {
			_ = gz.Close()
			m.gzip.Put(gz)
		}()
		out = gz
	}
	bw := bufio.NewWriterSize(out, 64<<10)
	enc := expfmt.NewEncoder(bw, textFormat)
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			m.opts.Logger.Error("Encoding metrics failed", "err", err)
			return
		}
	}
	if m.opts.CheckMetrics != nil {
		if err := m.opts.CheckMetrics(bw); err != nil {
			m.opts.Logger.Debug("Writing check metrics failed", "err", err)
			return
		}
	}
	_ = bw.Flush()
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(enc) == "gzip" && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}
