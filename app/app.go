// Package app wires statusd's daemon: config, store, exporter, evaluator,
// notifier and web server, built by one constructor and run as an ordered
// list of components. It is the top floor: cmd/statusd parses flags and
// calls it, tests run the whole daemon in-process with it, and nothing
// else imports it.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/version"
	toolkit "github.com/prometheus/exporter-toolkit/web"

	"github.com/statusd/statusd/evaluator"
	"github.com/statusd/statusd/exporter"
	"github.com/statusd/statusd/exporter/probe"
	"github.com/statusd/statusd/internal/board"
	"github.com/statusd/statusd/internal/cluster"
	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/connlimit"
	"github.com/statusd/statusd/internal/content"
	"github.com/statusd/statusd/internal/exposition"
	"github.com/statusd/statusd/internal/i18n"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
	"github.com/statusd/statusd/notifier"
	"github.com/statusd/statusd/notifier/integrations"
	"github.com/statusd/statusd/web"
	"github.com/statusd/statusd/web/admin"
	"github.com/statusd/statusd/web/auth"
	"github.com/statusd/statusd/web/page"
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
	// Server bounds what the web server holds (connections, time, header
	// size); its zero fields take DefaultServerLimits'.
	Server ServerLimits
	// Cluster is how this process registers among the statusd processes
	// sharing its database.
	Cluster ClusterOptions
	Logger  *slog.Logger
}

// ClusterOptions name this member of the cluster.
type ClusterOptions struct {
	// MemberID is unique among the members; by default the host name
	// and the port statusd listens on.
	MemberID string
	// AdvertiseAddress is where the other members and the operator reach
	// this one; by default the host name and the listening port.
	AdvertiseAddress string
	// Location is where this member runs (eu-west…), shown with it.
	Location string
	// Lease is how long this member counts as live after each renewal
	// (cluster.DefaultLease when zero).
	Lease time.Duration
}

// withDefaults names the member after the host and the port it listens
// on first, when the flags do not.
func (c ClusterOptions) withDefaults(listening []net.Addr) ClusterOptions {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	self := host
	var bound *net.TCPAddr
	if len(listening) > 0 {
		bound, _ = listening[0].(*net.TCPAddr)
	}
	if bound != nil {
		self = net.JoinHostPort(host, strconv.Itoa(bound.Port))
	}
	if c.MemberID == "" {
		c.MemberID = self
	}
	if c.AdvertiseAddress == "" {
		c.AdvertiseAddress = self
		// A specific address (not 0.0.0.0 or ::) is where it is reached.
		if bound != nil && !bound.IP.IsUnspecified() {
			c.AdvertiseAddress = bound.String()
		}
	}
	return c
}

// ServerLimits bound what the web server gives each client, so that no
// stranger can hold it: connections at once, and time and header size
// per request.
type ServerLimits struct {
	// ReadTimeout bounds reading a request, body included;
	// ReadHeaderTimeout its header.
	ReadTimeout, ReadHeaderTimeout time.Duration
	// WriteTimeout bounds writing a response (a fresh check run included).
	WriteTimeout time.Duration
	// IdleTimeout closes a keep-alive connection idle that long.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's header.
	MaxHeaderBytes int
	// MaxConnections bounds the connections held at once; at the bound
	// the longest idle one is closed for a new one (internal/connlimit).
	// The default is 512, or a quarter of the open files limit when that
	// is lower.
	MaxConnections int
}

// DefaultServerLimits are the limits of a server that sets none.
var DefaultServerLimits = ServerLimits{
	ReadTimeout:       30 * time.Second,
	ReadHeaderTimeout: 10 * time.Second,
	WriteTimeout:      2 * time.Minute,
	IdleTimeout:       time.Minute,
	MaxHeaderBytes:    64 << 10,
	MaxConnections:    512,
}

// withDefaults fills the zero fields.
func (s ServerLimits) withDefaults() ServerLimits {
	d := DefaultServerLimits
	for _, f := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&s.ReadTimeout, d.ReadTimeout}, {&s.ReadHeaderTimeout, d.ReadHeaderTimeout}, {&s.WriteTimeout, d.WriteTimeout}, {&s.IdleTimeout, d.IdleTimeout}} {
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	if s.MaxHeaderBytes == 0 {
		s.MaxHeaderBytes = d.MaxHeaderBytes
	}
	if s.MaxConnections == 0 {
		s.MaxConnections = d.MaxConnections
		// Connections must leave most of the process's files to the
		// checks, the database and the notifier.
		if limit := openFilesLimit(); limit > 0 && uint64(s.MaxConnections) > limit/4 {
			s.MaxConnections = max(int(limit/4), 1)
		}
	}
	return s
}

// App is a running statusd.
type App struct {
	opts      Options
	logger    *slog.Logger
	store     *store.Store
	recorder  *store.Recorder
	exporter  *exporter.Exporter
	evaluator *evaluator.Evaluator
	admin     *admin.Admin
	notifier  *notifier.Dispatcher
	board     *board.Cache
	cluster   *cluster.Membership
	sharing   *cluster.Sharing // replicas only
	pages     *page.Pages
	// catalog is the languages; pageURL the page's root as visitors
	// reach it ("" without --web.external-url).
	catalog   *i18n.Catalog
	pageURL   string
	auth      *auth.Authenticator
	server    *http.Server
	listeners []net.Listener
	registry  *prometheus.Registry

	reloadMu sync.Mutex
	// fresh is the running config's api.fresh. The config itself is not
	// kept once applied: the components hold what they use of it, and a
	// decoded check is most of a kilobyte (BENCHMARKS.md, "3 December,
	// evening").
	fresh         string
	reloadOK      prometheus.Gauge
	reloadSuccess prometheus.Gauge

	// ready is closed once the store is connected and migrated.
	ready   chan struct{}
	storeUp prometheus.Gauge
}

// loadConfig reads the config file, or returns the built-in config when
// the default file is missing.
func loadConfig(file string, logger *slog.Logger) (*config.Config, error) {
	c, builtin, err := config.LoadOrBuiltin(file, config.OSEnv())
	if builtin {
		logger.Info("No config file; running the built-in config, which watches statusd itself", "file", file)
	}
	return c, err
}

// New loads the config, opens and migrates the store and binds the
// listeners. Nothing runs until Run.
func New(ctx context.Context, opts Options) (_ *App, err error) {
	logger := opts.Logger
	cfg, err := loadConfig(opts.ConfigFile, logger)
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

	// The database may be away: statusd serves without it and connects in
	// the background (see watchStore).
	st, err := store.Open(ctx, opts.StorageDSN, store.Options{Lazy: true, Exclusive: true})
	if err != nil {
		return nil, err
	}

	a := &App{opts: opts, logger: logger, store: st, fresh: cfg.API.Fresh, registry: prometheus.NewRegistry(), ready: make(chan struct{}),
		catalog: i18n.MustLoad()}
	if external != nil {
		a.pageURL = strings.TrimSuffix(external.String(), "/") + "/"
	}
	defer func() {
		if err != nil {
			a.closeListeners()
			st.Close()
		}
	}()
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
	a.storeUp = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "statusd_store_up",
		Help: "Whether statusd's database answered the last time it was asked (1) or not (0).",
	})
	a.registry.MustRegister(a.reloadOK, a.reloadSuccess, a.storeUp)

	// Listen now: the member's default id and address are the host and
	// the port bound.
	limits := opts.Server.withDefaults()
	conns := connlimit.New(limits.MaxConnections)
	for _, addr := range opts.ListenAddresses {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("listen on %s: %w", addr, err)
		}
		a.listeners = append(a.listeners, conns.Listener(l))
	}
	member := opts.Cluster.withDefaults(a.Addrs())
	a.cluster = cluster.New(cluster.Options{
		Store: st,
		Self: store.Member{ID: member.MemberID, Address: member.AdvertiseAddress, Location: member.Location,
			Version: version.Version},
		Lease: member.Lease,
		// SQLite is one process: its file is locked (store.Options.Exclusive).
		Alone:      st.Dialect() != store.Postgres,
		Checks:     func() int { return a.exporter.Owned() },
		Ready:      a.ready,
		Logger:     logger.With("component", "cluster"),
		Registerer: a.registry,
	})
	a.recorder = store.NewRecorder(st, logger.With("component", "store"), a.registry, store.RecorderOptions{
		Retention:       retention(cfg),
		ResultsInterval: time.Duration(*cfg.Storage.ResultsInterval),
		Ready:           a.ready,
		OnWrite:         func(err error) { a.storeUp.Set(boolGauge(err == nil)) },
	})
	a.board = board.New(board.Options{Store: st, Logger: logger.With("component", "board"), Registerer: a.registry,
		Overlay: func() map[string]board.Override {
			u := a.evaluator.Unwritten()
			if len(u) == 0 {
				return nil
			}
			o := make(map[string]board.Override, len(u))
			for name, s := range u {
				o[name] = board.Override{Status: s.Status, Maintenance: s.Maintenance, Since: s.Since}
			}
			return o
		},
	})
	a.notifier = notifier.New(notifier.Options{
		Store:      st,
		Logger:     logger.With("component", "notifier"),
		Ready:      a.ready,
		Registerer: a.registry,
	})
	a.evaluator = evaluator.New(evaluator.Options{
		Logger: logger.With("component", "evaluator"),
		Store:  st,
		// It decides once this member knows whether it leads.
		Ready: a.cluster.Settled(),
		Leads: a.cluster.Leads,
		// It exports a check's evaluated level where the check is
		// decided: its owner, or for a check with locations, one member
		// among them.
		Owns: func(id status.CheckID, at time.Time) bool {
			c, ok := a.exporter.Check(id)
			return ok && a.cluster.Reports(id, c.Locations, at)
		},
		ExternalURL: external,
		Registerer:  a.registry,
		OnChange:    a.board.Invalidate,
		// What the evaluator decides goes out now, not at the next poll.
		Decided: func([]store.OutboxRow) { a.notifier.Wake() },
	})
	// Each check's owner records its runs (raw results and rollups) and,
	// among replicas, shares its latest result with the others, which
	// serve and evaluate it.
	if st.Dialect() == store.Postgres {
		a.sharing = cluster.NewSharing(cluster.SharingOptions{
			Store: st,
			Self:  member.MemberID,
			Adopt: func(r store.SharedResult) {
				if decided, changed := a.exporter.Adopt(r.ID, r.Location, r.Result); changed {
					a.evaluator.Observe(r.ID, decided)
				}
			},
			// Only reports newer than those this member has change
			// anything (their checks run again).
			Heartbeats: func(ctx context.Context, hb map[status.CheckID]store.Heartbeat) { a.exporter.LoadHeartbeats(ctx, hb) },
			Ready:      a.ready,
			Logger:     logger.With("component", "cluster"),
			Registerer: a.registry,
		})
	}
	eopts := exporter.Options{
		Logger:     logger.With("component", "exporter"),
		Owns:       a.cluster.Owns,
		Location:   member.Location,
		Observers:  []exporter.Observer{a.recorder, a.evaluator},
		Heartbeats: a.recorder,
		Store:      st,
		Writes:     a.recorder,
		Build:      probe.ThisBuild(logger.Enabled(ctx, slog.LevelDebug)),
		Registerer: a.registry,
	}
	if a.sharing != nil { // not a nil *Sharing in the interface
		eopts.Shares = a.sharing
	}
	a.exporter = exporter.New(eopts)
	if err := a.exporter.Apply(cfg); err != nil {
		return nil, err
	}
	a.evaluator.Apply(cfg)
	if err := a.applyReceivers(cfg); err != nil {
		return nil, err
	}
	theme, err := page.ThemeOf(cfg, nil)
	if err != nil {
		return nil, err
	}
	a.auth = auth.New(auth.Options{Store: st, Logger: logger.With("component", "auth")})
	// Subscribers' messages link back to the page: without an address
	// visitors reach it at, nobody may subscribe (the page and the admin
	// say so).
	var subscriptions content.Subscriptions
	if external != nil {
		subscriptions = a.evaluator
	} else if cfg.SubscribeEmail() || cfg.SubscribeWebhook() {
		logger.Info("Visitors cannot subscribe: set --web.external-url, the address the links in their messages lead to")
	}
	popts := page.Options{
		Logger:        logger.With("component", "page"),
		Catalog:       a.catalog,
		Store:         st,
		Boards:        a.board,
		Checks:        a.checkInfos,
		ResponseTimed: a.responseTimed,
		ExternalURL:   external,
		Version:       version.Version,
		ChecksGuarded: webConfigAuthenticates(opts.WebConfigFile),
		Authorize: func(r *http.Request) error {
			switch _, ok := a.auth.Check(r, store.ScopeRead); {
			case ok, a.admin != nil && a.admin.LoggedIn(r):
				return nil
			case !a.auth.Loaded():
				return page.ErrTokensUnknown
			}
			return errors.New("no read token")
		},
	}
	popts.Subscriptions = subscriptions
	a.pages = page.New(popts)
	a.pages.Use(theme)
	// A database that answers at once (a local SQLite file, a PostgreSQL
	// that is up) is ready before the first check runs, so that restored
	// results and heartbeats answer from the first second.
	if err := a.connectAtStart(ctx); err != nil {
		return nil, err
	}
	a.reloadOK.Set(1)
	a.reloadSuccess.SetToCurrentTime()

	var reload func(context.Context) error
	if opts.EnableLifecycle {
		reload = a.Reload
	}
	a.admin, err = admin.New(admin.Options{
		Logger:        logger.With("component", "admin"),
		Store:         st,
		Operator:      operator{a.evaluator, st},
		Subscriptions: subscriptions,
		Boards:        a.board,
		Checks:        a.checkInfos,
		ExternalURL:   external,
		Location:      cfg.Site.Location(),
		Registerer:    a.registry,
		Refresh:       a.board.Refresh,
	})
	if err != nil {
		return nil, err
	}
	handler, err := web.Handler(web.Options{
		Logger:       logger.With("component", "web"),
		Checks:       a.exporter,
		Board:        a.board,
		History:      st,
		Gatherer:     a.registry,
		Registerer:   a.registry,
		CheckMetrics: a.writeCheckMetrics,
		Reload:       reload,
		Fresh: func() string {
			a.reloadMu.Lock()
			defer a.reloadMu.Unlock()
			return a.fresh
		},
		ExternalURL: external,
		Version:     version.Version,
		Pages:       a.pages,
		Auth:        a.auth,
		Alerts:      a.evaluator,
		Cluster:     a.cluster,
		Operator:    operator{a.evaluator, st},
		Admin:       a.admin,
		Downtime:    st,
	})
	if err != nil {
		return nil, err
	}
	a.server = &http.Server{
		Handler:           conns.Middleware(handler),
		ReadTimeout:       limits.ReadTimeout,
		ReadHeaderTimeout: limits.ReadHeaderTimeout,
		WriteTimeout:      limits.WriteTimeout,
		IdleTimeout:       limits.IdleTimeout,
		MaxHeaderBytes:    limits.MaxHeaderBytes,
		ConnState:         conns.ConnState,
		ConnContext:       conns.ConnContext,
		ErrorLog:          slog.NewLogLogger(logger.With("component", "web").Handler(), slog.LevelDebug),
	}
	return a, nil
}

// applyReceivers builds the receivers' integrations for the notifier.
func (a *App) applyReceivers(cfg *config.Config) error {
	receivers, subs, err := a.buildReceivers(cfg)
	if err != nil {
		return err
	}
	a.notifier.SetReceivers(receivers, integrations.Policy(cfg))
	a.notifier.SetSubscribers(subs)
	return nil
}

// buildReceivers builds the config's receivers and the subscribers'.
func (a *App) buildReceivers(cfg *config.Config) ([]notifier.Receiver, notifier.Subscribers, error) {
	receivers, err := integrations.Build(cfg, a.store)
	if err != nil {
		return nil, nil, err
	}
	subs, err := integrations.Subscribers(cfg, a.store, a.catalog, a.pageURL)
	if err != nil {
		return nil, nil, err
	}
	return receivers, subs, nil
}

// writeCheckMetrics writes the per-check families: the exporter's and the
// evaluated level.
func (a *App) writeCheckMetrics(w *exposition.Writer) {
	a.exporter.WriteMetrics(w)
	a.evaluator.WriteMetrics(w)
}

// restore seeds the exporter with what the store remembers, so the API and
// heartbeat checks are right from the first second after a restart (or as
// soon as the database answers): the latest result of checks that have not
// run yet, and heartbeats newer than those received meanwhile.
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
	// Heartbeat checks that ran before the reports were known run again.
	a.exporter.LoadHeartbeats(ctx, hb)
	return nil
}

// Retry bounds for connecting to the database.
const (
	connectRetryFirst   = 500 * time.Millisecond
	connectRetryLongest = 30 * time.Second
	// storePingEvery is how often statusd_store_up is refreshed once the
	// store is ready.
	storePingEvery = 10 * time.Second
)

// startConnectTimeout bounds the attempt to connect at start; past it,
// statusd starts without its database and goes on trying in the
// background.
const startConnectTimeout = time.Second

// connectAtStart makes one quick attempt to get the store ready.
func (a *App) connectAtStart(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, startConnectTimeout)
	defer cancel()
	ran, err := a.connect(cctx)
	var fatal *migrationError
	switch {
	case errors.As(err, &fatal):
		return err
	case err != nil:
		// The checks run meanwhile, all of them, since this member
		// cannot tell which are its own. watchStore retries and says so.
		a.cluster.Settle()
		return nil
	}
	a.storeReady(ctx, ran, time.Time{})
	return nil
}

// storeReady notes that the store is connected and migrated, restores
// what it remembers and lets the recorder write.
func (a *App) storeReady(ctx context.Context, ran []store.Migration, waitingSince time.Time) {
	a.storeUp.Set(1)
	args := []any{"store", a.store.String(), "migrations_applied", len(ran)}
	if !waitingSince.IsZero() {
		args = append(args, "waited", time.Since(waitingSince).Round(time.Second))
	}
	a.logger.Info("Store ready", args...)
	if users, err := a.store.Users(ctx); err == nil && len(users) == 0 {
		a.logger.Info("No user yet: /admin stays closed until one is added with `statusd user add NAME`")
	}
	if err := a.restore(ctx); err != nil {
		a.logger.Warn("Could not restore the last results from the store", "err", err)
	}
	close(a.ready)
}

// watchStore connects to the database and migrates it, retrying with
// backoff while it is away, then restores what it remembers and lets the
// recorder write. It logs once when the database is away at start, at most
// once a minute while it stays away, and once when it is ready. A database
// that answers but cannot be migrated (edited migrations, a newer schema)
// is an error that stops statusd. Afterwards it keeps statusd_store_up
// current.
func (a *App) watchStore(ctx context.Context) error {
	wait := connectRetryFirst
	var since, logged time.Time
	for !a.isReady() {
		ran, err := a.connect(ctx)
		if err == nil {
			a.storeReady(ctx, ran, since)
			break
		}
		a.storeUp.Set(0)
		var fatal *migrationError
		if errors.As(err, &fatal) {
			return err
		}
		now := time.Now()
		switch {
		case since.IsZero():
			since, logged = now, now
			a.logger.Warn("The database does not answer; checks, /metrics and the API run without it, and history waits in memory",
				"store", a.store.String(), "err", err)
		case now.Sub(logged) >= time.Minute:
			logged = now
			a.logger.Warn("The database still does not answer", "store", a.store.String(), "for", now.Sub(since).Round(time.Second), "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, connectRetryLongest)
	}

	tick := time.NewTicker(storePingEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := a.store.Ping(pctx)
			cancel()
			// A database that answers but refuses writes (a full disk)
			// stays down: the ping must not flip it up between two
			// failed writes.
			failing, _ := a.recorder.WriteHealth()
			a.storeUp.Set(boolGauge(err == nil && failing.IsZero()))
		}
	}
}

// isReady tells whether the store is connected and migrated.
func (a *App) isReady() bool {
	select {
	case <-a.ready:
		return true
	default:
		return false
	}
}

// migrationError is a database that answers but cannot be migrated.
type migrationError struct{ err error }

func (e *migrationError) Error() string { return e.err.Error() }
func (e *migrationError) Unwrap() error { return e.err }

// connect pings and migrates the store.
func (a *App) connect(ctx context.Context) ([]store.Migration, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := a.store.Ping(cctx); err != nil {
		return nil, err
	}
	ran, err := a.store.Migrate(cctx)
	if err == nil {
		return ran, nil
	}
	// A database that went away mid-way is retried; one that answers
	// and still cannot be migrated is not.
	if a.store.Ping(cctx) != nil {
		return nil, err
	}
	return nil, &migrationError{fmt.Errorf("%s: %w", a.store, err)}
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
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
// requests, running checks end, the last results are evaluated, what waits
// is notified, and queued history is written. A component that fails
// (the web server cannot serve, the database cannot be migrated) shuts
// the daemon down too, and Run returns its error.
func (a *App) Run(ctx context.Context) error {
	defer a.store.Close()
	return runComponents(ctx, a.logger, a.components())
}

// components are the daemon's parts in the order they start; they stop in
// the reverse order, each once the one after it has returned: the web
// server first, then the checks, whose last results the evaluator still
// evaluates, whose decisions the notifier still sends, and the recorder
// last, which writes what all of them left.
func (a *App) components() []component {
	comps := []component{
		{"recorder", func(ctx context.Context) error { a.recorder.Run(ctx); return nil }},
		{"auth", func(ctx context.Context) error {
			select {
			case <-a.ready:
				a.auth.Run(ctx)
			case <-ctx.Done():
			}
			return nil
		}},
		{"pages", func(ctx context.Context) error { a.pages.Run(ctx); return nil }},
		{"board", func(ctx context.Context) error { a.board.Run(ctx, a.ready); return nil }},
		{"store", a.watchStore},
		{"cluster", func(ctx context.Context) error { a.cluster.Run(ctx); return nil }},
	}
	if a.sharing != nil {
		// Replicas read one another's results and heartbeats; alone, it
		// has them all.
		comps = append(comps, component{"sharing", func(ctx context.Context) error { a.sharing.Run(ctx); return nil }})
	}
	return append(comps, []component{
		{"notifier", func(ctx context.Context) error { a.notifier.Run(ctx); return nil }},
		{"evaluator", func(ctx context.Context) error { a.evaluator.Run(ctx); return nil }},
		{"exporter", func(ctx context.Context) error {
			// Once it knows which checks are its own.
			select {
			case <-a.cluster.Settled():
			case <-ctx.Done():
			}
			a.exporter.Run(ctx)
			return nil
		}},
		{"web", a.serve},
	}...)
}

// serve runs the web server until ctx ends, then lets the requests in
// progress finish.
func (a *App) serve(ctx context.Context) error {
	served := make(chan error, 1)
	go func() {
		flags := &toolkit.FlagConfig{WebConfigFile: &a.opts.WebConfigFile, WebListenAddresses: &a.opts.ListenAddresses}
		served <- toolkit.ServeMultiple(a.listeners, a.server, flags, a.logger.With("component", "web"))
	}()
	select {
	case err := <-served:
		return err // it could not serve: statusd stops
	case <-ctx.Done():
	}
	a.logger.Info("Shutting down")
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := a.server.Shutdown(shutCtx); err != nil {
		a.logger.Warn("Web server did not stop cleanly", "err", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (a *App) closeListeners() {
	for _, l := range a.listeners {
		l.Close()
	}
}

// Reload reads the config file again and applies it when it is valid; an
// invalid or unreadable one changes nothing (the built-in config is only
// ever used at start, when there is no file). The outcome is in the
// statusd_config_last_reload_* metrics, the log and the error.
func (a *App) Reload(ctx context.Context) error {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	// A reload reads the file, never the built-in config: a file that
	// went missing is a failed reload, and the running config stays.
	cfg, err := config.Load(a.opts.ConfigFile, config.OSEnv())
	var receivers []notifier.Receiver
	var subs notifier.Subscribers
	if err == nil {
		receivers, subs, err = a.buildReceivers(cfg)
	}
	var theme *page.Theme
	if err == nil {
		theme, err = page.ThemeOf(cfg, nil)
	}
	if err == nil {
		err = a.exporter.Apply(cfg)
	}
	if err != nil {
		a.reloadOK.Set(0)
		a.logger.Error("Config not reloaded; keeping the running one", "file", a.opts.ConfigFile, "err", err)
		return err
	}
	a.fresh = cfg.API.Fresh
	a.notifier.SetReceivers(receivers, integrations.Policy(cfg))
	a.notifier.SetSubscribers(subs)
	a.pages.Use(theme)
	a.evaluator.Apply(cfg)
	if err := a.evaluator.Sync(ctx); err != nil {
		a.logger.Warn("Cannot write the config's services to the store; they are written at the next reload or restart", "err", err)
	}
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
		Notifications:   time.Duration(r.Notifications),
	}
}

// operator is what the write API writes through (the evaluator) and reads
// the audit log from (the store).
type operator struct {
	*evaluator.Evaluator
	store *store.Store
}

func (o operator) Audit(ctx context.Context, q store.AuditQuery) ([]store.AuditEntry, error) {
	return o.store.Audit(ctx, q)
}
