//go:build unix

package app

import "syscall"

// openFilesLimit is the process's limit of open files (0: unknown).
func openFilesLimit() uint64 {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0
	}
	return l.Cur
}
