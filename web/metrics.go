package web

import (
	"bufio"
	"compress/gzip"
	"io"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"

	"github.com/statusd/statusd/internal/exposition"
	"github.com/statusd/statusd/web/page"
)

// metricsHandler serves /metrics in the Prometheus text format: the
// registry's families (Go, process, build, scheduler, store…) through
// client_golang's encoder, then the check families, which can number tens
// of thousands of series, from their own writer (internal/exposition).
// Responses are gzipped at the fastest level when the scraper accepts it.
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
	if page.AcceptsGzip(r) {
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
	ew := exposition.NewWriter(bw)
	if m.opts.CheckMetrics != nil {
		m.opts.CheckMetrics(ew)
	}
	if err := ew.Flush(); err != nil {
		m.opts.Logger.Debug("Writing metrics failed", "err", err)
	}
}

// instrumentation exports statusd's own HTTP handlers' requests by route,
// as Prometheus's own server does: statusd_http_requests_total{code,
// handler} and statusd_http_request_duration_seconds{handler}, the handler
// being the route's template (/api/v1/checks/{resource}), never the path.
type instrumentation struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newInstrumentation(reg prometheus.Registerer) *instrumentation {
	in := &instrumentation{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "statusd_http_requests_total",
			Help: "Requests to statusd's HTTP handlers, by route and status code.",
		}, []string{"code", "handler"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "statusd_http_request_duration_seconds",
			Help:    "How long statusd's HTTP handlers took to answer, by route.",
			Buckets: []float64{0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30},
		}, []string{"handler"}),
	}
	if reg != nil {
		reg.MustRegister(in.requests, in.duration)
	}
	return in
}

// handler instruments a handler under a name.
func (in *instrumentation) handler(name string, h http.Handler) http.Handler {
	l := prometheus.Labels{"handler": name}
	return promhttp.InstrumentHandlerCounter(in.requests.MustCurryWith(l),
		promhttp.InstrumentHandlerDuration(in.duration.MustCurryWith(l), h))
}
