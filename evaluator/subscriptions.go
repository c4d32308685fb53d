package evaluator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/statusd/statusd/internal/content"
	"github.com/statusd/statusd/internal/message"
	"github.com/statusd/statusd/internal/store"
)

// ErrSubscriptionsOff is a request to subscribe in a way the config does
// not offer (subscriptions off, e-mail without smtp, webhooks off).
var ErrSubscriptionsOff = errors.New("this kind of subscription is off")

// subscriptions is the config's subscriptions, in the plan.
type subscriptions struct {
	email, webhook bool
	confirmWithin  time.Duration
}

// on tells whether subscribers may be told anything.
func (s subscriptions) on() bool { return s.email || s.webhook }

// Subscribe records a visitor's request and appends its confirmation
// link to the outbox, in one transaction; an address subscribed already
// gets nothing, and the caller cannot tell the difference.
func (e *Evaluator) Subscribe(ctx context.Context, in content.Subscribe) error {
	if err := in.Validate(); err != nil {
		return err
	}
	e.mu.Lock()
	subs, site := e.plan.subs, e.plan.site
	e.mu.Unlock()
	if (in.Kind == store.SubscribeEmail && !subs.email) || (in.Kind == store.SubscribeWebhook && !subs.webhook) {
		return ErrSubscriptionsOff
	}
	now := e.clock.Now()
	rows, err := e.updateQuietly(ctx, func(tx *store.Tx) error {
		var ids []int64
		if len(in.Services) > 0 {
			var err error
			if ids, err = tx.ServiceIDs(in.Services); err != nil {
				if errors.Is(err, store.ErrNoService) {
					return content.FieldErrors{"services": err.Error()}
				}
				return err
			}
		}
		sub, token, err := tx.Subscribe(store.Subscription{Kind: in.Kind, Address: in.Address, Language: in.Language,
			ServiceIDs: ids, ConfirmWithin: subs.confirmWithin}, now)
		if err != nil || token == "" {
			return err
		}
		m := message.Message{Version: message.Version, Kind: message.Confirm, Receiver: sub.Receiver(), Site: site, Time: now.UTC(),
			Confirmation: &message.Confirmation{Token: token, Expires: now.Add(subs.confirmWithin).UTC(), Address: sub.Address}}
		payload, err := json.Marshal(m)
		if err != nil {
			return err
		}
		_, err = tx.Enqueue(store.OutboxRow{Receiver: sub.Receiver(), Kind: string(message.Confirm),
			DedupKey: "confirm/" + store.HashToken(token)[:16], Topic: "subscription", Payload: string(payload)}, now)
		return err
	})
	e.tell(rows)
	return err
}

// Confirm confirms a subscription by its link.
func (e *Evaluator) Confirm(ctx context.Context, token string) (store.Subscriber, error) {
	var sub store.Subscriber
	err := e.store.Update(ctx, func(tx *store.Tx) error {
		var err error
		sub, err = tx.ConfirmSubscription(token, e.clock.Now())
		return err
	})
	return sub, err
}

// Unsubscribe removes the subscriber of a token; what it was not told yet
// is not sent.
func (e *Evaluator) Unsubscribe(ctx context.Context, token string) (store.Subscriber, error) {
	var sub store.Subscriber
	err := e.store.Update(ctx, func(tx *store.Tx) error {
		var err error
		sub, err = tx.Unsubscribe(token)
		return err
	})
	return sub, err
}

// Subscribers lists the subscribers.
func (e *Evaluator) Subscribers(ctx context.Context) ([]store.Subscriber, error) {
	return e.store.Subscribers(ctx)
}

// RemoveSubscriber removes a subscriber for an operator, audited.
func (e *Evaluator) RemoveSubscriber(ctx context.Context, who store.Actor, id int64) error {
	return e.operate(ctx, func(tx *store.Tx, now time.Time) ([]manualWrite, error) {
		before, err := tx.Subscriber(id)
		if err != nil {
			return nil, err
		}
		if err := tx.RemoveSubscriber(id); err != nil {
			return nil, err
		}
		return nil, tx.Audit(who, "subscriber.delete", "subscriber/"+strconv.FormatInt(id, 10), before, nil, now)
	})
}

// announceIncident tells subscribers an incident's latest update (not
// statusd's notes): opened, updated or resolved. Call it under mu, in the
// transaction that wrote the update.
func announceIncident(tx *store.Tx, p *plan, id int64, now time.Time) error {
	if !p.subs.on() {
		return nil
	}
	inc, err := tx.Incident(id)
	if err != nil {
		return err
	}
	var latest *store.IncidentUpdate
	updates := 0
	for i := range inc.Updates {
		if inc.Updates[i].Note {
			continue
		}
		if latest == nil {
			latest = &inc.Updates[i]
		}
		updates++
	}
	if latest == nil {
		return nil
	}
	what := message.Updated
	switch {
	case latest.State == store.Resolved:
		what = message.Closed
	case updates == 1:
		what = message.Opened
	}
	ids, err := tx.ServiceIDs(inc.Services)
	if err != nil {
		return err
	}
	idText := strconv.FormatInt(id, 10)
	news := &message.News{What: what, ID: id, Title: inc.Title, State: latest.State, Impact: inc.Impact, Message: latest.Message,
		Services: inc.Services, Path: "incidents/" + idText}
	return announce(tx, p, message.IncidentNews, "incident/"+idText, "incident/"+idText+"/"+strconv.FormatInt(latest.ID, 10), news, ids, latest.CreatedAt, now)
}

// announceMaintenance tells subscribers a window was scheduled, started
// or finished, once each; at is when that happened.
func announceMaintenance(tx *store.Tx, p *plan, m *store.Maintenance, what string, at, now time.Time) error {
	if !p.subs.on() {
		return nil
	}
	ids, err := tx.ServiceIDs(m.Services)
	if err != nil {
		return err
	}
	start := m.StartsAt.UTC()
	idText := strconv.FormatInt(m.ID, 10)
	news := &message.News{What: what, ID: m.ID, Title: m.Title, Message: m.Description, Services: m.Services, Start: &start, End: m.End()}
	return announce(tx, p, message.MaintenanceNews, "maintenance/"+idText, "maintenance/"+idText+"/"+what, news, ids, at, now)
}

func announce(tx *store.Tx, p *plan, kind message.Kind, topic, key string, news *message.News, ids []int64, at, now time.Time) error {
	m := message.Message{Version: message.Version, Kind: kind, Site: p.site, Time: now.UTC(), News: news}
	payload, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if _, err := tx.Announce(store.Announcement{Kind: string(kind), Topic: topic, Payload: string(payload), DedupKey: key,
		ServiceIDs: ids, At: at}, now); err != nil {
		return fmt.Errorf("tell subscribers: %w", err)
	}
	return nil
}

// announceWindows tells subscribers of windows that started or finished
// within the last hour (each once: a restart, another replica or the next
// round does not repeat it; older news is stale). The leader calls it.
func (e *Evaluator) announceWindows(ctx context.Context, windows []store.Maintenance, now time.Time) {
	if !e.plan.subs.on() {
		return
	}
	type item struct {
		m         store.Maintenance
		what, key string
		at        time.Time
	}
	var items []item
	add := func(m store.Maintenance, what string, at time.Time) {
		// What this process told already is not announced again every
		// round (10,000 subscribers' rows would be tried each time).
		key := strconv.FormatInt(m.ID, 10) + "/" + what
		if _, told := e.windowsTold[key]; !told {
			items = append(items, item{m, what, key, at})
		}
	}
	for _, m := range windows {
		if m.Active(now) && now.Sub(m.StartsAt) < time.Hour {
			add(m, message.Started, m.StartsAt)
		}
	}
	ended, err := e.store.MaintenancesEnded(ctx, now.Add(-time.Hour), now)
	if err != nil {
		e.logger.Debug("Cannot read ended maintenance windows", "err", err)
		return
	}
	for _, m := range ended {
		add(m, message.Finished, m.EndsAt.Time)
	}
	for key, at := range e.windowsTold {
		if now.Sub(at) > 2*time.Hour {
			delete(e.windowsTold, key)
		}
	}
	if len(items) == 0 {
		return
	}
	err = e.update(ctx, func(tx *store.Tx) error {
		for _, it := range items {
			if err := announceMaintenance(tx, e.plan, &it.m, it.what, it.at, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		// Not marked told: the next round tries again.
		e.logger.Warn("Cannot tell subscribers of maintenance", "err", err)
		return
	}
	for _, it := range items {
		e.windowsTold[it.key] = now
	}
}
