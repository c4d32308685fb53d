package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/statusd/statusd/internal/status"
)

// Tx is a write transaction over the evaluator's and the status page's
// state: what changes together is written together, or not at all. On
// PostgreSQL the rows a decision depends on are locked (SELECT … FOR
// UPDATE), so that several statusd processes decide in turn; SQLite has
// one writer.
type Tx struct {
	tx      *sqlx.Tx
	ctx     context.Context
	dialect Dialect
	checks  map[status.CheckID]int64
	// register, when set, registers a check outside the transaction
	// (PostgreSQL): several processes registering the same new checks in
	// their own orders inside longer transactions would deadlock.
	register func(status.CheckID) error
	bumped   bool
	enqueued []OutboxRow
}

// Update runs fn in a write transaction and commits it when fn returns
// nil.
func (s *Store) Update(ctx context.Context, fn func(*Tx) error) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		t := &Tx{tx: tx, ctx: ctx, dialect: s.dialect, checks: map[status.CheckID]int64{}}
		if s.dialect == Postgres {
			t.register = func(id status.CheckID) error {
				_, err := s.w.ExecContext(ctx, s.w.Rebind(insertCheck), id.Resource, id.Check, time.Now().UTC())
				return err
			}
		}
		return fn(t)
	})
}

// Enqueued are the outbox rows this transaction wrote.
func (t *Tx) Enqueued() []OutboxRow { return t.enqueued }

// forUpdate locks the selected rows on PostgreSQL.
func (t *Tx) forUpdate() string {
	if t.dialect == Postgres {
		return " FOR UPDATE"
	}
	return ""
}

func (t *Tx) exec(query string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(t.ctx, t.tx.Rebind(query), args...)
}

func (t *Tx) get(dest any, query string, args ...any) error {
	return t.tx.GetContext(t.ctx, dest, t.tx.Rebind(query), args...)
}

func (t *Tx) selectRows(dest any, query string, args ...any) error {
	return t.tx.SelectContext(t.ctx, dest, t.tx.Rebind(query), args...)
}

// insertCheck registers a check, once.
const insertCheck = "INSERT INTO checks (resource, name, created_at) VALUES (?, ?, ?) ON CONFLICT (resource, name) DO NOTHING"

// checkID returns a check's database id, registering the check when it
// is new.
func (t *Tx) checkID(id status.CheckID) (int64, error) {
	if n, ok := t.checks[id]; ok {
		return n, nil
	}
	const read = "SELECT id FROM checks WHERE resource = ? AND name = ?"
	var n int64
	err := t.get(&n, read, id.Resource, id.Check)
	if errors.Is(err, sql.ErrNoRows) {
		if t.register != nil {
			err = t.register(id)
		} else {
			_, err = t.exec(insertCheck, id.Resource, id.Check, time.Now().UTC())
		}
		if err != nil {
			return 0, fmt.Errorf("register check %s: %w", id, err)
		}
		err = t.get(&n, read, id.Resource, id.Check)
	}
	if err != nil {
		return 0, fmt.Errorf("read check %s: %w", id, err)
	}
	t.checks[id] = n
	return n, nil
}

// CheckState is a check's evaluated level and debounce streaks.
type CheckState struct {
	Level status.Level
	Since time.Time
	// The streaks: results in a row at warning or worse, at problem, at
	// fine, and at warning or better.
	AtLeastWarning, AtLeastProblem, AtMostFine, AtMostWarning int
}

// SaveCheckState stores a check's evaluated state.
func (t *Tx) SaveCheckState(id status.CheckID, s CheckState, now time.Time) error {
	n, err := t.checkID(id)
	if err != nil {
		return err
	}
	_, err = t.exec(`INSERT INTO check_state (check_id, level, level_since, consecutive_failures, problem_streak, consecutive_successes, not_problem_streak, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (check_id) DO UPDATE SET level = excluded.level, level_since = excluded.level_since,
			consecutive_failures = excluded.consecutive_failures, problem_streak = excluded.problem_streak,
			consecutive_successes = excluded.consecutive_successes, not_problem_streak = excluded.not_problem_streak,
			updated_at = excluded.updated_at`,
		n, int(s.Level), utc(s.Since), s.AtLeastWarning, s.AtLeastProblem, s.AtMostFine, s.AtMostWarning, now.UTC())
	if err != nil {
		return fmt.Errorf("save state of %s: %w", id, err)
	}
	return nil
}

// ReceiverState is what a receiver was told about a check.
type ReceiverState struct {
	Level      status.Level
	At         time.Time
	Episode    int
	Sent       int
	Suppressed bool
}

type receiverStateRow struct {
	Level      int          `db:"level"`
	At         sql.NullTime `db:"notified_at"`
	Episode    int          `db:"episode"`
	Sent       int          `db:"sent"`
	Suppressed bool         `db:"suppressed"`
}

func (r receiverStateRow) state() ReceiverState {
	s := ReceiverState{Level: status.Level(r.Level), Episode: r.Episode, Sent: r.Sent, Suppressed: r.Suppressed}
	if r.At.Valid {
		s.At = r.At.Time.UTC()
	}
	return s
}

// ReceiverState reads, and on PostgreSQL locks, what a receiver was told
// about a check; the zero state when nothing yet.
func (t *Tx) ReceiverState(id status.CheckID, receiver string) (ReceiverState, error) {
	n, err := t.checkID(id)
	if err != nil {
		return ReceiverState{}, err
	}
	var row receiverStateRow
	err = t.get(&row, "SELECT level, notified_at, episode, sent, suppressed FROM notification_state WHERE check_id = ? AND receiver = ?"+t.forUpdate(), n, receiver)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return ReceiverState{}, nil
	case err != nil:
		return ReceiverState{}, fmt.Errorf("read notification state of %s for %s: %w", id, receiver, err)
	}
	return row.state(), nil
}

// SaveReceiverState stores what a receiver was told about a check.
func (t *Tx) SaveReceiverState(id status.CheckID, receiver string, s ReceiverState) error {
	n, err := t.checkID(id)
	if err != nil {
		return err
	}
	_, err = t.exec(`INSERT INTO notification_state (check_id, receiver, level, notified_at, episode, sent, suppressed)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (check_id, receiver) DO UPDATE SET level = excluded.level, notified_at = excluded.notified_at,
			episode = excluded.episode, sent = excluded.sent, suppressed = excluded.suppressed`,
		n, receiver, int(s.Level), nullTime(s.At), s.Episode, s.Sent, s.Suppressed)
	if err != nil {
		return fmt.Errorf("save notification state of %s for %s: %w", id, receiver, err)
	}
	return nil
}

// OutboxRow is a notification to deliver.
type OutboxRow struct {
	ID       int64  `db:"id"`
	Receiver string `db:"receiver"`
	// Kind is instant, resolved, digest or status_change.
	Kind string `db:"kind"`
	// DedupKey makes the row unique per receiver: two statusd processes
	// deciding the same notification write one row.
	DedupKey string `db:"dedup_key"`
	// Topic is what the row is about (check:…, service:…, digest).
	Topic string `db:"topic"`
	// Payload is the message, as JSON (internal/message).
	Payload   string    `db:"payload"`
	State     string    `db:"state"`
	CreatedAt time.Time `db:"created_at"`
	// LastError is why the last attempt to deliver it failed.
	LastError string `db:"last_error"`
}

// Outbox states.
const (
	OutboxPending    = "pending"
	OutboxSent       = "sent"
	OutboxFailed     = "failed"
	OutboxSuppressed = "suppressed"
	// OutboxCollapsed rows were composed into nothing to tell: a
	// service's change that was undone before it went out.
	OutboxCollapsed = "collapsed"
)

// WrittenSince tells whether the receiver has an outbox row of a kind
// and topic written since a time (pending, sent or otherwise).
func (t *Tx) WrittenSince(receiver, kind, topic string, since time.Time) (bool, error) {
	var n int
	if err := t.get(&n, "SELECT COUNT(*) FROM notification_outbox WHERE receiver = ? AND kind = ? AND topic = ? AND created_at >= ?",
		receiver, kind, topic, since.UTC()); err != nil {
		return false, fmt.Errorf("read the outbox: %w", err)
	}
	return n > 0, nil
}

// SinceTold reads what a receiver was last told on a topic of a kind
// (the payload of its latest row that is not suppressed, "" when none)
// and the payloads of the rows suppressed since, oldest first.
func (t *Tx) SinceTold(receiver, kind, topic string) (told string, suppressed []string, err error) {
	var rows []OutboxRow
	if err := t.selectRows(&rows, `SELECT id, state, payload FROM notification_outbox
		WHERE receiver = ? AND kind = ? AND topic = ? AND id >= COALESCE((SELECT MAX(id) FROM notification_outbox
			WHERE receiver = ? AND kind = ? AND topic = ? AND state <> 'suppressed'), 0)
		ORDER BY id`, receiver, kind, topic, receiver, kind, topic); err != nil {
		return "", nil, fmt.Errorf("read what %s was told: %w", receiver, err)
	}
	for _, r := range rows {
		if r.State == OutboxSuppressed {
			suppressed = append(suppressed, r.Payload)
		} else {
			told = r.Payload
		}
	}
	return told, suppressed, nil
}

// Enqueue writes a notification into the outbox, unless the receiver has
// a row with its dedup key already; it tells whether it wrote one.
func (t *Tx) Enqueue(r OutboxRow, now time.Time) (bool, error) {
	if r.State == "" {
		r.State = OutboxPending
	}
	res, err := t.exec(`INSERT INTO notification_outbox (receiver, kind, dedup_key, topic, payload, state, created_at, next_attempt_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (receiver, dedup_key) DO NOTHING`,
		r.Receiver, r.Kind, r.DedupKey, r.Topic, r.Payload, r.State, now.UTC(), now.UTC())
	if err != nil {
		return false, fmt.Errorf("write notification for %s: %w", r.Receiver, err)
	}
	n, _ := res.RowsAffected()
	if n == 1 {
		t.enqueued = append(t.enqueued, r)
	}
	return n == 1, nil
}

// MarkSent records that a notification was delivered.
func (t *Tx) MarkSent(id int64, now time.Time) error {
	if _, err := t.exec("UPDATE notification_outbox SET state = 'sent', sent_at = ? WHERE id = ?", now.UTC(), id); err != nil {
		return fmt.Errorf("mark notification %d sent: %w", id, err)
	}
	return nil
}

// BumpBoard marks a change of what the status page shows; once per
// transaction.
func (t *Tx) BumpBoard() error {
	if t.bumped {
		return nil
	}
	if _, err := t.exec("UPDATE board_version SET version = version + 1 WHERE id = 1"); err != nil {
		return fmt.Errorf("bump the board version: %w", err)
	}
	t.bumped = true
	return nil
}

func utc(t time.Time) time.Time { return t.UTC() }

func nullTime(t time.Time) sql.NullTime {
	if t.IsZero() {
		return sql.NullTime{}
	}
	return sql.NullTime{Time: t.UTC(), Valid: true}
}
