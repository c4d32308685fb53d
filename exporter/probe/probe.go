// Package probe holds statusd's check kinds, one file each, in the manner
// of blackbox_exporter's probers. A kind turns a check's config into a
// Prober; a Prober runs once per call and reports level, success, value,
// message and details. Timing, thresholds and scheduling belong to the
// exporter around it.
package probe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
)

// Prober runs one check. Probe must return when ctx ends (the check's
// timeout) and never panic on what a peer sends.
type Prober interface {
	Probe(ctx context.Context) status.Result
}

// ProberFunc adapts a function to Prober.
type ProberFunc func(ctx context.Context) status.Result

// Probe calls f.
func (f ProberFunc) Probe(ctx context.Context) status.Result { return f(ctx) }

// Env is what probers need from the rest of statusd.
type Env struct {
	Now    func() time.Time
	Logger *slog.Logger
	// Heartbeats answers heartbeat checks.
	Heartbeats HeartbeatSource
	// Store is statusd's own database, for the storage kind; nil when none
	// could be opened.
	Store Pinger
	// Writes tells how statusd's writes to it go, for the storage kind;
	// nil when nothing writes (statusd check).
	Writes WriteHealth
	// Build describes this binary, for the build kind.
	Build BuildInfo
	// pools are shared by the probers built with this Env.
	pools *pools
}

// pools are what the probers of one exporter share.
type pools struct {
	once    sync.Once
	tracers *sync.Pool
	// header is the request header of every http check that sets none of
	// its own. Nothing writes to it: net/http copies a request's header
	// before changing it, and so do the credentials' round trippers and
	// the redirect guard. Shared, it saves each such check its own map
	// (about 360 bytes, a fifth of what an http check keeps).
	header http.Header
	// dialer dials every http check's connections: it holds no state
	// and is safe for concurrent use, and one per check was 130 bytes
	// of each (no keep-alive probes: a connection serves one request).
	dialer *net.Dialer
}

// WithPools gives an Env the pools its probers share; probers built with
// an Env without them get pools of their own.
func (e Env) WithPools() Env {
	e.pools = &pools{}
	return e
}

// shared returns the Env's pools, or pools of its own for an Env without.
func (e Env) shared() *pools {
	p := e.pools
	if p == nil {
		p = &pools{}
	}
	p.once.Do(func() {
		p.tracers = &sync.Pool{New: func() any { return newTracer() }}
		p.header = http.Header{"User-Agent": {userAgent}}
		p.dialer = &net.Dialer{KeepAlive: -1}
	})
	return p
}

// HeartbeatSource tells the last report a heartbeat check received.
type HeartbeatSource interface {
	LastHeartbeat(id status.CheckID) (store.Heartbeat, bool)
}

// Pinger is statusd's own store as the storage kind sees it.
type Pinger interface {
	Ping(ctx context.Context) error
	Dialect() store.Dialect
	String() string
}

// WriteHealth is how statusd's writes to its database go.
type WriteHealth interface {
	// WriteHealth tells since when writes have been failing (zero while
	// they succeed) and how many results wait to be written.
	WriteHealth() (failingSince time.Time, pending int)
}

// BuildInfo describes how statusd was built.
type BuildInfo struct {
	Version, Revision, Branch, BuildDate, GoVersion string
	// Debug tells whether debug logging is on.
	Debug bool
}

// factory builds the prober of one kind.
type factory func(id status.CheckID, c *config.Check, env Env) (Prober, error)

// kinds maps every kind name to its factory. It is never modified.
var kinds = map[string]factory{
	"ping":      newPing,
	"http":      newHTTP,
	"tcp":       newTCP,
	"tls":       newTLS,
	"dns":       newDNS,
	"command":   newCommand,
	"heartbeat": newHeartbeat,
	"build":     newBuild,
	"storage":   newStorage,
	"postgres":  newPostgres,
	"mysql":     newMySQL,
	"redis":     newRedis,
	"memcached": newMemcached,
	"celery":    newCelery,
	"sql":       newSQL,
	"databases": newDatabases,
	"caches":    newCaches,
}

// New builds the prober of a check.
func New(id status.CheckID, c *config.Check, env Env) (Prober, error) {
	f, ok := kinds[c.Kind]
	if !ok {
		return nil, fmt.Errorf("check %s: unknown kind %q", id, c.Kind)
	}
	if env.Now == nil {
		env.Now = time.Now
	}
	if env.Logger == nil {
		env.Logger = slog.New(slog.DiscardHandler)
	}
	p, err := f(id, c, env)
	if err != nil {
		return nil, fmt.Errorf("check %s: %w", id, err)
	}
	return p, nil
}

// Kinds lists the kinds this package implements.
func Kinds() []string {
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, k)
	}
	return names
}

// fail is a result of a probe that could not run or did not meet its
// conditions.
func fail(format string, args ...any) status.Result {
	return status.Result{Level: status.Problem, Success: false, Message: fmt.Sprintf(format, args...)}
}

// ok is a successful result.
func ok(value *float64, details map[string]any, format string, args ...any) status.Result {
	return status.Result{Level: status.Fine, Success: true, Value: value, Details: details, Message: fmt.Sprintf(format, args...)}
}

// timeoutKey carries a check's configured timeout in its context.
type timeoutKey struct{}

// WithTimeout bounds ctx by a check's timeout and remembers the figure, so
// that a probe that runs out of time reports "timed out after 5s" with the
// configured timeout rather than a time it measured itself (which, started
// a moment later, would read 4.998s).
func WithTimeout(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithValue(ctx, timeoutKey{}, timeout), timeout)
}

// timeoutOf is the check's configured timeout, or measured when ctx carries
// none.
func timeoutOf(ctx context.Context, measured time.Duration) time.Duration {
	if d, ok := ctx.Value(timeoutKey{}).(time.Duration); ok {
		return d
	}
	return measured
}

// describeErr turns a probe error into a message. A deadline is reported
// as a timeout with the check's configured timeout; net/url wrappers that
// would repeat the URL (which may carry credentials) are peeled off.
func describeErr(ctx context.Context, err error) string {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || ctx.Err() == context.DeadlineExceeded || (errors.As(err, &ne) && ne.Timeout()) {
		if d, ok := ctx.Value(timeoutKey{}).(time.Duration); ok {
			return "timed out after " + Human(d)
		}
		return "timed out"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}

// Human formats a duration for messages: 83µs, 850ms, 12.3s, 5m0s, 3h5m,
// 26h, 2d4h.
func Human(d time.Duration) string {
	switch {
	case d < 0:
		return "-" + Human(-d)
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	case d < time.Hour:
		return d.Round(time.Second).String()
	case d < 48*time.Hour:
		d = d.Round(time.Minute)
		if m := (d % time.Hour) / time.Minute; m != 0 {
			return fmt.Sprintf("%dh%dm", d/time.Hour, m)
		}
		return fmt.Sprintf("%dh", d/time.Hour)
	default:
		d = d.Round(time.Hour)
		days := d / (24 * time.Hour)
		hours := (d % (24 * time.Hour)) / time.Hour
		return fmt.Sprintf("%dd%dh", days, hours)
	}
}

// hitRatio is hits/(hits+misses) of a cache; nil before any lookup.
func hitRatio(hits, misses float64) *float64 {
	if hits+misses == 0 {
		return nil
	}
	return status.Float(hits / (hits + misses))
}

// withValue takes a result's value from its details when the check's
// value option names one of the server's figures ("uptime" is reported as
// uptime_seconds); a figure the server did not report leaves no value and
// says so in the message.
func withValue(res status.Result, value string) status.Result {
	if value == "latency" {
		return res
	}
	res.Value = nil
	figures, _ := res.Details.(map[string]any)
	for _, key := range []string{value, value + "_seconds"} {
		if v, ok := figures[key].(float64); ok {
			res.Value = status.Float(v)
			return res
		}
	}
	res.Message += fmt.Sprintf(" (%s unknown)", strings.ReplaceAll(value, "_", " "))
	return res
}
