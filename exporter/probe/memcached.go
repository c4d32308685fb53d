package probe

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/status"
)

// memcachedServer checks memcached: a write, read and delete of a key in
// statusd's namespace over the text protocol; with stats it reports its
// stats.
type memcachedServer struct {
	addr string
	key  string
	config.ServerStats
}

func newMemcached(id status.CheckID, c *config.Check, _ Env) (Prober, error) {
	return newMemcachedServer(id, c.Memcached.Address, c.Memcached.ServerStats), nil
}

func newMemcachedServer(id status.CheckID, addr string, st config.ServerStats) Prober {
	return &memcachedServer{addr: addr, key: memcachedKey(id), ServerStats: st}
}

// memcachedKey is checkKey within memcached's rules: at most 250 bytes,
// no spaces or control characters.
func memcachedKey(id status.CheckID) string {
	k := strings.Map(func(r rune) rune {
		if r <= ' ' || r == 0x7f {
			return '_'
		}
		return r
	}, checkKey(id))
	return k[:min(len(k), 250)]
}

// memcachedConn is one connection speaking memcached's text protocol.
type memcachedConn struct {
	conn net.Conn
	r    *bufio.Reader
}

func dialMemcached(ctx context.Context, addr string) (*memcachedConn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	return &memcachedConn{conn: conn, r: bufio.NewReader(conn)}, nil
}

func (m *memcachedConn) Close() error { return m.conn.Close() }

// do sends a command and returns the lines of the answer up to the one
// for which last returns true.
func (m *memcachedConn) do(cmd string, last func(string) bool) ([]string, error) {
	if _, err := m.conn.Write([]byte(cmd)); err != nil {
		return nil, err
	}
	var lines []string
	for {
		line, err := m.r.ReadString('\n')
		if err != nil {
			return lines, err
		}
		line = strings.TrimRight(line, "\r\n")
		if strings.HasPrefix(line, "ERROR") || strings.HasPrefix(line, "CLIENT_ERROR") || strings.HasPrefix(line, "SERVER_ERROR") {
			return lines, fmt.Errorf("memcached: %s", line)
		}
		lines = append(lines, line)
		if last(line) {
			return lines, nil
		}
	}
}

func is(want string) func(string) bool { return func(l string) bool { return l == want } }

// reply sends a command whose answer is one line, one of want.
func (m *memcachedConn) reply(cmd string, want ...string) error {
	lines, err := m.do(cmd, func(string) bool { return true })
	if err != nil {
		return err
	}
	if !slices.Contains(want, lines[0]) {
		return fmt.Errorf("unexpected reply %q: is this memcached?", truncate(lines[0], 40))
	}
	return nil
}

// memcachedRoundTrip writes, reads back and deletes key.
func memcachedRoundTrip(m *memcachedConn, key string) error {
	want := strconv.FormatInt(time.Now().UnixNano(), 10)
	if err := m.reply(fmt.Sprintf("set %s 0 60 %d\r\n%s\r\n", key, len(want), want), "STORED"); err != nil {
		return fmt.Errorf("set: %w", err)
	}
	lines, err := m.do("get "+key+"\r\n", is("END"))
	if err != nil {
		return fmt.Errorf("get: %w", err)
	}
	if len(lines) != 3 || lines[1] != want {
		return fmt.Errorf("get did not return what was written")
	}
	if err := m.reply("delete "+key+"\r\n", "DELETED", "NOT_FOUND"); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	return nil
}

// Probe implements Prober.
func (s *memcachedServer) Probe(ctx context.Context) status.Result {
	start := time.Now()
	m, err := dialMemcached(ctx, s.addr)
	if err != nil {
		return fail("memcached at %s: %s", s.addr, describeErr(ctx, err))
	}
	defer m.Close()
	if err := memcachedRoundTrip(m, s.key); err != nil {
		return fail("memcached at %s: %s", s.addr, describeErr(ctx, err))
	}
	took := time.Since(start)
	res := ok(status.Float(took.Seconds()), nil, "memcached at %s answers in %s", s.addr, Human(took))
	if !s.ReadsStats() {
		return res
	}
	lines, err := m.do("stats\r\n", is("END"))
	if err != nil {
		return fail("memcached at %s answers, but stats failed: %s", s.addr, describeErr(ctx, err))
	}
	st := map[string]string{}
	for _, l := range lines {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "STAT" {
			st[f[1]] = f[2]
		}
	}
	num := func(k string) float64 { f, _ := strconv.ParseFloat(st[k], 64); return f }
	hits, misses := num("get_hits"), num("get_misses")
	details := map[string]any{
		"version":          st["version"],
		"curr_connections": num("curr_connections"),
		"bytes":            num("bytes"),
		"limit_maxbytes":   num("limit_maxbytes"),
		"curr_items":       num("curr_items"),
		"get_hits":         hits,
		"get_misses":       misses,
		"evictions":        num("evictions"),
		"uptime_seconds":   num("uptime"),
	}
	if r := hitRatio(hits, misses); r != nil {
		details["hit_ratio"] = *r
	}
	res.Details = details
	res.Message = fmt.Sprintf("memcached %s at %s answers in %s: %.0f items, %.0f connections", st["version"], s.addr, Human(took), num("curr_items"), num("curr_connections"))
	return withValue(res, s.Value)
}
