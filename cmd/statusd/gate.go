package main

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/statusd/statusd/downtime"
	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/i18n"
	"github.com/statusd/statusd/web"
)

// gateFlags are the flags of `statusd gate`.
type gateFlags struct {
	upstream string
	listen   string
	server   string
}

func (c *cli) addGate(a *kingpin.Application) {
	var f gateFlags
	cmd := c.command(a, "gate", "Serve a web application through a reverse proxy that shows the down page during downtime (the config's downtime section).", func(ctx context.Context) error {
		return c.gate(ctx, f)
	})
	cmd.Flag("upstream", "The application, e.g. http://127.0.0.1:8000.").Required().StringVar(&f.upstream)
	cmd.Flag("web.listen-address", "Where the gate listens.").Default(":8081").StringVar(&f.listen)
	cmd.Flag("server", "Follow the downtime of a statusd over its API (http(s)://host:port) instead of the database.").StringVar(&f.server)
}

// gate runs `statusd gate` until ctx ends.
func (c *cli) gate(ctx context.Context, f gateFlags) error {
	upstream, err := url.Parse(f.upstream)
	if err != nil || (upstream.Scheme != "http" && upstream.Scheme != "https") || upstream.Host == "" {
		return usageError{fmt.Errorf("--upstream %q: give http(s)://host:port", f.upstream)}
	}
	cfg, _, err := config.LoadOrBuiltin(c.configFile, config.OSEnv())
	if err != nil {
		return usageError{err}
	}
	opts, err := gateOptions(cfg)
	if err != nil {
		return usageError{err}
	}
	var source downtime.Source
	if f.server != "" {
		source = downtime.Remote(f.server, &http.Client{Timeout: 5 * time.Second})
	} else {
		o, err := c.open(ctx, opening{store: true})
		if err != nil {
			return err
		}
		defer o.Close()
		st := o.store
		source = downtime.SourceFunc(func(ctx context.Context) (downtime.State, error) {
			ps, err := st.DowntimePeriods(ctx, time.Now())
			return web.DowntimeState(ps), err
		})
		// A logged-in statusd admin (same site, same database) passes.
		opts.Bypass = func(r *http.Request) bool {
			for _, name := range []string{"__Host-statusd_session", "statusd_session"} {
				// Only a cookie that can be a session id (32 random bytes,
				// base64url) costs a database read.
				if ck, err := r.Cookie(name); err == nil && len(ck.Value) == 43 {
					if _, err := st.Session(r.Context(), ck.Value, time.Now()); err == nil {
						return true
					}
				}
			}
			return false
		}
	}
	watcher := downtime.Watch(ctx, source, downtime.WatchOptions{Logger: c.logger.With("component", "downtime")})
	logger := c.logger.With("component", "gate")
	opts.Logger = logger
	var current atomic.Pointer[http.Handler]
	gate := downtime.NewGate(upstream, watcher, opts)
	current.Store(&gate)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*current.Load()).ServeHTTP(w, r) })
	// SIGHUP reads the config's downtime section again; a broken one
	// keeps the running gate.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
			}
			cfg, _, err := config.LoadOrBuiltin(c.configFile, config.OSEnv())
			var next downtime.GateOptions
			if err == nil {
				next, err = gateOptions(cfg)
			}
			if err != nil {
				logger.Error("Config not reloaded; the gate keeps the one it runs", "err", err)
				continue
			}
			next.Bypass, next.Logger = opts.Bypass, logger
			g := downtime.NewGate(upstream, watcher, next)
			current.Store(&g)
			logger.Info("Config reloaded")
		}
	}()

	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", f.listen, err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	c.logger.Info("Listening on", "address", ln.Addr().String(), "upstream", upstream.Redacted(), "downtime_from", map[bool]string{true: f.server, false: "database"}[f.server != ""])
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil {
		return fmt.Errorf("stop the gate: %w", err)
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// gateOptions turns the config's downtime section into the gate's
// options.
func gateOptions(cfg *config.Config) (downtime.GateOptions, error) {
	d := cfg.Downtime
	allow, err := config.Prefixes(d.AllowNetworks)
	if err != nil {
		return downtime.GateOptions{}, err
	}
	proxies, err := config.Prefixes(d.TrustedProxies)
	if err != nil {
		return downtime.GateOptions{}, err
	}
	opts := downtime.GateOptions{UpstreamDown: d.UpstreamDown, Options: downtime.Options{
		ExemptExactURLs: d.ExemptExactURLs, ExemptPaths: d.ExemptPaths, AllowNetworks: allow, TrustedProxies: proxies,
		RedirectURL: d.RedirectURL, BypassCookie: d.Bypass.Cookie, BypassHeader: d.Bypass.Header, BypassSecret: string(d.Bypass.Secret),
		Texts: downTexts(i18n.MustLoad(), cfg.Site.Location()),
	}}
	if d.TemplateFile != "" {
		b, err := os.ReadFile(d.TemplateFile)
		if err != nil {
			return opts, fmt.Errorf("downtime.template_file: %w", err)
		}
		if opts.Template, err = template.New("down").Parse(string(b)); err != nil {
			return opts, fmt.Errorf("downtime.template_file: %w", err)
		}
	}
	return opts, nil
}

// downTexts are the down page's words in each visitor's language, its
// time in the site's zone.
func downTexts(cat *i18n.Catalog, loc *time.Location) func(*http.Request) downtime.PageTexts {
	return func(r *http.Request) downtime.PageTexts {
		l := cat.Match(r.Header.Get("Accept-Language"))
		return downtime.PageTexts{Lang: l.Code, Title: l.T("down.title"), BackBy: l.T("down.back_by"), BackSoon: l.T("down.back_soon"),
			Thanks: l.T("down.thanks"), Time: func(t time.Time) string { return l.DateTime(t.In(loc)) }}
	}
}
