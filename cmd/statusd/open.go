package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/statusd/statusd/evaluator"
	"github.com/statusd/statusd/exporter"
	"github.com/statusd/statusd/exporter/probe"
	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/store"
	"github.com/statusd/statusd/notifier"
	"github.com/statusd/statusd/notifier/integrations"
)

// opening says what a one-shot command needs; open gives it.
type opening struct {
	// config loads the config file (the built-in one when the default
	// file is missing); an invalid config is a usage error.
	config bool
	// store opens and migrates the database.
	store bool
	// dryRun opens the database for a dry run instead: it must be
	// migrated already, and nothing is written (store.Options.DryRun).
	dryRun bool
	// readOnly opens the database read-only when it exists, and goes on
	// without it when it does not or does not answer.
	readOnly bool
}

// opened is what a one-shot command works on.
type opened struct {
	cli   *cli
	cfg   *config.Config
	store *store.Store // nil unless asked for (or, read-only, found)
}

// open loads what a command needs; Close releases it.
func (c *cli) open(ctx context.Context, what opening) (*opened, error) {
	o := &opened{cli: c}
	if what.config {
		cfg, _, err := config.LoadOrBuiltin(c.configFile, config.OSEnv())
		if err != nil {
			return nil, usageError{err}
		}
		o.cfg = cfg
	}
	var err error
	switch {
	case what.readOnly:
		o.store, err = store.Open(ctx, c.storageDSN, store.Options{ReadOnly: true, ConnectTimeout: 5 * time.Second})
		if err != nil {
			if !errors.Is(err, store.ErrNotExist) {
				c.logger.Debug("statusd's database is not available; heartbeat and storage checks will say so", "err", err)
			}
			o.store, err = nil, nil
		}
	case what.dryRun:
		o.store, err = store.Open(ctx, c.storageDSN, store.Options{DryRun: true})
		if err == nil {
			err = migrated(ctx, o.store)
		}
	case what.store:
		o.store, err = store.Open(ctx, c.storageDSN, store.Options{})
		if err == nil {
			if _, merr := o.store.Migrate(ctx); merr != nil {
				err = fmt.Errorf("%s: %w", o.store, merr)
			}
		}
	}
	if err != nil {
		o.Close()
		return nil, err
	}
	return o, nil
}

// migrated tells whether a database is at the schema this statusd wants.
func migrated(ctx context.Context, st *store.Store) error {
	ms, err := store.Migrations(st.Dialect())
	if err != nil {
		return err
	}
	v, err := st.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if want := ms[len(ms)-1].Version; v != want {
		return fmt.Errorf("%s is at schema version %d, not %d: run statusd migrate first", st, v, want)
	}
	return nil
}

// Close releases the store.
func (o *opened) Close() {
	if o.store != nil {
		o.store.Close()
	}
}

// evaluator returns an evaluator of the config on the store, its state
// loaded (which writes the config's services, so that incidents and
// maintenance windows can name them before the daemon ever ran). decided
// receives the notifications it writes.
func (o *opened) evaluator(ctx context.Context, decided func([]store.OutboxRow)) (*evaluator.Evaluator, error) {
	e := evaluator.New(evaluator.Options{Logger: o.cli.logger, Store: o.store, Decided: decided})
	e.Apply(o.cfg)
	if err := e.Load(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

// exporter returns an exporter of the config's checks, with the
// heartbeats the store holds; observers receive the results.
func (o *opened) exporter(ctx context.Context, observers ...exporter.Observer) (*exporter.Exporter, error) {
	opts := exporter.Options{
		Logger:    o.cli.logger,
		Build:     probe.ThisBuild(o.cli.logger.Enabled(ctx, slog.LevelDebug)),
		Observers: observers,
	}
	if o.store != nil {
		opts.Store = o.store
	}
	e := exporter.New(opts)
	if err := e.Apply(o.cfg); err != nil {
		return nil, usageError{err}
	}
	if o.store != nil {
		if hb, err := o.store.LastHeartbeats(ctx); err == nil {
			e.LoadHeartbeats(ctx, hb)
		}
	}
	return e, nil
}

// dispatcher returns a notifier for the config's receivers.
func (o *opened) dispatcher() (*notifier.Dispatcher, error) {
	receivers, err := integrations.Build(o.cfg, o.store)
	if err != nil {
		return nil, err
	}
	d := notifier.New(notifier.Options{Store: o.store, Logger: o.cli.logger})
	d.SetReceivers(receivers, integrations.Policy(o.cfg))
	return d, nil
}
