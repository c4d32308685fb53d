package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Subscription kinds.
const (
	SubscribeEmail   = "email"
	SubscribeWebhook = "webhook"
)

// SubscriberPrefix starts the outbox receiver of a subscriber's rows:
// subscriber:ID.
const SubscriberPrefix = "subscriber:"

// Subscriber is a visitor subscribed to incidents and maintenance.
type Subscriber struct {
	ID       int64  `db:"id" json:"id"`
	Kind     string `db:"kind" json:"kind"`
	Address  string `db:"address" json:"address"`
	Language string `db:"language" json:"language"`
	// AllServices: told of every service; else of Services only.
	AllServices bool `db:"all_services" json:"all_services"`
	// Token is the subscriber's own link (unsubscribe).
	Token       string       `db:"token" json:"-"`
	ConfirmedAt sql.NullTime `db:"confirmed_at" json:"-"`
	CreatedAt   time.Time    `db:"created_at" json:"created"`
	Services    []string     `db:"-" json:"services,omitempty"`
}

// Confirmed tells whether the subscriber opened the confirmation link.
func (s *Subscriber) Confirmed() bool { return s.ConfirmedAt.Valid }

// Receiver is the subscriber's outbox receiver.
func (s *Subscriber) Receiver() string { return SubscriberPrefix + strconv.FormatInt(s.ID, 10) }

// ErrNoSubscriber is a subscriber, token or link the store does not know
// (or that expired).
var ErrNoSubscriber = errors.New("no such subscription")

// Subscription is a visitor's request to subscribe.
type Subscription struct {
	Kind, Address, Language string
	// ServiceIDs are the services chosen; nil is all of them.
	ServiceIDs []int64
	// ConfirmWithin is how long the confirmation link works.
	ConfirmWithin time.Duration
}

// Subscribe records a request to subscribe and returns the subscriber
// with the confirmation token to send, or "" when there is nothing to
// send: the address is subscribed already (the visitor is told the same
// either way). A pending request is renewed: a new link, the new
// language and services. Pending requests past their link's expiry are
// forgotten.
func (t *Tx) Subscribe(in Subscription, now time.Time) (Subscriber, string, error) {
	now = now.UTC()
	if _, err := t.exec("DELETE FROM subscribers WHERE confirmed_at IS NULL AND confirm_expires_at < ?", now); err != nil {
		return Subscriber{}, "", fmt.Errorf("forget expired subscriptions: %w", err)
	}
	var sub Subscriber
	err := t.get(&sub, "SELECT "+subscriberColumns+" FROM subscribers WHERE kind = ? AND address = ?"+t.forUpdate(), in.Kind, in.Address)
	switch {
	case err == nil && sub.Confirmed():
		return sub, "", nil
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return Subscriber{}, "", fmt.Errorf("read subscription: %w", err)
	}
	confirm, err := randomToken()
	if err != nil {
		return Subscriber{}, "", err
	}
	expires := now.Add(in.ConfirmWithin)
	all := in.ServiceIDs == nil
	if sub.ID == 0 {
		token, err := randomToken()
		if err != nil {
			return Subscriber{}, "", err
		}
		if err := t.get(&sub.ID, `INSERT INTO subscribers (kind, address, language, all_services, token, confirm_hash, confirm_expires_at, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, in.Kind, in.Address, in.Language, all, token, HashToken(confirm), expires, now); err != nil {
			return Subscriber{}, "", fmt.Errorf("subscribe: %w", err)
		}
	} else {
		if _, err := t.exec(`UPDATE subscribers SET language = ?, all_services = ?, confirm_hash = ?, confirm_expires_at = ? WHERE id = ?`,
			in.Language, all, HashToken(confirm), expires, sub.ID); err != nil {
			return Subscriber{}, "", fmt.Errorf("subscribe: %w", err)
		}
		if _, err := t.exec("DELETE FROM subscriber_services WHERE subscriber_id = ?", sub.ID); err != nil {
			return Subscriber{}, "", fmt.Errorf("subscribe: %w", err)
		}
	}
	for _, id := range in.ServiceIDs {
		if _, err := t.exec("INSERT INTO subscriber_services (subscriber_id, service_id) VALUES (?, ?) ON CONFLICT DO NOTHING", sub.ID, id); err != nil {
			return Subscriber{}, "", fmt.Errorf("subscribe: %w", err)
		}
	}
	sub, err = t.subscriber("id = ?", sub.ID)
	return sub, confirm, err
}

const subscriberColumns = "id, kind, address, language, all_services, token, confirmed_at, created_at"

// subscriber reads one subscriber with its services.
func (t *Tx) subscriber(where string, arg any) (Subscriber, error) {
	return readSubscriber(t.ctx, t.tx, where, arg)
}

// readSubscriber reads one subscriber with its services, in a
// transaction or not.
func readSubscriber(ctx context.Context, q sqlx.ExtContext, where string, arg any) (Subscriber, error) {
	var sub Subscriber
	err := sqlx.GetContext(ctx, q, &sub, q.Rebind("SELECT "+subscriberColumns+" FROM subscribers WHERE "+where), arg)
	if errors.Is(err, sql.ErrNoRows) {
		return sub, ErrNoSubscriber
	}
	if err != nil {
		return sub, fmt.Errorf("read subscriber: %w", err)
	}
	if err := sqlx.SelectContext(ctx, q, &sub.Services, q.Rebind(`SELECT s.name FROM subscriber_services ss
		JOIN services s ON s.id = ss.service_id WHERE ss.subscriber_id = ? ORDER BY s.name`), sub.ID); err != nil {
		return sub, fmt.Errorf("read subscriber: %w", err)
	}
	return sub, nil
}

// Subscriber reads a subscriber by id in the transaction.
func (t *Tx) Subscriber(id int64) (Subscriber, error) { return t.subscriber("id = ?", id) }

// ConfirmSubscription confirms the subscription of a confirmation token
// that has not expired; the link then stops working.
func (t *Tx) ConfirmSubscription(token string, now time.Time) (Subscriber, error) {
	now = now.UTC()
	var id int64
	err := t.get(&id, "SELECT id FROM subscribers WHERE confirm_hash = ? AND confirmed_at IS NULL AND confirm_expires_at >= ?"+t.forUpdate(),
		HashToken(token), now)
	if errors.Is(err, sql.ErrNoRows) {
		return Subscriber{}, ErrNoSubscriber
	}
	if err != nil {
		return Subscriber{}, fmt.Errorf("confirm subscription: %w", err)
	}
	if _, err := t.exec(`UPDATE subscribers SET confirmed_at = ?, confirm_hash = NULL, confirm_expires_at = NULL WHERE id = ?`, now, id); err != nil {
		return Subscriber{}, fmt.Errorf("confirm subscription: %w", err)
	}
	return t.subscriber("id = ?", id)
}

// Unsubscribe removes the subscriber of a token.
func (t *Tx) Unsubscribe(token string) (Subscriber, error) {
	sub, err := t.subscriber("token = ?", token)
	if err != nil {
		return sub, err
	}
	return sub, t.RemoveSubscriber(sub.ID)
}

// RemoveSubscriber removes a subscriber by id; its notifications not yet
// sent are not sent.
func (t *Tx) RemoveSubscriber(id int64) error {
	res, err := t.exec("DELETE FROM subscribers WHERE id = ?", id)
	if err != nil {
		return fmt.Errorf("remove subscriber %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNoSubscriber
	}
	return nil
}

// Subscriber reads a subscriber by id.
func (s *Store) Subscriber(ctx context.Context, id int64) (Subscriber, error) {
	return readSubscriber(ctx, s.db, "id = ?", id)
}

// Subscribers lists every subscriber, confirmed or not, oldest first.
func (s *Store) Subscribers(ctx context.Context) ([]Subscriber, error) {
	var subs []Subscriber
	if err := s.db.SelectContext(ctx, &subs, "SELECT "+subscriberColumns+" FROM subscribers ORDER BY id"); err != nil {
		return nil, fmt.Errorf("read subscribers: %w", err)
	}
	var links []struct {
		ID      int64  `db:"subscriber_id"`
		Service string `db:"name"`
	}
	if err := s.db.SelectContext(ctx, &links, `SELECT ss.subscriber_id, s.name FROM subscriber_services ss
		JOIN services s ON s.id = ss.service_id ORDER BY s.name`); err != nil {
		return nil, fmt.Errorf("read subscribers: %w", err)
	}
	byID := map[int64]*Subscriber{}
	for i := range subs {
		byID[subs[i].ID] = &subs[i]
	}
	for _, l := range links {
		if sub := byID[l.ID]; sub != nil {
			sub.Services = append(sub.Services, l.Service)
		}
	}
	return subs, nil
}

// Announcement is news for subscribers: one outbox row per confirmed
// subscriber who hears of it.
type Announcement struct {
	Kind, Topic, Payload string
	// DedupKey makes it once per subscriber, however often it is
	// announced.
	DedupKey string
	// ServiceIDs are the services it is about: subscribers of all
	// services, and those who chose one of these, hear of it; nobody
	// chose a service of news about none, which everyone hears.
	ServiceIDs []int64
	// At is when it happened: subscribers who confirmed later do not
	// hear of it.
	At time.Time
}

// Announce appends an announcement to the outbox for each subscriber who
// hears of it, in one statement (10,000 subscribers take one insert),
// and tells how many rows it wrote.
func (t *Tx) Announce(a Announcement, now time.Time) (int64, error) {
	now = now.UTC()
	cond := ""
	args := []any{a.Kind, a.DedupKey, a.Topic, a.Payload, now, now, a.At.UTC()}
	if len(a.ServiceIDs) > 0 {
		q, inArgs, err := sqlx.In(" AND (s.all_services OR EXISTS (SELECT 1 FROM subscriber_services ss WHERE ss.subscriber_id = s.id AND ss.service_id IN (?)))", a.ServiceIDs)
		if err != nil {
			return 0, err
		}
		cond, args = q, append(args, inArgs...)
	}
	res, err := t.exec(`INSERT INTO notification_outbox (receiver, kind, dedup_key, topic, payload, state, created_at, next_attempt_at)
		SELECT '`+SubscriberPrefix+`' || s.id, ?, ?, ?, ?, 'pending', ?, ? FROM subscribers s
		WHERE s.confirmed_at IS NOT NULL AND s.confirmed_at <= ?`+cond+`
		ON CONFLICT (receiver, dedup_key) DO NOTHING`, args...)
	if err != nil {
		return 0, fmt.Errorf("announce %s: %w", a.DedupKey, err)
	}
	n, _ := res.RowsAffected()
	if n > 0 {
		// One entry stands for the rows written (Enqueued's readers wake
		// the notifier and print what was written), saying how many.
		t.enqueued = append(t.enqueued, OutboxRow{Receiver: strconv.FormatInt(n, 10) + " subscribers", Kind: a.Kind, DedupKey: a.DedupKey, Topic: a.Topic})
	}
	return n, nil
}

// SubscriberID is the id in a subscriber's receiver name; false for
// another receiver.
func SubscriberID(receiver string) (int64, bool) {
	rest, ok := strings.CutPrefix(receiver, SubscriberPrefix)
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(rest, 10, 64)
	return id, err == nil
}
