package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/statusd/statusd/internal/status"
)

// testSubscribers: double opt-in (a link that works once and expires),
// renewal of a pending request, no change for one confirmed, fan-out by
// service to confirmed subscribers only, once per key, and removal.
func testSubscribers(t *testing.T, s *Store) {
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	if err := s.SyncConfig(ctx, nil, []ServiceSpec{{Name: "API", OnProblem: status.PartialOutage}, {Name: "Web"}}, now); err != nil {
		t.Fatal(err)
	}
	var api, web int64
	if err := s.Update(ctx, func(tx *Tx) error {
		ids, err := tx.ServiceIDs([]string{"API", "Web"})
		if err == nil {
			api, web = ids[0], ids[1]
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	subscribe := func(kind, addr string, services []int64, at time.Time) (Subscriber, string) {
		t.Helper()
		var sub Subscriber
		var token string
		err := s.Update(ctx, func(tx *Tx) error {
			var err error
			sub, token, err = tx.Subscribe(Subscription{Kind: kind, Address: addr, Language: "it", ServiceIDs: services, ConfirmWithin: 48 * time.Hour}, at)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return sub, token
	}
	confirm := func(token string, at time.Time) (Subscriber, error) {
		var sub Subscriber
		err := s.Update(ctx, func(tx *Tx) error {
			var err error
			sub, err = tx.ConfirmSubscription(token, at)
			return err
		})
		return sub, err
	}
	ada, tok := subscribe(SubscribeEmail, "ada@example.com", nil, now)
	if tok == "" || ada.Confirmed() || !ada.AllServices || ada.Language != "it" {
		t.Fatalf("new subscription: %+v, token %q", ada, tok)
	}
	// A second request renews the link: the first stops working.
	_, tok2 := subscribe(SubscribeEmail, "ada@example.com", nil, now.Add(time.Minute))
	if _, err := confirm(tok, now.Add(2*time.Minute)); !errors.Is(err, ErrNoSubscriber) {
		t.Errorf("the replaced link still confirms: %v", err)
	}
	got, err := confirm(tok2, now.Add(2*time.Minute))
	if err != nil || !got.Confirmed() || got.ID != ada.ID {
		t.Fatalf("confirm: %+v, %v", got, err)
	}
	if _, err := confirm(tok2, now.Add(3*time.Minute)); !errors.Is(err, ErrNoSubscriber) {
		t.Error("a link confirms twice")
	}
	// Confirmed already: nothing to send, nothing changed.
	if again, tok := subscribe(SubscribeEmail, "ada@example.com", nil, now.Add(time.Hour)); tok != "" || !again.Confirmed() {
		t.Errorf("re-subscribing a confirmed address: %+v, %q", again, tok)
	}
	// An expired link does not confirm.
	_, late := subscribe(SubscribeEmail, "late@example.com", nil, now)
	if _, err := confirm(late, now.Add(49*time.Hour)); !errors.Is(err, ErrNoSubscriber) {
		t.Error("an expired link confirms")
	}
	// Bob hears of API only; a pending one hears of nothing.
	bob, btok := subscribe(SubscribeWebhook, "https://hooks.example/x", []int64{api}, now)
	if _, err := confirm(btok, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	subscribe(SubscribeEmail, "pending@example.com", nil, now)
	announce := func(key string, services []int64, at time.Time) int64 {
		t.Helper()
		var n int64
		if err := s.Update(ctx, func(tx *Tx) error {
			var err error
			n, err = tx.Announce(Announcement{Kind: "incident", Topic: "incident/1", Payload: "{}", DedupKey: key, ServiceIDs: services, At: at}, at)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := announce("incident/1/1", []int64{api}, now.Add(time.Hour)); n != 2 {
		t.Errorf("news about API reached %d, want 2 (ada, bob)", n)
	}
	if n := announce("incident/1/1", []int64{api}, now.Add(time.Hour)); n != 0 {
		t.Errorf("the same news again reached %d", n)
	}
	if n := announce("incident/2/1", []int64{web}, now.Add(time.Hour)); n != 1 {
		t.Errorf("news about Web reached %d, want 1 (ada)", n)
	}
	if n := announce("incident/3/1", nil, now.Add(time.Hour)); n != 2 {
		t.Errorf("news about no service reached %d, want 2", n)
	}
	if n := announce("incident/0/1", nil, now); n != 0 {
		t.Errorf("news from before they confirmed reached %d", n)
	}
	subs, err := s.Subscribers(ctx)
	if err != nil || len(subs) != 4 { // ada, late and pending (waiting), bob
		t.Fatalf("subscribers: %+v, %v", subs, err)
	}
	if b, err := s.Subscriber(ctx, bob.ID); err != nil || len(b.Services) != 1 || b.Services[0] != "API" || b.AllServices {
		t.Errorf("bob: %+v, %v", b, err)
	}
	// Unsubscribing by token removes the subscriber.
	if err := s.Update(ctx, func(tx *Tx) error { _, err := tx.Unsubscribe(ada.Token); return err }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Subscriber(ctx, ada.ID); !errors.Is(err, ErrNoSubscriber) {
		t.Errorf("after unsubscribing: %v", err)
	}
	if id, ok := SubscriberID(bob.Receiver()); !ok || id != bob.ID {
		t.Errorf("SubscriberID(%s) = %d, %v", bob.Receiver(), id, ok)
	}
}
