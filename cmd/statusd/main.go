// Command statusd watches a production system and tells people about it.
//
// This package is the command line: main.go declares the global flags and
// runs the chosen command; each file declares one group of commands and
// runs them (serve.go the daemon, through package app; check.go, notify.go,
// content.go, token.go… the one-shot commands, which open what they need
// through open.go).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
	"github.com/redis/go-redis/v9"

	"github.com/statusd/statusd/exporter/probe"
	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/store"
)

// Exit codes, as django-status's `status health -e`.
const (
	exitOK     = 0
	exitFailed = 1 // the command failed; with check -e, a check is at problem
	exitUsage  = 2 // bad arguments or config
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// cli is one invocation: the global flags, where output goes, and the
// command to run.
type cli struct {
	stdout, stderr io.Writer
	logger         *slog.Logger
	// configFile and storageDSN are the global flags.
	configFile, storageDSN string
	// commands run each command by its full name ("incident open").
	commands map[string]func(ctx context.Context) error
}

// command declares a command whose run is called when it is chosen.
func (c *cli) command(parent interface {
	Command(name, help string) *kingpin.CmdClause
}, name, help string, run func(ctx context.Context) error) *kingpin.CmdClause {
	cmd := parent.Command(name, help)
	c.commands[cmd.FullCommand()] = run
	return cmd
}

// usageError is a mistake in what was asked (an unknown check, an invalid
// config for a one-shot command): exit 2.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// exitCode ends a command with a code, its output already written.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if version.Version == "" {
		version.Version = "dev"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			version.Version = bi.Main.Version
		}
	}
	c := &cli{stdout: stdout, stderr: stderr, commands: map[string]func(context.Context) error{}}
	a := kingpin.New("statusd", "Watches a production system and tells people about it: checks, monitors, notifications and a status page, Prometheus-native.")
	a.UsageWriter(stdout)
	a.ErrorWriter(stderr)
	a.HelpFlag.Short('h')
	a.Version(version.Print("statusd"))
	logConfig := &promslog.Config{Writer: stderr}
	promslogflag.AddFlags(a, logConfig)
	a.Flag("config.file", "statusd configuration file; when the default is missing, a built-in config that watches statusd itself is used.").
		Default(config.DefaultFile).StringVar(&c.configFile)
	a.Flag("storage.dsn", "Database: postgres://… for PostgreSQL, sqlite:PATH for SQLite (default: SQLite file "+store.DefaultSQLitePath+").").
		Envar("STATUSD_STORAGE_DSN").StringVar(&c.storageDSN)

	c.addServe(a)
	c.addCheck(a)
	c.addConfig(a)
	c.addService(a)
	c.addNotify(a)
	c.addIncident(a)
	c.addMaintenance(a)
	c.addToken(a)
	c.addUser(a)
	c.addAudit(a)
	c.addSubscriber(a)
	c.addDowntime(a)
	c.addGate(a)
	c.addCluster(a)
	c.command(a, "migrate", "Apply the database schema migrations and exit.", c.migrate)
	c.command(a, "version", "Print the version.", func(context.Context) error {
		fmt.Fprintln(stdout, version.Print("statusd"))
		return nil
	})

	cmd, err := a.Parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "statusd: %v (see statusd --help)\n", err)
		return exitUsage
	}
	c.logger = promslog.New(logConfig)
	// go-redis has one logger per process; route it to ours.
	redis.SetLogger(probe.RedisLogger{Logger: c.logger})
	return c.exit(cmd, c.commands[cmd](ctx))
}

// exit prints a command's error and returns its exit code. A config
// error is printed as it is: it names the file and line of each problem.
func (c *cli) exit(cmd string, err error) int {
	var code exitCode
	var cerr config.Errors
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &code):
		return int(code)
	case errors.As(err, &cerr):
		fmt.Fprintln(c.stderr, cerr)
	default:
		fmt.Fprintf(c.stderr, "statusd %s: %v\n", cmd, err)
	}
	if errors.As(err, new(usageError)) {
		return exitUsage
	}
	return exitFailed
}
