package testsvc

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"
)

// PostgresServer is a throwaway PostgreSQL cluster of a test's own
// (initdb, pg_ctl), which the test can stop and start again. It needs the
// server binaries (/usr/lib/postgresql/*/bin); as root it runs them as the
// postgres user.
type PostgresServer struct {
	t       testing.TB
	bin     string
	dir     string // the cluster's folder: data, socket and log
	data    string
	port    int
	running bool
}

// NewPostgresServer initialises a cluster, removed when the test ends. It
// is not started.
func NewPostgresServer(t testing.TB) *PostgresServer {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		Unavailable(t, "PostgreSQL server binaries", os.ErrNotExist, "install Debian's postgresql package")
	}
	sort.Strings(bins)
	dir, err := os.MkdirTemp("", "statusd-pg-")
	if err != nil {
		t.Fatal(err)
	}
	giveTo(t, dir, "postgres")
	s := &PostgresServer{t: t, bin: filepath.Dir(bins[len(bins)-1]), dir: dir, data: filepath.Join(dir, "data"), port: FreePort(t)}
	t.Cleanup(func() {
		if s.running {
			_ = s.cmd("pg_ctl", "-D", s.data, "-m", "immediate", "stop").Run()
		}
		os.RemoveAll(dir)
	})
	s.run("initdb", "-D", s.data, "-U", "postgres", "-A", "trust", "--no-sync")
	return s
}

// cmd is a server program run as the postgres user when this is root.
func (s *PostgresServer) cmd(name string, args ...string) *exec.Cmd {
	path := filepath.Join(s.bin, name)
	if os.Geteuid() == 0 {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}

func (s *PostgresServer) run(name string, args ...string) {
	s.t.Helper()
	if out, err := s.cmd(name, args...).CombinedOutput(); err != nil {
		s.t.Fatalf("%s: %v\n%s", name, err, out)
	}
}

// Start starts the server and waits until it accepts connections.
func (s *PostgresServer) Start() {
	s.t.Helper()
	s.run("pg_ctl", "-D", s.data, "-l", filepath.Join(s.dir, "server.log"), "-w", "-t", "30",
		"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", s.port, s.dir), "start")
	s.running = true
}

// Stop stops the server at once, closing its connections.
func (s *PostgresServer) Stop() {
	s.t.Helper()
	s.run("pg_ctl", "-D", s.data, "-m", "fast", "-w", "stop")
	s.running = false
}

// DSN is the server's postgres database.
func (s *PostgresServer) DSN() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.port)
}

// PostgresReplica starts a throwaway PostgreSQL primary and a streaming
// replica of it (pg_basebackup -R), for the length of the test, and
// returns the DSNs of both.
func PostgresReplica(t testing.TB) (primary, replica string) {
	t.Helper()
	p := NewPostgresServer(t)
	// initdb's pg_hba.conf already lets local users replicate with trust.
	p.Start()
	r := &PostgresServer{t: t, bin: p.bin, dir: p.dir, data: filepath.Join(p.dir, "replica"), port: FreePort(t)}
	t.Cleanup(func() {
		if r.running {
			_ = r.cmd("pg_ctl", "-D", r.data, "-m", "immediate", "stop").Run()
		}
	})
	r.run("pg_basebackup", "-h", "127.0.0.1", "-p", strconv.Itoa(p.port), "-U", "postgres", "-D", r.data, "-R", "-X", "stream", "--no-sync")
	r.Start()

	// Wait until the replica streams from the primary.
	db, err := sql.Open("postgres", r.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		var status sql.NullString
		err := db.QueryRowContext(ctx, "SELECT status FROM pg_stat_wal_receiver").Scan(&status)
		cancel()
		if err == nil && status.String == "streaming" {
			return p.DSN(), r.DSN()
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replica does not stream (%v, %q)", err, status.String)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// giveTo hands dir to a system user when running as root, for servers
// that refuse to run as root.
func giveTo(t testing.TB, dir, username string) {
	t.Helper()
	if os.Geteuid() != 0 {
		return
	}
	u, err := user.Lookup(username)
	if err != nil {
		Unavailable(t, "a "+username+" user to run a throwaway server as root", err, "install the server's Debian package, which creates it")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
}
