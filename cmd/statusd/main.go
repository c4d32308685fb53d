// Command statusd watches a production system and tells people about it.
// This file holds the flags and subcommands only; internal/app does the
// work.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"
	"github.com/redis/go-redis/v9"
	"golang.org/x/term"

	"github.com/statusd/statusd/exporter/probe"
	"github.com/statusd/statusd/internal/app"
	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if version.Version == "" {
		version.Version = "dev"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			version.Version = bi.Main.Version
		}
	}
	a := kingpin.New("statusd", "Watches a production system and tells people about it: checks, monitors, notifications and a status page, Prometheus-native.")
	a.UsageWriter(stdout)
	a.ErrorWriter(stderr)
	a.HelpFlag.Short('h')
	a.Version(version.Print("statusd"))
	logConfig := &promslog.Config{Writer: stderr}
	promslogflag.AddFlags(a, logConfig)
	configFile := a.Flag("config.file", "statusd configuration file; when the default is missing, a built-in config that watches statusd itself is used.").
		Default(config.DefaultFile).String()
	storageDSN := a.Flag("storage.dsn", "Database: postgres://… for PostgreSQL, sqlite:PATH for SQLite (default: SQLite file "+store.DefaultSQLitePath+").").
		Envar("STATUSD_STORAGE_DSN").String()

	serve := a.Command("serve", "Run the daemon (default).").Default()
	webFlags := kingpinflag.AddFlags(serve, ":9799")
	externalURL := serve.Flag("web.external-url", "The URL under which statusd is reached, for absolute links.").String()
	lifecycle := serve.Flag("web.enable-lifecycle", "Allow POST /-/reload.").Bool()

	check := a.Command("check", "Run checks once and print their results; no server needed.")
	selection := check.Arg("selection", "RESOURCE [CHECK...]; everything when empty.").Strings()
	exitCode := check.Flag("exit-code", "Exit 1 when a check is at problem.").Short('e').Bool()
	output := check.Flag("output", "Output format: text, json or yaml.").Short('o').Default("text").Enum("text", "json", "yaml")

	configCmd := a.Command("config", "Work with the config file.")
	configCheck := configCmd.Command("check", "Validate a config file: exit 0 when valid, 1 with every problem listed.")
	configCheckFile := configCheck.Arg("file", "Config file (default: --config.file).").String()

	serviceCmd := a.Command("service", "Set or clear a service's status by hand.")
	serviceSet := serviceCmd.Command("set", "Set a service's status; it wins over the service's checks until cleared.")
	setName := serviceSet.Arg("name", "Service name, as in the config.").Required().String()
	setStatus := serviceSet.Arg("status", "operational, degraded, partial_outage or major_outage.").Required().
		Enum("operational", "degraded", "partial_outage", "major_outage")
	setReason := serviceSet.Flag("reason", "Why, for the service's history.").String()
	serviceClear := serviceCmd.Command("clear", "Clear a service's status set by hand: its checks give it again.")
	clearName := serviceClear.Arg("name", "Service name.").Required().String()

	notifyCmd := a.Command("notify", "One round of notifications, for cron: decided on the stored state, written to the outbox.")
	notifyInstant := notifyCmd.Command("instant", "Run the checks notified instantly once and notify what they decide.")
	instantDry := notifyInstant.Flag("dry-run", "Print what would be notified, per receiver; change nothing.").Bool()
	notifyDigest := notifyCmd.Command("digest", "Write every receiver's digest: its checks at problem, then at warning, and the open incidents.")
	digestDry := notifyDigest.Flag("dry-run", "Print the digests; change nothing.").Bool()
	notifyTest := notifyCmd.Command("test", "Send a test message through each integration of a receiver, now.")
	testReceiver := notifyTest.Arg("receiver", "Receiver name, as in the config.").Required().String()

	states := []string{"investigating", "identified", "monitoring", "resolved"}
	incidentCmd := a.Command("incident", "Post incidents on the status page.")
	incidentOpen := incidentCmd.Command("open", "Open an incident.")
	var inc app.IncidentOptions
	incidentOpen.Flag("title", "What visitors read, e.g. \"Payments are slow\".").Required().StringVar(&inc.Title)
	incidentOpen.Flag("service", "A service the incident affects (repeatable).").StringsVar(&inc.Services)
	openState := incidentOpen.Flag("state", "State of the first update.").Default("investigating").Enum(states...)
	openMsg := incidentOpen.Flag("message", "The first update's text.").String()
	incidentUpdate := incidentCmd.Command("update", "Add an update to an incident.")
	updateID := incidentUpdate.Arg("id", "Incident id (statusd incident list).").Required().Int64()
	updateState := incidentUpdate.Flag("state", "The incident's new state.").Required().Enum(states...)
	updateMsg := incidentUpdate.Flag("message", "What changed.").Required().String()
	incidentResolve := incidentCmd.Command("resolve", "Resolve an incident.")
	resolveID := incidentResolve.Arg("id", "Incident id.").Required().Int64()
	resolveMsg := incidentResolve.Flag("message", "The last update's text.").String()
	incidentList := incidentCmd.Command("list", "List incidents, newest first.")
	listState := incidentList.Flag("state", "open or closed (default: both).").Enum("open", "closed")
	listLimit := incidentList.Flag("limit", "At most this many.").Default("20").Int()

	maintCmd := a.Command("maintenance", "Announce maintenance windows on the status page.")
	maintAdd := maintCmd.Command("add", "Schedule a maintenance window; its services are in maintenance while it lasts, and notifications about them are held.")
	var maint app.MaintenanceOptions
	maintAdd.Flag("title", "What visitors read.").Required().StringVar(&maint.Title)
	maintAdd.Flag("start", "Start: now, +DURATION, RFC 3339 or \"2026-12-05 22:00\" in the site's time zone.").Required().StringVar(&maint.Start)
	maintAdd.Flag("end", "End (same forms); without one the window lasts until cancelled.").StringVar(&maint.End)
	maintAdd.Flag("service", "A service in maintenance (repeatable).").StringsVar(&maint.Services)
	maintAdd.Flag("description", "Details for visitors.").StringVar(&maint.Description)
	maintList := maintCmd.Command("list", "List the windows ahead or in progress.")
	maintCancel := maintCmd.Command("cancel", "Remove a maintenance window.")
	cancelID := maintCancel.Arg("id", "Window id (statusd maintenance list).").Required().Int64()

	tokenCmd := a.Command("token", "API tokens for the write routes (Alertmanager's intake) and the checks dashboard.")
	tokenAdd := tokenCmd.Command("add", "Create a token and print it once; only its hash is stored.")
	tokenAddName := tokenAdd.Arg("name", "Who or what uses it, e.g. alertmanager.").Required().String()
	tokenScope := tokenAdd.Flag("scope", "read (the checks dashboard) or write (also the write routes).").Default("write").Enum("read", "write")
	tokenList := tokenCmd.Command("list", "List the tokens, with when each was last used.")
	tokenRevoke := tokenCmd.Command("revoke", "Revoke a token.")
	tokenRevokeName := tokenRevoke.Arg("name", "Token name.").Required().String()

	migrate := a.Command("migrate", "Apply the database schema migrations and exit.")
	versionCmd := a.Command("version", "Print the version.")

	cmd, err := a.Parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "statusd: %v (see statusd --help)\n", err)
		return app.ExitUsage
	}
	logger := promslog.New(logConfig)
	// go-redis has one logger per process; route it to ours.
	redis.SetLogger(probe.RedisLogger{Logger: logger})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	switch cmd {
	case serve.FullCommand():
		return runServe(ctx, app.Options{
			ConfigFile:      *configFile,
			StorageDSN:      *storageDSN,
			ListenAddresses: *webFlags.WebListenAddresses,
			WebConfigFile:   *webFlags.WebConfigFile,
			ExternalURL:     *externalURL,
			EnableLifecycle: *lifecycle,
			Logger:          logger,
		}, *webFlags.WebSystemdSocket, stderr)
	case check.FullCommand():
		color := false
		if f, ok := stdout.(*os.File); ok {
			color = term.IsTerminal(int(f.Fd())) && os.Getenv("NO_COLOR") == ""
		}
		return app.CheckOnce(ctx, app.CheckOptions{
			ConfigFile: *configFile,
			StorageDSN: *storageDSN,
			Selection:  *selection,
			ExitCode:   *exitCode,
			Output:     *output,
			Color:      color,
			Logger:     logger,
		}, stdout, stderr)
	case configCheck.FullCommand():
		file := *configCheckFile
		if file == "" {
			file = *configFile
		}
		return app.CheckConfig(file, stdout, stderr)
	case serviceSet.FullCommand(), serviceClear.FullCommand():
		opts := app.OneShotOptions{ConfigFile: *configFile, StorageDSN: *storageDSN, Logger: logger}
		if cmd == serviceClear.FullCommand() {
			return app.ServiceCommand(ctx, *clearName, nil, "", opts, stdout, stderr)
		}
		st, _ := status.ParseServiceStatus(*setStatus)
		return app.ServiceCommand(ctx, *setName, &st, *setReason, opts, stdout, stderr)
	case notifyInstant.FullCommand():
		return app.NotifyOnce(ctx, "instant", app.OneShotOptions{ConfigFile: *configFile, StorageDSN: *storageDSN, DryRun: *instantDry, Logger: logger}, stdout, stderr)
	case notifyDigest.FullCommand():
		return app.NotifyOnce(ctx, "digest", app.OneShotOptions{ConfigFile: *configFile, StorageDSN: *storageDSN, DryRun: *digestDry, Logger: logger}, stdout, stderr)
	case notifyTest.FullCommand():
		return app.NotifyTest(ctx, *testReceiver, app.OneShotOptions{ConfigFile: *configFile, Logger: logger}, stdout, stderr)
	case incidentOpen.FullCommand(), incidentUpdate.FullCommand(), incidentResolve.FullCommand(), incidentList.FullCommand():
		inc.OneShotOptions = app.OneShotOptions{ConfigFile: *configFile, StorageDSN: *storageDSN, Logger: logger}
		var id int64
		action := cmd[len("incident "):]
		switch cmd {
		case incidentOpen.FullCommand():
			inc.State, inc.Message = *openState, *openMsg
		case incidentUpdate.FullCommand():
			id, inc.State, inc.Message = *updateID, *updateState, *updateMsg
		case incidentResolve.FullCommand():
			id, inc.Message = *resolveID, *resolveMsg
		case incidentList.FullCommand():
			inc.State, inc.Limit = *listState, *listLimit
		}
		return app.IncidentCommand(ctx, action, id, inc, stdout, stderr)
	case maintAdd.FullCommand(), maintList.FullCommand(), maintCancel.FullCommand():
		maint.OneShotOptions = app.OneShotOptions{ConfigFile: *configFile, StorageDSN: *storageDSN, Logger: logger}
		return app.MaintenanceCommand(ctx, cmd[len("maintenance "):], *cancelID, maint, stdout, stderr)
	case tokenAdd.FullCommand():
		return app.TokenCommand(ctx, "add", *tokenAddName, *tokenScope, *storageDSN, stdout, stderr)
	case tokenList.FullCommand():
		return app.TokenCommand(ctx, "list", "", "", *storageDSN, stdout, stderr)
	case tokenRevoke.FullCommand():
		return app.TokenCommand(ctx, "revoke", *tokenRevokeName, "", *storageDSN, stdout, stderr)
	case migrate.FullCommand():
		return runMigrate(ctx, *storageDSN, stdout, stderr)
	case versionCmd.FullCommand():
		fmt.Fprintln(stdout, version.Print("statusd"))
	}
	return 0
}

func runServe(ctx context.Context, opts app.Options, systemdSocket bool, stderr io.Writer) int {
	if systemdSocket {
		fmt.Fprintln(stderr, "statusd: --web.systemd-socket is not supported; use --web.listen-address")
		return app.ExitUsage
	}
	opts.Logger.Info("Starting statusd", "version", version.Info(), "build_context", version.BuildContext())
	a, err := app.New(ctx, opts)
	if err != nil {
		var cerr config.Errors
		if errors.As(err, &cerr) {
			fmt.Fprintln(stderr, cerr)
			opts.Logger.Error("Invalid config; not starting", "file", opts.ConfigFile)
		} else {
			opts.Logger.Error("Cannot start", "err", err)
		}
		return 1
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			_ = a.Reload() // logged and reported in metrics
		}
	}()
	if err := a.Run(ctx); err != nil {
		opts.Logger.Error("Stopped with an error", "err", err)
		return 1
	}
	return 0
}

func runMigrate(ctx context.Context, dsn string, stdout, stderr io.Writer) int {
	st, err := store.Open(ctx, dsn, store.Options{})
	if err != nil {
		fmt.Fprintf(stderr, "statusd migrate: %v\n", err)
		return 1
	}
	defer st.Close()
	ran, err := st.Migrate(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "statusd migrate: %s: %v\n", st, err)
		return 1
	}
	for _, m := range ran {
		fmt.Fprintf(stdout, "applied %04d_%s\n", m.Version, m.Name)
	}
	v, err := st.SchemaVersion(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "statusd migrate: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s is at schema version %d\n", st, v)
	return 0
}
