package main

import (
	"context"
	"fmt"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/statusd/statusd/internal/cluster"
	"github.com/statusd/statusd/internal/store"
)

func (c *cli) addCluster(a *kingpin.Application) {
	group := a.Command("cluster", "The statusd processes sharing this database.")
	c.command(group, "status", "List the members, live or gone in the last hour, and the checks each runs.", c.clusterStatus)
}

// clusterStatus runs `statusd cluster status`.
func (c *cli) clusterStatus(ctx context.Context) error {
	o, err := c.open(ctx, opening{store: true})
	if err != nil {
		return err
	}
	defer o.Close()
	members, err := o.store.Members(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	live := 0
	rows := make([][]string, len(members))
	for i, m := range members {
		state := "live"
		if !m.ExpiresAt.After(now) {
			state = "gone since " + m.ExpiresAt.UTC().Format(time.RFC3339)
		} else {
			live++
		}
		location := m.Location
		if location == "" {
			location = "-"
		}
		rows[i] = []string{m.ID, m.Address, location, m.Version, fmt.Sprint(m.Checks),
			m.StartedAt.UTC().Format(time.RFC3339), m.RenewedAt.UTC().Format(time.RFC3339), state}
	}
	printTable(c.stdout, "no members: no statusd has run on this database in the last hour",
		[]string{"MEMBER", "ADDRESS", "LOCATION", "VERSION", "CHECKS", "STARTED", "RENEWED", "STATE"}, rows)
	if len(members) == 0 {
		return nil
	}
	fmt.Fprintf(c.stdout, "%d live member(s) on %s\n", live, o.store)
	if o.store.Dialect() != store.Postgres {
		// One statusd per SQLite file: it leads, with no lease to take.
		fmt.Fprintln(c.stdout, "leader: the statusd running on this file (SQLite is one process)")
		return nil
	}
	switch l, ok, err := o.store.Lease(ctx, cluster.LeaderLease); {
	case err != nil:
		return err
	case !ok:
		fmt.Fprintln(c.stdout, "leader: none")
	case !l.ExpiresAt.After(now):
		fmt.Fprintf(c.stdout, "leader: none (%s's lease ended at %s)\n", l.Holder, l.ExpiresAt.UTC().Format(time.RFC3339))
	default:
		fmt.Fprintf(c.stdout, "leader: %s, since %s\n", l.Holder, l.AcquiredAt.UTC().Format(time.RFC3339))
	}
	return nil
}
