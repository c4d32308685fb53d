package testsvc

import (
	"bytes"
	"net"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Process is a server a test started; it is killed, with its children,
// when the test ends.
type Process struct {
	name string
	cmd  *exec.Cmd
	out  *Buffer
	done chan struct{}
	once sync.Once
}

// Start runs a program in its own process group. Its output is shown when
// the test fails.
func Start(t testing.TB, name, bin string, args ...string) *Process {
	t.Helper()
	return StartCmd(t, name, exec.Command(bin, args...))
}

// StartCmd starts cmd as Start does.
func StartCmd(t testing.TB, name string, cmd *exec.Cmd) *Process {
	t.Helper()
	p := &Process{name: name, cmd: cmd, out: &Buffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.out.String())
		}
	})
	return p
}

// Stop kills the process group and waits for the process to end.
func (p *Process) Stop() {
	p.once.Do(func() {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	})
}

// Output is what the process printed so far.
func (p *Process) Output() string { return p.out.String() }

// Exited tells whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// WaitTCP waits until addr accepts connections, failing the test when the
// process exits or the wait runs out.
func (p *Process) WaitTCP(t testing.TB, addr string, within time.Duration) {
	t.Helper()
	p.WaitFor(t, within, func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

// WaitFor polls ready until it holds, failing the test when the process
// exits or the wait runs out.
func (p *Process) WaitFor(t testing.TB, within time.Duration, ready func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ready() {
		if p.Exited() {
			t.Fatalf("%s exited:\n%s", p.name, p.out.String())
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after %s:\n%s", p.name, within, p.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Buffer collects output, such as a process's or a logger's, safely
// across goroutines.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Count counts the occurrences of text in what was written.
func (s *Buffer) Count(text string) int {
	return strings.Count(s.String(), text)
}
