package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kingpin/v2"
	"github.com/alecthomas/units"
	"github.com/prometheus/common/version"
	toolkit "github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/statusd/statusd/app"
	"github.com/statusd/statusd/internal/cluster"
	"github.com/statusd/statusd/internal/config"
)

func (c *cli) addServe(a *kingpin.Application) {
	var opts app.Options
	var web *toolkit.FlagConfig
	var maxHeader units.Base2Bytes
	serve := c.command(a, "serve", "Run the daemon (default).", func(ctx context.Context) error {
		if *web.WebSystemdSocket {
			return usageError{errors.New("--web.systemd-socket is not supported; use --web.listen-address")}
		}
		opts.ConfigFile, opts.StorageDSN = c.configFile, c.storageDSN
		opts.ListenAddresses, opts.WebConfigFile = *web.WebListenAddresses, *web.WebConfigFile
		opts.Server.MaxHeaderBytes = int(maxHeader)
		return c.serve(ctx, opts)
	}).Default()
	web = kingpinflag.AddFlags(serve, ":9799")
	serve.Flag("web.external-url", "The URL under which statusd is reached, for absolute links.").StringVar(&opts.ExternalURL)
	serve.Flag("web.enable-lifecycle", "Allow POST /-/reload.").BoolVar(&opts.EnableLifecycle)
	d := app.DefaultServerLimits
	serve.Flag("web.read-timeout", "Maximum time to read a request, body included.").Default(d.ReadTimeout.String()).DurationVar(&opts.Server.ReadTimeout)
	serve.Flag("web.read-header-timeout", "Maximum time to read a request's header.").Default(d.ReadHeaderTimeout.String()).DurationVar(&opts.Server.ReadHeaderTimeout)
	serve.Flag("web.write-timeout", "Maximum time to write a response; keep it above the longest check timeout, for ?fresh=1.").Default(d.WriteTimeout.String()).DurationVar(&opts.Server.WriteTimeout)
	serve.Flag("web.idle-timeout", "Close a keep-alive connection idle this long.").Default(d.IdleTimeout.String()).DurationVar(&opts.Server.IdleTimeout)
	serve.Flag("web.max-header-bytes", "Maximum size of a request's header.").Default(units.Base2Bytes(d.MaxHeaderBytes).String()).BytesVar(&maxHeader)
	serve.Flag("cluster.member-id", "This process's id among the statusd processes sharing its database (default: host name and listening port).").StringVar(&opts.Cluster.MemberID)
	serve.Flag("cluster.advertise-address", "Where the other members and operators reach this one (default: host name and listening port).").StringVar(&opts.Cluster.AdvertiseAddress)
	serve.Flag("cluster.location", "Where this member runs (eu-west…), shown with it.").StringVar(&opts.Cluster.Location)
	serve.Flag("cluster.lease-duration", "How long a member counts as live after renewing its lease; it renews every third of it.").Default(cluster.DefaultLease.String()).DurationVar(&opts.Cluster.Lease)
	serve.Flag("web.max-connections", "Maximum connections held at once; at the limit the longest idle one is closed for a new one (default 512, or a quarter of the open files limit when lower).").IntVar(&opts.Server.MaxConnections)
}

// serve runs the daemon until ctx ends; SIGHUP reloads its config.
func (c *cli) serve(ctx context.Context, opts app.Options) error {
	opts.Logger = c.logger
	c.logger.Info("Starting statusd", "version", version.Info(), "build_context", version.BuildContext())
	a, err := app.New(ctx, opts)
	if err != nil {
		var cerr config.Errors
		if errors.As(err, &cerr) {
			c.logger.Error("Invalid config; not starting", "file", opts.ConfigFile)
			return err
		}
		c.logger.Error("Cannot start", "err", err)
		return exitCode(exitFailed)
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			_ = a.Reload(ctx) // logged and reported in metrics
		}
	}()
	if err := a.Run(ctx); err != nil {
		c.logger.Error("Stopped with an error", "err", err)
		return exitCode(exitFailed)
	}
	return nil
}
