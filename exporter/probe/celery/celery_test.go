package celery

import (
	"context"
	"encoding/json"
	"regexp"
	"testing"
	"time"
)

func TestMessage(t *testing.T) {
	m := newMessage(Request{Namespace: "celery", Method: "ping", Workers: []string{"w1@host"}})
	var body map[string]any
	if err := json.Unmarshal(m.body(), &body); err != nil {
		t.Fatal(err)
	}
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	reply, _ := body["reply_to"].(map[string]any)
	if body["method"] != "ping" || len(body["arguments"].(map[string]any)) != 0 || !uuid.MatchString(body["ticket"].(string)) ||
		reply["exchange"] != "reply.celery.pidbox" || reply["routing_key"] != m.oid || !uuid.MatchString(m.oid) ||
		body["destination"].([]any)[0] != "w1@host" || body["pattern"] != nil || body["matcher"] != nil {
		t.Errorf("request body %v", body)
	}
	if m.exchange != "celery.pidbox" || m.Ticket == m.oid {
		t.Errorf("exchange %q ticket %q oid %q", m.exchange, m.Ticket, m.oid)
	}
	if everyone := newMessage(Request{Namespace: "ns", Method: "stats"}); everyone.body() == nil || everyone.Destination != nil || everyone.exchange != "ns.pidbox" {
		t.Errorf("broadcast to all: %+v", everyone)
	}
	h := m.headers(2 * time.Second)
	if exp := h["expires"].(float64); exp < float64(time.Now().Unix())+1 || exp > float64(time.Now().Unix())+3 {
		t.Errorf("expires %v", exp)
	}
}

func TestRequestCompletes(t *testing.T) {
	r := Request{Workers: []string{"a@h", "b@h"}}
	if r.complete(Replies{"a@h": nil}) || !r.complete(Replies{"a@h": nil, "b@h": nil}) {
		t.Error("named workers: complete only when all answered")
	}
	if (Request{}).complete(Replies{"a@h": nil}) {
		t.Error("without names the wait lasts the window")
	}
}

func TestUnsupportedBroker(t *testing.T) {
	if _, err := Broadcast(context.Background(), "sqs://queue", Request{Method: "ping"}); err == nil || err.Error() != `unsupported broker scheme "sqs"` {
		t.Errorf("err = %v", err)
	}
}
