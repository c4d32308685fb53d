package celery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// amqpTransport speaks AMQP 0-9-1 (RabbitMQ), where the mailbox is a real
// fanout exchange and replies come to an exclusive queue bound to the
// reply exchange.
type amqpTransport struct{}

func (amqpTransport) exchange(ctx, wait context.Context, url string, m *message, onReply func(string, []byte) bool) error {
	url = strings.Replace(url, "pyamqp://", "amqp://", 1)
	uri, err := amqp.ParseURI(url)
	if err != nil {
		return errors.New("invalid AMQP broker URL")
	}
	conn, err := amqp.DialConfig(uri.String(), amqp.Config{
		Heartbeat: 10 * time.Second,
		Dial: func(network, addr string) (net.Conn, error) {
			var d net.Dialer
			c, err := d.DialContext(ctx, network, addr)
			if err == nil {
				// The handshake, and all that follows, must end with the
				// check: closing the socket ends every read.
				context.AfterFunc(ctx, func() { c.Close() })
			}
			return c, err
		},
	})
	if err != nil {
		return fmt.Errorf("connect to the broker: %w", err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open a channel: %w", err)
	}
	// The mailbox exchange exists once a worker has started; check without
	// creating it.
	if err := ch.ExchangeDeclarePassive(m.exchange, "fanout", false, false, false, false, nil); err != nil {
		var ae *amqp.Error
		if errors.As(err, &ae) && ae.Code == amqp.NotFound {
			return ErrNoWorkers // no worker ever started on this broker
		}
		return fmt.Errorf("find the workers' mailbox: %w", err)
	}
	// kombu declares the reply exchange so: transient, not auto-deleted.
	if err := ch.ExchangeDeclare(m.replyExchange, "direct", false, false, false, false, nil); err != nil {
		return fmt.Errorf("declare the reply exchange: %w", err)
	}
	q, err := ch.QueueDeclare("", false, true, true, false, amqp.Table{"x-expires": int32(10000)})
	if err != nil {
		return fmt.Errorf("declare a reply queue: %w", err)
	}
	if err := ch.QueueBind(q.Name, m.oid, m.replyExchange, false, nil); err != nil {
		return fmt.Errorf("bind the reply queue: %w", err)
	}
	deliveries, err := ch.ConsumeWithContext(ctx, q.Name, "", true, true, false, false, nil)
	if err != nil {
		return fmt.Errorf("consume replies: %w", err)
	}
	// Mandatory: when no worker's queue is bound to the mailbox, the broker
	// returns the request and nobody will answer.
	returned := ch.NotifyReturn(make(chan amqp.Return, 1))
	err = ch.PublishWithContext(ctx, m.exchange, "", true, false, amqp.Publishing{
		ContentType:     "application/json",
		ContentEncoding: "utf-8",
		DeliveryMode:    amqp.Transient,
		Headers:         amqp.Table(m.headers(time.Until(deadlineOf(wait)))),
		Body:            m.body(),
	})
	if err != nil {
		return fmt.Errorf("publish to the workers' mailbox: %w", err)
	}
	for {
		select {
		case <-wait.Done():
			return nil
		case _, ok := <-returned:
			if ok {
				return ErrNoWorkers
			}
			return nil
		case d, ok := <-deliveries:
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return errors.New("the broker closed the reply queue")
			}
			ticket, _ := d.Headers["ticket"].(string)
			if onReply(ticket, d.Body) {
				return nil
			}
		}
	}
}
