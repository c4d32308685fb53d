package app

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/statusd/statusd/exporter"
	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/notifier/integrations"
	"github.com/statusd/statusd/web/page"
)

// CheckConfig validates a config file as statusd would load it, checks
// included, and prints every problem. It returns 0 when the file is valid.
func CheckConfig(file string, stdout, stderr io.Writer) int {
	cfg, err := config.Load(file, config.OSEnv())
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	e := exporter.New(exporter.Options{Logger: slog.New(slog.DiscardHandler)})
	if err := e.Apply(cfg); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", file, err)
		return 1
	}
	if _, err := integrations.Build(cfg, nil); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", file, err)
		return 1
	}
	if _, err := page.Load(pageSettings(cfg), nil); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	checks := 0
	cfg.Each(func(r string, c *config.Check) {
		checks++
		if c.Heartbeat != nil && c.Heartbeat.Token == "" {
			fmt.Fprintf(stdout, "%s: warning: heartbeat check %s has no token: anyone who reaches statusd can report to it\n", file, c.ID(r))
		}
	})
	fmt.Fprintf(stdout, "%s: valid (%d resources, %d checks, %d services, %d receivers)\n", file, len(cfg.Resources), checks, len(cfg.Services), len(cfg.Receivers))
	return 0
}
