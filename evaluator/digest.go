package evaluator

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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

// DigestRepeatWindow is how long a digest that says exactly what one
// already written for the receiver said is not written again: two statusd
// processes at the same slot, or a cron job run twice, make one digest;
// any other digest is its own.
const DigestRepeatWindow = 10 * time.Minute

// Digest writes every receiver's digest for a slot of the schedule (or
// now, from the command line) into the outbox. It returns those written,
// and the receivers whose digest repeated one written within
// DigestRepeatWindow, not written again.
func (e *Evaluator) Digest(ctx context.Context, slot time.Time) (written []message.Message, repeated []string, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	incidents, _, err := e.store.Incidents(ctx, store.IncidentQuery{State: "open"})
	if err != nil {
		return nil, nil, err
	}
	now := e.clock.Now()
	msgs := e.plan.digests(incidents, now)
	if len(msgs) == 0 {
		return nil, nil, nil
	}
	// The slot makes the dedup key: statusd processes sending the
	// scheduled digests write one per receiver.
	key := "digest:" + slot.UTC().Format(time.RFC3339Nano)
	err = e.update(ctx, func(tx *store.Tx) error {
		written, repeated = written[:0], repeated[:0]
		for _, m := range msgs {
			sum := digestSum(m)
			topic := "digest:" + hex.EncodeToString(sum[:12])
			repeat, err := tx.WrittenSince(m.Receiver, string(message.Digest), topic, now.Add(-DigestRepeatWindow))
			if err != nil {
				return err
			}
			if repeat {
				repeated = append(repeated, m.Receiver)
				continue
			}
			b, err := json.Marshal(m)
			if err != nil {
				return err
			}
			if _, err := tx.Enqueue(store.OutboxRow{Receiver: m.Receiver, Kind: string(message.Digest), DedupKey: key, Topic: topic, Payload: string(b)}, now); err != nil {
				return err
			}
			written = append(written, m)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("write digests: %w", err)
	}
	return written, repeated, nil
}

// digestSum is what a digest says, for finding the same digest written
// a moment ago: its checks with their levels and since when, its
// incidents with their states. Messages are left out: they carry
// latencies that differ at each run.
func digestSum(m message.Message) [sha256.Size]byte {
	h := sha256.New()
	for _, c := range m.Checks {
		fmt.Fprintf(h, "c %s %s %d\n", c.ID, c.Level, c.Since.UnixNano())
	}
	for _, i := range m.Incidents {
		fmt.Fprintf(h, "i %d %s\n", i.ID, i.State)
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
