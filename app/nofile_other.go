//go:build !unix

package app

// openFilesLimit is the process's limit of open files (0: unknown).
func openFilesLimit() uint64 { return 0 }
