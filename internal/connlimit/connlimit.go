// Package connlimit bounds the connections an HTTP server holds, as
// Prometheus's --web.max-connections does, and goes one step further: at
// the bound, a new connection makes room by closing the connection that
// has waited the longest without a request being served (a silent
// client, one sending its header byte by byte, one idle between two
// requests), so that a flood of idle or slow connections cannot keep
// visitors out. Only when every held connection is being served does a
// new one wait, in the kernel's accept queue.
// golang.org/x/net/netutil.LimitListener bounds the connections too, but
// makes a visitor wait until an idle connection times out.
//
// A connection is being served from when its request reaches the handler
// (Middleware) until it is idle again (ConnState); before that, while
// its request header arrives, it may be closed to make room.
package connlimit

import (
	"container/list"
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"sync"
)

// Limiter bounds the connections of one or more listeners of a server.
// Use Listener for each listener, ConnState and ConnContext as the
// server's, and Middleware around its handler.
type Limiter struct {
	max int

	mu    sync.Mutex
	conns map[net.Conn]*entry
	// idle orders the idle connections, the longest idle first.
	idle *list.List
	// freed is signalled when a held connection closes.
	freed chan struct{}
}

// entry is a held connection.
type entry struct {
	conn net.Conn
	// at is its place in idle while it is idle.
	at *list.Element
}

// New returns a limiter of n connections (at least 1).
func New(n int) *Limiter {
	return &Limiter{max: max(n, 1), conns: map[net.Conn]*entry{}, idle: list.New(), freed: make(chan struct{}, 1)}
}

// Max is the bound.
func (l *Limiter) Max() int { return l.max }

// Held is how many connections are held.
func (l *Limiter) Held() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// Listener bounds a listener's connections by the limiter.
func (l *Limiter) Listener(inner net.Listener) net.Listener {
	return &listener{Listener: inner, l: l, done: make(chan struct{})}
}

type listener struct {
	net.Listener
	l         *Limiter
	done      chan struct{}
	closeOnce sync.Once
}

// Accept takes a connection and holds it once there is room for it,
// making room by closing the longest waiting idle connection when the
// limiter is full. When every held connection is being served it waits
// (the new connection is then the only one held beyond the bound).
func (ln *listener) Accept() (net.Conn, error) {
	c, err := ln.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if err := ln.l.hold(c, ln.done); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (ln *listener) Close() error {
	ln.closeOnce.Do(func() { close(ln.done) })
	return ln.Listener.Close()
}

// hold registers a new connection as idle (it has sent no request yet)
// once there is room for it.
func (l *Limiter) hold(c net.Conn, done <-chan struct{}) error {
	for {
		l.mu.Lock()
		var evict *entry
		if len(l.conns) >= l.max {
			if front := l.idle.Front(); front != nil {
				evict = front.Value.(*entry)
				l.forget(evict)
			}
		}
		if len(l.conns) < l.max {
			e := &entry{conn: c}
			e.at = l.idle.PushBack(e)
			l.conns[c] = e
			l.mu.Unlock()
			if evict != nil {
				evict.conn.Close()
			}
			return nil
		}
		l.mu.Unlock()
		select {
		case <-l.freed:
		case <-done:
			return net.ErrClosed
		}
	}
}

// forget drops a connection; l.mu is held.
func (l *Limiter) forget(e *entry) {
	if e.at != nil {
		l.idle.Remove(e.at)
		e.at = nil
	}
	delete(l.conns, e.conn)
	select {
	case l.freed <- struct{}{}:
	default:
	}
}

// ConnState follows the server's connections: idle again once a request
// was served, gone once closed or hijacked.
func (l *Limiter) ConnState(c net.Conn, state http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.conns[raw(c)]
	if !ok {
		return
	}
	switch state {
	case http.StateIdle:
		if e.at == nil {
			e.at = l.idle.PushBack(e)
		}
	case http.StateClosed, http.StateHijacked:
		l.forget(e)
	}
}

// raw is the connection a listener accepted, under its TLS.
func raw(c net.Conn) net.Conn {
	if tc, ok := c.(*tls.Conn); ok {
		return tc.NetConn()
	}
	return c
}

type connKey struct{}

// ConnContext keeps a connection in its requests' context, for
// Middleware.
func (l *Limiter) ConnContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, raw(c))
}

// Middleware marks a connection as being served while its request is
// handled: it is not closed to make room.
func (l *Limiter) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := r.Context().Value(connKey{}).(net.Conn); ok {
			l.mu.Lock()
			if e, ok := l.conns[c]; ok && e.at != nil {
				l.idle.Remove(e.at)
				e.at = nil
			}
			l.mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
}
