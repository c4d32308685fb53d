package downtime

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// upstream is an app behind a gate: a page, a stream of server-sent
// events the test paces, and a WebSocket echo.
func upstream(t *testing.T, next <-chan string) *httptest.Server {
	t.Helper()
	up := websocket.Upgrader{}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "app at "+r.Host+" for "+r.Header.Get("X-Forwarded-For")+" via "+r.Header.Get("X-Forwarded-Proto"))
	})
	mux.HandleFunc("/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		for ev := range next {
			_, _ = io.WriteString(w, "data: "+ev+"\n\n")
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			kind, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			_ = c.WriteMessage(kind, append([]byte("echo: "), msg...))
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestGate: the gate serves the app, streams its events as they come,
// passes WebSockets, serves the down page during downtime (exempt paths
// still reach the app), and says so when the app goes away.
func TestGate(t *testing.T) {
	events := make(chan string)
	app := upstream(t, events)
	src := &source{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := Watch(ctx, src, WatchOptions{Interval: time.Hour})
	target, _ := url.Parse(app.URL)
	gate := httptest.NewServer(NewGate(target, w, GateOptions{Options: Options{ExemptPaths: []string{"/ws"}}}))
	defer gate.Close()

	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(gate.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	gateHost := strings.TrimPrefix(gate.URL, "http://")
	if code, body := get("/"); code != 200 || body != "app at "+gateHost+" for 127.0.0.1 via http" {
		t.Fatalf("through the gate: %d %q", code, body)
	}

	// Server-sent events arrive one by one, before the stream ends.
	resp, err := http.Get(gate.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	rd := bufio.NewReader(resp.Body)
	for _, ev := range []string{"one", "two"} {
		events <- ev
		line, err := rd.ReadString('\n')
		if err != nil || line != "data: "+ev+"\n" {
			t.Fatalf("event %s: %q %v", ev, line, err)
		}
		_, _ = rd.ReadString('\n')
	}
	close(events)
	resp.Body.Close()

	// A WebSocket goes through.
	wsURL := "ws" + strings.TrimPrefix(gate.URL, "http") + "/ws"
	conn, wsResp, err := websocket.DefaultDialer.Dial(wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	wsResp.Body.Close()
	if err := conn.WriteMessage(websocket.TextMessage, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := conn.ReadMessage(); err != nil || string(msg) != "echo: hello" {
		t.Fatalf("WebSocket: %q %v", msg, err)
	}
	conn.Close()

	// Downtime: the down page, but for the exempt path.
	src.set(State{Periods: []Period{{ID: 1, Enabled: true, Start: at(-time.Hour), Reason: "Deploying"}}}, nil)
	if err := w.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if code, body := get("/"); code != 503 || !strings.Contains(body, "Deploying") {
		t.Errorf("during downtime: %d %.80q", code, body)
	}
	if conn, wsResp, err := websocket.DefaultDialer.Dial(wsURL, nil); err != nil {
		t.Errorf("the exempt WebSocket during downtime: %v", err)
	} else {
		wsResp.Body.Close()
		conn.Close()
	}
	src.set(State{}, nil)
	if err := w.Refresh(ctx); err != nil {
		t.Fatal(err)
	}

	// The app goes away: 502, or the down page when asked.
	app.Close()
	if code, _ := get("/"); code != http.StatusBadGateway {
		t.Errorf("with the app away: %d, want 502", code)
	}
	gate2 := httptest.NewServer(NewGate(target, w, GateOptions{UpstreamDown: true}))
	defer gate2.Close()
	resp, err = http.Get(gate2.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !strings.Contains(string(b), "Down for maintenance") {
		t.Errorf("with the app away and upstream_down: %d %.80q", resp.StatusCode, b)
	}
}
