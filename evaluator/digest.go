package evaluator

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/statusd/statusd/internal/message"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
)

// Digests composes every receiver's digest (django_status's
// status_send_digest): the checks told to it, in instant or digest mode,
// at problem then at warning, and the open incidents. A receiver with
// nothing to report gets none, unless it asks for an all-clear.
func (p *plan) digests(incidents []store.Incident, now time.Time) []message.Message {
	open := make([]message.Incident, 0, len(incidents))
	for _, inc := range incidents {
		if inc.Closed {
			continue
		}
		item := message.Incident{ID: inc.ID, Title: inc.Title, State: inc.State(), Occurred: inc.Occurred, Services: inc.Services}
		if p.base != "" {
			item.Link = fmt.Sprintf("%s/incidents/%d", p.base, inc.ID)
		}
		open = append(open, item)
	}
	byReceiver := map[string][]message.Check{}
	for _, c := range p.order {
		if !c.digest || c.state.Check.Level == status.Fine {
			continue
		}
		item := message.Check{
			ID: c.id.String(), Description: c.description, Level: c.state.Check.Level,
			Since: c.state.Check.Since, Message: c.last.Message, Value: c.last.Value, Link: c.link,
		}
		for _, r := range c.receivers {
			byReceiver[r] = append(byReceiver[r], item)
		}
	}
	var out []message.Message
	for _, name := range sortedNames(p.receivers) {
		checks := byReceiver[name]
		if len(checks) == 0 && len(open) == 0 && !p.receivers[name].AllClear {
			continue
		}
		// Problem first, then warning, each in config order.
		slices.SortStableFunc(checks, func(a, b message.Check) int { return int(b.Level) - int(a.Level) })
		out = append(out, message.Message{
			Version: message.Version, Kind: message.Digest, Receiver: name, Site: p.site, Time: now.UTC(),
			Checks: checks, Incidents: open,
		})
	}
	return out
}

// Digest writes every receiver's digest for a slot of the schedule (or
// now, from the command line) into the outbox and returns them. The slot
// makes the dedup key: two statusd processes, or two runs in one minute,
// write one digest per receiver.
func (e *Evaluator) Digest(ctx context.Context, slot time.Time) ([]message.Message, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	incidents, _, err := e.store.Incidents(ctx, store.IncidentQuery{State: "open"})
	if err != nil {
		return nil, err
	}
	now := e.clock.Now()
	msgs := e.plan.digests(incidents, now)
	if len(msgs) == 0 {
		return nil, nil
	}
	key := "digest:" + slot.UTC().Truncate(time.Minute).Format(time.RFC3339)
	err = e.update(ctx, func(tx *store.Tx) error {
		for _, m := range msgs {
			b, err := json.Marshal(m)
			if err != nil {
				return err
			}
			if _, err := tx.Enqueue(store.OutboxRow{Receiver: m.Receiver, Kind: string(message.Digest), DedupKey: key, Topic: "digest", Payload: string(b)}, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("write digests: %w", err)
	}
	return msgs, nil
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
