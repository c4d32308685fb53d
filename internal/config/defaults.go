package config

import (
	"time"

	"github.com/alecthomas/units"
	"github.com/prometheus/common/model"
)

// Every default lives in this file.
const (
	DefaultInterval       = model.Duration(30 * time.Second)
	DefaultTimeout        = model.Duration(10 * time.Second)
	DefaultMaxConcurrency = 512
	// DefaultBodySizeLimit is how much of a response body an http check
	// reads.
	DefaultBodySizeLimit = units.MiB

	day = model.Duration(24 * time.Hour)
)

func (c *Config) applyDefaults() {
	if c.Site.Name == "" {
		c.Site.Name = "statusd"
	}
	if c.Site.Timezone == "" {
		c.Site.Timezone = "UTC"
	}
	setDuration(&c.Defaults.Interval, DefaultInterval)
	setDuration(&c.Defaults.Timeout, DefaultTimeout)
	if c.Defaults.FailureThreshold == 0 {
		c.Defaults.FailureThreshold = DefaultFailureThreshold
	}
	if c.Defaults.SuccessThreshold == 0 {
		c.Defaults.SuccessThreshold = DefaultSuccessThreshold
	}
	setString(&c.API.Fresh, FreshToken)
	setDuration(&c.API.FreshMinInterval, model.Duration(5*time.Second))
	setDuration(&c.Incidents.NoteInterval, model.Duration(15*time.Minute))
	if c.Scheduler.MaxConcurrency == 0 {
		c.Scheduler.MaxConcurrency = DefaultMaxConcurrency
	}
	if c.Storage.ResultsInterval == nil {
		every := model.Duration(time.Minute)
		c.Storage.ResultsInterval = &every
	}
	r := &c.Storage.Retention
	setDuration(&r.Results, 7*day)
	if r.ResultsPerCheck == 0 {
		r.ResultsPerCheck = 1000
	}
	setDuration(&r.Minute, 2*day)
	setDuration(&r.Hour, 90*day)
	setDuration(&r.Day, 730*day)
	setDuration(&r.Heartbeats, 30*day)
	setDuration(&r.Notifications, 30*day)

	c.Each(func(_ string, ch *Check) {
		ch.applyDefaults(c.Defaults)
		ch.applyNotifyDefaults(c.Defaults)
	})
	c.applyNotifyDefaults()
	c.applyPageDefaults()
	c.applySubscriptionDefaults()
}

func (ch *Check) applyDefaults(d Defaults) {
	setDuration(&ch.Interval, d.Interval)
	if ch.Timeout == 0 {
		// A timeout must end before the next run is due.
		ch.Timeout = min(d.Timeout, ch.Interval*4/5)
	}
	if opts := ch.options(); opts != nil {
		opts.fillDefaults()
	}
}

func setDuration(d *model.Duration, def model.Duration) {
	if *d == 0 {
		*d = def
	}
}

func setString(s *string, def string) {
	if *s == "" {
		*s = def
	}
}
