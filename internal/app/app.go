// Package app wires statusd's daemon: config, store, exporter and web
// server. cmd/statusd only parses flags and calls it, so tests can run the
// whole daemon in-process.
package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/version"
	toolkit "github.com/prometheus/exporter-toolkit/web"

	"github.com/statusd/statusd/exporter"
	"github.com/statusd/statusd/exporter/probe"
	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/store"
	"github.com/statusd/statusd/web"
)

// Options are the daemon's flags.
type Options struct {
	// ConfigFile is the config to read. When it is config.DefaultFile and
	// does not exist, statusd runs its built-in config.
	ConfigFile string
	// StorageDSN selects the database (see store.Open).
	StorageDSN string
	// ListenAddresses are where the web server listens (":9799").
	ListenAddresses []string
	// WebConfigFile enables TLS and basic auth (exporter-toolkit format).
	WebConfigFile string
	// ExternalURL is how users reach statusd.
	ExternalURL string
	// EnableLifecycle allows POST /-/reload.
	EnableLifecycle bool
	Logger          *slog.Logger
}

// App is a running statusd.
type App struct {
	opts      Options
	logger    *slog.Logger
	store     *store.Store
	recorder  *store.Recorder
	exporter  *exporter.Exporter
	server    *http.Server
	listeners []net.Listener
	registry  *prometheus.Registry

	reloadMu      sync.Mutex
	config        *config.Config
	reloadOK      prometheus.Gauge
	reloadSuccess prometheus.Gauge
}

// LoadConfig reads the config file, or returns the built-in config when the
// default file is missing.
func LoadConfig(file string, logger *slog.Logger) (*config.Config, error) {
	c, err := config.Load(file, config.OSEnv())
	if err != nil && file == config.DefaultFile && errors.Is(err, fs.ErrNotExist) {
		logger.Info("No config file; running the built-in config, which watches statusd itself", "file", file)
		return config.Default(), nil
	}
	return c, err
}

// New loads the config, opens and migrates the store and binds the
// listeners. Nothing runs until Run.
func New(ctx context.Context, opts Options) (*App, error) {
	logger := opts.Logger
	cfg, err := LoadConfig(opts.ConfigFile, logger)
	if err != nil {
		return nil, err
	}
	var external *url.URL
	if opts.ExternalURL != "" {
		external, err = url.Parse(opts.ExternalURL)
		if err != nil || external.Scheme == "" || external.Host == "" {
			return nil, fmt.Errorf("--web.external-url must be an absolute URL, got %q", opts.ExternalURL)
		}
	}

	st, err := store.Open(ctx, opts.StorageDSN, store.Options{})
	if err != nil {
		return nil, err
	}
	ran, err := st.Migrate(ctx)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("%s: %w", st, err)
	}
	logger.Info("Store ready", "store", st.String(), "migrations_applied", len(ran))

	a := &App{opts: opts, logger: logger, store: st, config: cfg, registry: prometheus.NewRegistry()}
	a.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		versioncollector.NewCollector("statusd"),
	)
	a.reloadOK = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "statusd_config_last_reload_successful",
		Help: "Whether the last configuration reload attempt was successful.",
	})
	a.reloadSuccess = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "statusd_config_last_reload_success_timestamp_seconds",
		Help: "Timestamp of the last successful configuration reload.",
	})
	a.registry.MustRegister(a.reloadOK, a.reloadSuccess)

	a.recorder = store.NewRecorder(st, logger.With("component", "store"), a.registry, store.RecorderOptions{
		Retention:       retention(cfg),
		ResultsInterval: time.Duration(*cfg.Storage.ResultsInterval),
	})
	a.exporter = exporter.New(exporter.Options{
		Logger:     logger.With("component", "exporter"),
		Recorder:   a.recorder,
		Store:      st,
		Build:      BuildInfo(logger),
		Registerer: a.registry,
	})
	if err := a.exporter.Apply(cfg); err != nil {
		st.Close()
		return nil, err
	}
	if err := a.restore(ctx); err != nil {
		logger.Warn("Could not restore the last results from the store", "err", err)
	}
	a.reloadOK.Set(1)
	a.reloadSuccess.SetToCurrentTime()

	var reload func() error
	if opts.EnableLifecycle {
		reload = a.Reload
	}
	handler, err := web.Handler(web.Options{
		Logger:       logger.With("component", "web"),
		Checks:       a.exporter,
		Gatherer:     a.registry,
		CheckMetrics: a.exporter.WriteMetrics,
		Ready:        a.ready,
		Reload:       reload,
		ExternalURL:  external,
		Version:      version.Version,
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	a.server = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	for _, addr := range opts.ListenAddresses {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			a.closeListeners()
			st.Close()
			return nil, fmt.Errorf("listen on %s: %w", addr, err)
		}
		a.listeners = append(a.listeners, l)
	}
	return a, nil
}

// restore seeds the exporter with what the store remembers, so the API and
// heartbeat checks are right from the first second after a restart.
func (a *App) restore(ctx context.Context) error {
	latest, err := a.store.LatestResults(ctx)
	if err != nil {
		return err
	}
	a.exporter.Restore(latest)
	hb, err := a.store.LastHeartbeats(ctx)
	if err != nil {
		return err
	}
	a.exporter.LoadHeartbeats(hb)
	return nil
}

// Addrs are the addresses the web server listens on.
func (a *App) Addrs() []net.Addr {
	addrs := make([]net.Addr, len(a.listeners))
	for i, l := range a.listeners {
		addrs[i] = l.Addr()
	}
	return addrs
}

// Run serves until ctx ends, then shuts down: the web server stops taking
// requests, running checks finish, and queued history is written.
func (a *App) Run(ctx context.Context) error {
	defer a.store.Close()
	exporterCtx, stopExporter := context.WithCancel(ctx)
	defer stopExporter()
	exporterDone := make(chan struct{})
	go func() {
		defer close(exporterDone)
		a.exporter.Run(exporterCtx)
	}()
	// The recorder outlives ctx: it stops after the last check has run.
	recorderCtx, stopRecorder := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRecorder()
	recorderDone := make(chan struct{})
	go func() {
		defer close(recorderDone)
		a.recorder.Run(recorderCtx)
	}()

	serveErr := make(chan error, 1)
	go func() {
		flags := &toolkit.FlagConfig{WebConfigFile: &a.opts.WebConfigFile, WebListenAddresses: &a.opts.ListenAddresses}
		serveErr <- toolkit.ServeMultiple(a.listeners, a.server, flags, a.logger.With("component", "web"))
	}()

	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
	}
	a.logger.Info("Shutting down")
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if serr := a.server.Shutdown(shutCtx); serr != nil {
		a.logger.Warn("Web server did not stop cleanly", "err", serr)
	}
	stopExporter()
	<-exporterDone
	stopRecorder()
	<-recorderDone
	return err
}

func (a *App) closeListeners() {
	for _, l := range a.listeners {
		l.Close()
	}
}

func (a *App) ready(ctx context.Context) error {
	if err := a.store.Ping(ctx); err != nil {
		return fmt.Errorf("%s does not answer: %w", a.store, err)
	}
	return nil
}

// Reload reads the config again and applies it when it is valid; an
// invalid config changes nothing. The outcome is in the
// statusd_config_last_reload_* metrics.
func (a *App) Reload() error {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	cfg, err := LoadConfig(a.opts.ConfigFile, a.logger)
	if err == nil {
		err = a.exporter.Apply(cfg)
	}
	if err != nil {
		a.reloadOK.Set(0)
		a.logger.Error("Config not reloaded; keeping the running one", "file", a.opts.ConfigFile, "err", err)
		return err
	}
	a.config = cfg
	a.recorder.SetRetention(retention(cfg), time.Duration(*cfg.Storage.ResultsInterval))
	a.reloadOK.Set(1)
	a.reloadSuccess.SetToCurrentTime()
	a.logger.Info("Config reloaded", "file", a.opts.ConfigFile)
	return nil
}

func retention(c *config.Config) store.Retention {
	r := c.Storage.Retention
	return store.Retention{
		Results:         time.Duration(r.Results),
		ResultsPerCheck: r.ResultsPerCheck,
		Minute:          time.Duration(r.Minute),
		Hour:            time.Duration(r.Hour),
		Day:             time.Duration(r.Day),
		Heartbeats:      time.Duration(r.Heartbeats),
	}
}

// BuildInfo describes this binary for the build check.
func BuildInfo(logger *slog.Logger) probe.BuildInfo {
	return probe.BuildInfo{
		Version:   version.Version,
		Revision:  version.GetRevision(),
		Branch:    version.Branch,
		BuildDate: version.BuildDate,
		GoVersion: version.GoVersion,
		Debug:     logger.Enabled(context.Background(), slog.LevelDebug),
	}
}
