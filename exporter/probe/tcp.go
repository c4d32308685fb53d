package probe

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/status"
)

// maxExpect is how much a tcp check reads while waiting for its answer.
const maxExpect = 64 << 10

// newTCP connects to an address; with send it writes that text, with
// expect it reads until the answer matches. The value is the time taken in
// seconds.
func newTCP(_ status.CheckID, c *config.Check, _ Env) (Prober, error) {
	t := c.TCP
	return ProberFunc(func(ctx context.Context) status.Result {
		start := time.Now()
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", t.Address)
		if err != nil {
			return fail("connect to %s: %s", t.Address, describeErr(ctx, err))
		}
		defer conn.Close()
		if dl, ok := ctx.Deadline(); ok {
			_ = conn.SetDeadline(dl)
		}
		// Closing the connection when ctx ends unblocks reads and writes.
		stop := context.AfterFunc(ctx, func() { conn.Close() })
		defer stop()
		if t.Send != "" {
			if _, err := io.WriteString(conn, t.Send); err != nil {
				return fail("send to %s: %s", t.Address, describeErr(ctx, err))
			}
		}
		if t.Expect != nil {
			if err := expect(bufio.NewReader(io.LimitReader(conn, maxExpect)), t.Expect); err != nil {
				return fail("%s: %s", t.Address, describeErr(ctx, err))
			}
		}
		took := time.Since(start)
		return ok(status.Float(took.Seconds()), nil, "connected to %s in %s", t.Address, Human(took))
	}), nil
}

// expect reads until what was read matches re.
func expect(r *bufio.Reader, re *config.Regexp) error {
	var got []byte
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		got = append(got, buf[:n]...)
		if re.Match(got) {
			return nil
		}
		if err != nil {
			if err == io.EOF {
				return fmt.Errorf("answer %q does not match /%s/", truncate(string(got), 80), re)
			}
			return err
		}
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
