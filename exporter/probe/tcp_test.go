package probe

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/statusd/statusd/internal/status"
)

// lineServer answers each line with reply(line), keeping silent on "", and
// hangs up after the answer when hangUp is set.
func lineServer(t *testing.T, reply func(string) (answer string, hangUp bool)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					out, hangUp := reply(sc.Text())
					if out != "" {
						_, _ = c.Write([]byte(out))
					}
					if hangUp {
						return
					}
				}
			}()
		}
	}()
	return l.Addr().String()
}

func TestTCP(t *testing.T) {
	addr := lineServer(t, func(line string) (string, bool) {
		switch line {
		case "PING":
			return "+PONG\r\n", false
		case "BYE":
			return "closing\n", true
		}
		return "", false
	})
	cases := []struct {
		name, check string
		level       status.Level
		success     bool
		message     string
	}{
		{"connect", `{name: c, kind: tcp, address: "` + addr + `"}`, status.Fine, true, "connected to " + addr},
		{"send and expect", `{name: c, kind: tcp, address: "` + addr + `", send: "PING\n", expect: "^\\+PONG"}`, status.Fine, true, ""},
		{"unexpected answer", `{name: c, kind: tcp, address: "` + addr + `", send: "BYE\n", expect: "PONG"}`, status.Problem, false, `answer "closing\n" does not match /PONG/`},
		{"silent peer", `{name: c, kind: tcp, address: "` + addr + `", send: "HELLO\n", expect: "PONG", timeout: 200ms}`, status.Problem, false, "timed out after 200ms"},
		{"refused", `{name: c, kind: tcp, address: "` + closedAddr(t) + `"}`, status.Problem, false, "connection refused"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, c.check, Env{})
			wantLevel(t, r, c.level, c.success)
			if !strings.Contains(r.Message, c.message) {
				t.Errorf("message %q does not contain %q", r.Message, c.message)
			}
		})
	}
}
