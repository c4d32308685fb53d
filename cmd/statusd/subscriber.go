package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/alecthomas/kingpin/v2"

	"github.com/statusd/statusd/internal/store"
	"github.com/statusd/statusd/web/admin"
)

// addSubscriber is `statusd subscriber list|export|remove`: visitors'
// subscriptions, as operators see them.
func (c *cli) addSubscriber(a *kingpin.Application) {
	group := a.Command("subscriber", "Visitors subscribed to incidents and maintenance by e-mail or webhook.")
	list := func(ctx context.Context, export bool) error {
		o, err := c.open(ctx, opening{config: true, store: true})
		if err != nil {
			return err
		}
		defer o.Close()
		subs, err := o.store.Subscribers(ctx)
		if err != nil {
			return err
		}
		if export {
			return admin.WriteSubscribersCSV(c.stdout, subs)
		}
		loc := o.cfg.Site.Location()
		rows := make([][]string, len(subs))
		for i, s := range subs {
			services, since := "all", "waiting"
			if !s.AllServices {
				services = strings.Join(s.Services, ",")
			}
			if s.Confirmed() {
				since = s.ConfirmedAt.Time.In(loc).Format(listTime)
			}
			rows[i] = []string{strconv.FormatInt(s.ID, 10), s.Kind, s.Address, s.Language, services, since}
		}
		printTable(c.stdout, "no subscribers", []string{"ID", "KIND", "ADDRESS", "LANGUAGE", "SERVICES", "CONFIRMED"}, rows)
		return nil
	}
	c.command(group, "list", "List the subscribers, confirmed or waiting.", func(ctx context.Context) error { return list(ctx, false) })
	c.command(group, "export", "Write the subscribers as CSV.", func(ctx context.Context) error { return list(ctx, true) })
	var id int64
	c.command(group, "remove", "Remove a subscriber: nothing more is sent to them.", func(ctx context.Context) error {
		o, err := c.open(ctx, opening{config: true, store: true})
		if err != nil {
			return err
		}
		defer o.Close()
		e, err := o.evaluator(ctx, nil)
		if err != nil {
			return err
		}
		err = e.RemoveSubscriber(ctx, cliActor(), id)
		if errors.Is(err, store.ErrNoSubscriber) {
			return fmt.Errorf("no subscriber %d (statusd subscriber list shows them)", id)
		}
		if err == nil {
			fmt.Fprintf(c.stdout, "subscriber %d removed\n", id)
		}
		return err
	}).Arg("id", "The subscriber's id (statusd subscriber list).").Required().Int64Var(&id)
}
