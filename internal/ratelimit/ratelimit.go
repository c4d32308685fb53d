// Package ratelimit bounds how often a key (a client's address, a login
// name, an e-mail address) may do something, with a token bucket per key
// from golang.org/x/time/rate, in bounded memory.
package ratelimit

import (
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Keyed is a token bucket per key: burst tokens, one more every every.
// It keeps at most limit buckets: past it, full (idle) buckets are dropped,
// and with none to drop unknown keys are refused until some refill (a
// flood of keys cannot grow memory).
type Keyed struct {
	every   time.Duration
	burst   int
	limit   int
	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

// New returns a keyed limiter.
func New(every time.Duration, burst, limit int) *Keyed {
	return &Keyed{every: every, burst: burst, limit: limit, buckets: map[string]*rate.Limiter{}}
}

// Allow tells whether every key has a token at now, without taking one;
// it returns how long to wait when one has none.
func (k *Keyed) Allow(now time.Time, keys ...string) (bool, time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var wait time.Duration
	for _, key := range keys {
		l := k.bucket(key, now)
		if l == nil {
			return false, k.every
		}
		if t := l.TokensAt(now); t < 1 {
			wait = max(wait, time.Duration((1-t)*float64(k.every)))
		}
	}
	return wait == 0, wait
}

// Take takes a token from each key's bucket.
func (k *Keyed) Take(now time.Time, keys ...string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, key := range keys {
		if l := k.bucket(key, now); l != nil {
			l.AllowN(now, 1)
		}
	}
}

func (k *Keyed) bucket(key string, now time.Time) *rate.Limiter {
	if l, ok := k.buckets[key]; ok {
		return l
	}
	if len(k.buckets) >= k.limit {
		for key, l := range k.buckets {
			if l.TokensAt(now) >= float64(k.burst) {
				delete(k.buckets, key)
			}
		}
		if len(k.buckets) >= k.limit {
			return nil
		}
	}
	l := rate.NewLimiter(rate.Every(k.every), k.burst)
	k.buckets[key] = l
	return l
}

// ClientAddr is the address a request came from (the connection's: a
// proxy in front shares one bucket among its clients, the safe side).
func ClientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
