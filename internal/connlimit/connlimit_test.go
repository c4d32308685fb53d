package connlimit

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// serve runs a server bounded to max connections whose handler answers
// "ok"; states receives every change of a connection's state.
func serve(t *testing.T, max int, states chan<- http.ConnState) (*Limiter, string) {
	t.Helper()
	l := New(max)
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		// Long enough that no timeout frees a connection in this test:
		// only the limiter does.
		ReadHeaderTimeout: time.Minute,
		ConnState: func(c net.Conn, s http.ConnState) {
			l.ConnState(c, s)
			states <- s
		},
		ConnContext: l.ConnContext,
		Handler: l.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "ok")
		})),
	}
	go func() { _ = srv.Serve(l.Listener(inner)) }()
	t.Cleanup(func() { srv.Close() })
	return l, inner.Addr().String()
}

// get makes a request on a new connection; it fails the test if no answer
// comes within a bound far above any wait the limiter allows.
func get(t *testing.T, addr, path string) string {
	t.Helper()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get("http://" + addr + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// dial opens a raw connection that sends what it is given, then nothing.
func dial(t *testing.T, addr, send string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if send != "" {
		if _, err := io.WriteString(c, send); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// closed tells whether the server closed a raw connection: reading it
// ends, after what the server had sent.
func closed(t *testing.T, c net.Conn) bool {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, err := io.Copy(io.Discard, c)
	return err == nil || !strings.Contains(err.Error(), "timeout")
}

// Silent connections, and connections sending their header byte by byte,
// fill the limiter: a visitor still gets in, the longest waiting of them
// closed to make room.
func TestIdleAndSlowConnectionsMakeRoom(t *testing.T) {
	for _, c := range []struct{ name, send string }{
		{"silent", ""},
		{"slow header", "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: a"},
		{"idle keep-alive", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			states := make(chan http.ConnState, 64)
			l, addr := serve(t, 3, states)
			waitFor := func(want http.ConnState) {
				for s := range states {
					if s == want {
						return
					}
				}
			}
			var conns []net.Conn
			for range 3 {
				conn := dial(t, addr, c.send)
				if strings.HasSuffix(c.send, "\r\n\r\n") {
					// Answered, and idle from then on, in this order.
					resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					waitFor(http.StateIdle)
				} else {
					waitFor(http.StateNew) // held
				}
				conns = append(conns, conn)
			}
			if got := get(t, addr, "/"); got != "ok" {
				t.Fatalf("visitor got %q", got)
			}
			if !closed(t, conns[0]) {
				t.Error("the longest waiting connection was not the one closed")
			}
			if l.Held() > 3 {
				t.Errorf("%d connections held, bound 3", l.Held())
			}
		})
	}
}

// Connections being served are never closed to make room: a new one waits
// until one of them is done.
func TestBusyConnectionsAreKept(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(2)
		done := make(chan struct{})
		var conns []net.Conn
		for range 3 {
			a, b := net.Pipe()
			t.Cleanup(func() { a.Close(); b.Close() })
			conns = append(conns, a)
		}
		for _, c := range conns[:2] {
			if err := l.hold(c, done); err != nil {
				t.Fatal(err)
			}
			// Its request reached the handler.
			l.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(nil,
				(&http.Request{}).WithContext(l.ConnContext(t.Context(), c)))
		}
		got := make(chan error, 1)
		go func() { got <- l.hold(conns[2], done) }()
		synctest.Wait()
		select {
		case err := <-got:
			t.Fatalf("a third connection was held while two were busy (%v)", err)
		default:
		}
		if l.Held() != 2 {
			t.Errorf("held %d, want the 2 busy ones", l.Held())
		}
		l.ConnState(conns[0], http.StateClosed)
		synctest.Wait()
		if err := <-got; err != nil || l.Held() != 2 {
			t.Fatalf("the waiting connection was not held once one closed: %v, %d held", err, l.Held())
		}
		// Both busy again; a closed listener stops the wait.
		l.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(nil,
			(&http.Request{}).WithContext(l.ConnContext(t.Context(), conns[2])))
		go func() { got <- l.hold(conns[0], done) }()
		synctest.Wait()
		close(done)
		synctest.Wait()
		if err := <-got; err == nil {
			t.Error("a connection was held after the listener closed")
		}
	})
}
