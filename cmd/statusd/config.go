package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/alecthomas/kingpin/v2"

	"github.com/statusd/statusd/exporter"
	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/notifier/integrations"
	"github.com/statusd/statusd/web/page"
)

func (c *cli) addConfig(a *kingpin.Application) {
	var file string
	group := a.Command("config", "Work with the config file.")
	cmd := c.command(group, "check", "Validate a config file: exit 0 when valid, 1 with every problem listed.", func(context.Context) error {
		if file == "" {
			file = c.configFile
		}
		return c.checkConfig(file)
	})
	cmd.Arg("file", "Config file (default: --config.file).").StringVar(&file)
}

// checkConfig validates a config file as statusd would load it, checks,
// receivers and page templates included, and prints every problem.
func (c *cli) checkConfig(file string) error {
	cfg, err := config.Load(file, config.OSEnv())
	if err != nil {
		return err
	}
	e := exporter.New(exporter.Options{Logger: slog.New(slog.DiscardHandler)})
	if err := e.Apply(cfg); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if _, err := integrations.Build(cfg, nil); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if _, err := page.ThemeOf(cfg, nil); err != nil {
		return err
	}
	checks := 0
	cfg.Each(func(r string, ch *config.Check) {
		checks++
		for _, w := range ch.Warnings() {
			fmt.Fprintf(c.stdout, "%s: warning: %s check %s %s\n", file, ch.Kind, ch.ID(r), w)
		}
	})
	fmt.Fprintf(c.stdout, "%s: valid (%d resources, %d checks, %d services, %d receivers)\n", file, len(cfg.Resources), checks, len(cfg.Services), len(cfg.Receivers))
	return nil
}
