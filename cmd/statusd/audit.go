package main

import (
	"context"
	"strconv"

	"github.com/alecthomas/kingpin/v2"

	"github.com/statusd/statusd/internal/store"
)

// addAudit is `statusd audit`: the writes people and tokens made.
func (c *cli) addAudit(a *kingpin.Application) {
	var limit int
	cmd := c.command(a, "audit", "List the writes made from the admin, the API and the command line, newest first.", func(ctx context.Context) error {
		o, err := c.open(ctx, opening{config: true, store: true})
		if err != nil {
			return err
		}
		defer o.Close()
		entries, err := o.store.Audit(ctx, store.AuditQuery{Limit: limit})
		if err != nil {
			return err
		}
		loc := o.cfg.Site.Location()
		rows := make([][]string, len(entries))
		for i, e := range entries {
			rows[i] = []string{strconv.FormatInt(e.ID, 10), e.At.In(loc).Format(listTime), e.Actor, e.Via, e.Action, e.Target}
		}
		printTable(c.stdout, "nothing written yet", []string{"ID", "AT", "WHO", "VIA", "ACTION", "TARGET"}, rows)
		return nil
	})
	cmd.Flag("limit", "At most this many.").Default("50").IntVar(&limit)
}
