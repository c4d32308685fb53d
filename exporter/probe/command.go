package probe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/status"
)

// maxOutput is how much of a command's output is kept.
const maxOutput = 64 << 10

// newCommand runs a program as a Nagios plugin: exit 0 is fine, 1 warning,
// 2 problem, 3 or anything else problem ("unknown"). The first line of its
// output is the message; the first perfdata value after "|" is the value.
// The program runs in its own process group, killed whole at the timeout.
func newCommand(_ status.CheckID, c *config.Check, _ Env) (Prober, error) {
	cmdCfg := c.Command
	env := os.Environ()
	for k, v := range cmdCfg.Env {
		env = append(env, k+"="+string(v))
	}
	return ProberFunc(func(ctx context.Context) status.Result {
		start := time.Now()
		cmd := exec.CommandContext(ctx, cmdCfg.Command[0], cmdCfg.Command[1:]...)
		cmd.Dir = cmdCfg.Dir
		cmd.Env = env
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
		cmd.WaitDelay = time.Second
		var stdout, stderr limitedBuffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		took := time.Since(start)
		if ctx.Err() != nil {
			return fail("%s", describeErr(ctx, ctx.Err()))
		}
		code := 0
		var exitErr *exec.ExitError
		switch {
		case errors.As(err, &exitErr):
			code = exitErr.ExitCode()
		case err != nil:
			return fail("cannot run %s: %s", cmdCfg.Command[0], err)
		}
		out := stdout.String()
		if strings.TrimSpace(out) == "" {
			out = stderr.String()
		}
		message, value := parsePluginOutput(out)
		r := status.Result{Value: value, Message: message, Details: map[string]any{"exit_code": code}}
		switch code {
		case 0:
			r.Level, r.Success = status.Fine, true
		case 1:
			r.Level, r.Success = status.Warning, true
		case 2:
			r.Level = status.Problem
		default:
			r.Level = status.Problem
			r.Message = fmt.Sprintf("unknown (exit %d): %s", code, message)
		}
		if r.Message == "" {
			r.Message = fmt.Sprintf("exit %d in %s", code, Human(took))
		}
		return r
	}), nil
}

// parsePluginOutput splits a plugin's first line into its text and the
// first perfdata value: "OK - load 0.5 | load=0.5;1;2;0;" → ("OK - load
// 0.5", 0.5).
func parsePluginOutput(out string) (string, *float64) {
	line, _, _ := strings.Cut(out, "\n")
	text, perf, hasPerf := strings.Cut(line, "|")
	text = strings.TrimSpace(text)
	if !hasPerf {
		return text, nil
	}
	// The label may be quoted and hold spaces: 'disk used'=5GB;…
	_, val, ok := strings.Cut(perf, "=")
	if !ok {
		return text, nil
	}
	end := 0
	for end < len(val) && strings.ContainsRune("0123456789.-+eE", rune(val[end])) {
		end++
	}
	f, err := strconv.ParseFloat(val[:end], 64)
	if err != nil {
		return text, nil
	}
	return text, &f
}

// limitedBuffer keeps the first maxOutput bytes written to it.
type limitedBuffer struct{ bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := maxOutput - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
