// Package celery speaks Celery's remote-control protocol (kombu's
// "pidbox" mailbox), as `celery inspect ping` and `celery inspect stats`
// do, over a Redis or an AMQP (RabbitMQ) broker.
//
// A request is a JSON message published to the fanout exchange
// "<namespace>.pidbox"; every worker (or those named in "destination")
// answers {hostname: reply} on the direct exchange
// "reply.<namespace>.pidbox" with the requester's id as routing key and the
// request's ticket in a header.
package celery

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Request is one remote-control broadcast.
type Request struct {
	// Namespace is the mailbox namespace; Celery uses "celery".
	Namespace string
	// Method is the control command: ping, stats…
	Method string
	// Workers limits the broadcast to these workers (celery@host) and ends
	// the wait once they have all answered; empty reaches every worker.
	Workers []string
	// Window is how long to collect replies when Workers is empty (Celery's
	// own default is 1s); ctx bounds the wait in every case.
	Window time.Duration
}

// DefaultWindow is how long replies are collected when no worker is named,
// as Celery's own `inspect` does.
const DefaultWindow = time.Second

// ErrNoWorkers tells that the broker knows of no worker listening: the
// request reached nobody, and nobody will answer.
var ErrNoWorkers = errors.New("no worker listens to the broker")

// Replies are the workers' answers by worker name.
type Replies map[string]json.RawMessage

// Broadcast sends a request through the broker at url (redis://, rediss://,
// amqp://, amqps://, pyamqp://) and collects the replies.
func Broadcast(ctx context.Context, url string, req Request) (Replies, error) {
	if req.Namespace == "" {
		req.Namespace = "celery"
	}
	if req.Window == 0 {
		req.Window = DefaultWindow
	}
	var t transport
	switch scheme, _, _ := strings.Cut(url, "://"); scheme {
	case "redis", "rediss":
		t = &redisTransport{}
	case "amqp", "amqps", "pyamqp":
		t = &amqpTransport{}
	default:
		return nil, fmt.Errorf("unsupported broker scheme %q", scheme)
	}
	m := newMessage(req)
	replies := Replies{}
	wait, cancel := req.deadline(ctx)
	defer cancel()
	err := t.exchange(ctx, wait, url, m, func(ticket string, body []byte) bool {
		if ticket != m.Ticket {
			return false // a late reply to someone else's request
		}
		var r map[string]json.RawMessage
		if json.Unmarshal(body, &r) != nil {
			return false
		}
		for worker, reply := range r {
			replies[worker] = reply
		}
		return req.complete(replies)
	})
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return replies, err // ErrNoWorkers among others
	}
	return replies, nil
}

// deadline bounds the wait for replies: the collection window without
// named workers, ctx alone otherwise.
func (r Request) deadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if len(r.Workers) > 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, r.Window)
}

func (r Request) complete(replies Replies) bool {
	if len(r.Workers) == 0 {
		return false
	}
	for _, w := range r.Workers {
		if _, ok := replies[w]; !ok {
			return false
		}
	}
	return true
}

// message is the body of a pidbox request.
type message struct {
	Method      string            `json:"method"`
	Arguments   map[string]any    `json:"arguments"`
	Destination []string          `json:"destination"`
	Pattern     *string           `json:"pattern"`
	Matcher     *string           `json:"matcher"`
	Ticket      string            `json:"ticket"`
	ReplyTo     map[string]string `json:"reply_to"`

	// Where replies go, not sent in the body.
	exchange, replyExchange, oid string
}

func newMessage(r Request) *message {
	oid := randomID()
	m := &message{
		Method:        r.Method,
		Arguments:     map[string]any{},
		Ticket:        randomID(),
		exchange:      r.Namespace + ".pidbox",
		replyExchange: "reply." + r.Namespace + ".pidbox",
		oid:           oid,
	}
	if len(r.Workers) > 0 {
		m.Destination = slices.Clone(r.Workers)
	}
	m.ReplyTo = map[string]string{"exchange": m.replyExchange, "routing_key": oid}
	return m
}

func (m *message) body() []byte {
	b, _ := json.Marshal(m) // plain strings and maps: cannot fail
	return b
}

// headers are the message headers kombu sends with a request.
func (m *message) headers(ttl time.Duration) map[string]any {
	return map[string]any{"clock": 1, "expires": float64(time.Now().Add(ttl).UnixNano()) / 1e9}
}

// transport carries one request and its replies; onReply returns true when
// nothing more is awaited.
type transport interface {
	exchange(ctx, wait context.Context, url string, m *message, onReply func(ticket string, body []byte) bool) error
}

// randomID is a UUID4 as kombu makes them.
func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
