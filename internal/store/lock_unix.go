//go:build unix

package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// lockFile takes an exclusive lock on path+".lock", held until the file
// it returns is closed (by the process's death too, so a kill -9 leaves
// no stale lock). A flock on a file of its own: SQLite's own locks are
// POSIX record locks on the database file, which a second lock on that
// file would interfere with, and which end at any close of the file
// within the process.
func lockFile(path string) (*os.File, error) {
	name := path + ".lock"
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(name)
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (pid %s holds %s)", ErrLocked, holderPID(holder), name)
		}
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	// Who holds it, for the message the next one prints.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

func holderPID(b []byte) string {
	if p := string(bytes.TrimSpace(b)); p != "" {
		return p
	}
	return "unknown"
}
