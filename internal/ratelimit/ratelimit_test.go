package ratelimit

import (
	"testing"
	"time"
)

func TestKeyed(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	k := New(time.Minute, 2, 2)
	for i := range 2 {
		if ok, _ := k.Allow(now, "a"); !ok {
			t.Fatalf("attempt %d refused", i+1)
		}
		k.Take(now, "a")
	}
	ok, wait := k.Allow(now, "a")
	if ok || wait != time.Minute {
		t.Errorf("third attempt: %v, wait %s", ok, wait)
	}
	if ok, _ := k.Allow(now.Add(time.Minute), "a"); !ok {
		t.Error("no token a minute later")
	}
	// Two keys: both must have a token.
	if ok, _ := k.Allow(now, "b", "a"); ok {
		t.Error("allowed with a's bucket empty")
	}
	// Full of busy buckets: a new key is refused; once they refill, the
	// idle ones go.
	k.Take(now, "b")
	if ok, _ := k.Allow(now, "c"); ok {
		t.Error("a third key in a limiter of two busy buckets")
	}
	if ok, _ := k.Allow(now.Add(time.Hour), "c"); !ok {
		t.Error("idle buckets were not dropped")
	}
}
