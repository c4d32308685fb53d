package probe

import (
	"bufio"
	"net"
	"testing"
	"time"

	"github.com/statusd/statusd/internal/status"
)

// lineServer answers each line with reply(line), keeping silent on "", and
// hangs up after the answer when hangUp is set.
func lineServer(t *testing.T, reply func(string) (answer string, hangUp bool)) string {
	t.Helper()
	return serve(t, listen(t), func(c net.Conn) {
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
	})
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
	cases := []probeCase{
		{"connect", `{name: c, kind: tcp, address: "` + addr + `"}`, status.Fine, true, "connected to " + addr},
		{"send and expect", `{name: c, kind: tcp, address: "` + addr + `", send: "PING\n", expect: "^\\+PONG"}`, status.Fine, true, ""},
		{"unexpected answer", `{name: c, kind: tcp, address: "` + addr + `", send: "BYE\n", expect: "PONG"}`, status.Problem, false, `answer "closing\n" does not match /PONG/`},
		{"silent peer", `{name: c, kind: tcp, address: "` + addr + `", send: "HELLO\n", expect: "PONG", timeout: 200ms}`, status.Problem, false, "timed out after 200ms"},
		{"refused", `{name: c, kind: tcp, address: "` + closedAddr(t) + `"}`, status.Problem, false, "connection refused"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.run(t)
		})
	}
}
