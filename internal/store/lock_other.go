//go:build !unix

package store

import "os"

// lockFile takes no lock where flock is missing: there, running one
// statusd per SQLite file is the operator's care.
func lockFile(string) (*os.File, error) { return nil, nil }
