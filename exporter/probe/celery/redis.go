package celery

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisTransport speaks kombu's Redis transport: a fanout exchange is a
// PUBLISH on "/<db>.<exchange>", and a direct exchange routes to the lists
// named in the set "_kombu.binding.<exchange>", whose members are
// "routing_key\x06\x16pattern\x06\x16queue".
type redisTransport struct{}

const kombuSep = "\x06\x16"

// envelope is a message as kombu's virtual transports store it.
type envelope struct {
	Body            string         `json:"body"`
	ContentEncoding string         `json:"content-encoding"`
	ContentType     string         `json:"content-type"`
	Headers         map[string]any `json:"headers"`
	Properties      struct {
		BodyEncoding string         `json:"body_encoding"`
		DeliveryInfo map[string]any `json:"delivery_info"`
		DeliveryTag  string         `json:"delivery_tag"`
		DeliveryMode int            `json:"delivery_mode"`
		Priority     int            `json:"priority"`
	} `json:"properties"`
}

func (redisTransport) exchange(ctx, wait context.Context, url string, m *message, onReply func(string, []byte) bool) error {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return errors.New("invalid Redis broker URL")
	}
	opts.PoolSize = 1
	opts.MaxRetries = -1
	opts.DialerRetries = 1
	opts.ReadBufferSize, opts.WriteBufferSize = 4<<10, 4<<10
	opts.Protocol = 2
	opts.DisableIdentity = true
	opts.ContextTimeoutEnabled = true
	c := redis.NewClient(opts)
	defer c.Close()

	queue := m.oid + "." + m.replyExchange
	binding := "_kombu.binding." + m.replyExchange
	member := m.oid + kombuSep + kombuSep + queue
	if err := c.SAdd(ctx, binding, member).Err(); err != nil {
		return fmt.Errorf("bind the reply queue: %w", err)
	}
	defer func() {
		cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		c.SRem(cleanup, binding, member)
		c.Del(cleanup, queue)
	}()

	var env envelope
	env.Body = base64.StdEncoding.EncodeToString(m.body())
	env.ContentEncoding, env.ContentType = "utf-8", "application/json"
	env.Headers = m.headers(time.Until(deadlineOf(wait)))
	env.Properties.BodyEncoding = "base64"
	env.Properties.DeliveryInfo = map[string]any{"exchange": m.exchange, "routing_key": ""}
	env.Properties.DeliveryTag = randomID()
	env.Properties.DeliveryMode = 1
	raw, _ := json.Marshal(env)
	listeners, err := c.Publish(ctx, fmt.Sprintf("/%d.%s", opts.DB, m.exchange), raw).Result()
	if err != nil {
		return fmt.Errorf("publish to the workers' mailbox: %w", err)
	}
	if listeners == 0 {
		return ErrNoWorkers // no worker is subscribed to the mailbox
	}
	for {
		// Block until a reply or the wait ends; go-redis turns wait's
		// deadline into the read deadline.
		res, err := c.BRPop(wait, 0, queue).Result()
		if err != nil {
			// The read deadline (wait's) may fire a moment before wait
			// itself: both mean the wait is over.
			var ne net.Error
			if wait.Err() != nil || errors.As(err, &ne) && ne.Timeout() {
				return nil
			}
			return fmt.Errorf("read replies: %w", err)
		}
		var reply envelope
		if len(res) != 2 || json.Unmarshal([]byte(res[1]), &reply) != nil {
			continue
		}
		body := []byte(reply.Body)
		if reply.Properties.BodyEncoding == "base64" {
			if body, err = base64.StdEncoding.DecodeString(reply.Body); err != nil {
				continue
			}
		}
		ticket, _ := reply.Headers["ticket"].(string)
		if onReply(ticket, body) {
			return nil
		}
	}
}

func deadlineOf(ctx context.Context) time.Time {
	if dl, ok := ctx.Deadline(); ok {
		return dl
	}
	return time.Now().Add(time.Second)
}
