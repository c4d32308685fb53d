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

// PostgresReplica starts a throwaway PostgreSQL primary and a streaming
// replica of it (initdb, pg_basebackup -R), for the length of the test,
// and returns the DSNs of both. It needs the server binaries
// (/usr/lib/postgresql/*/bin); as root it runs them as the postgres user.
func PostgresReplica(t testing.TB) (primary, replica string) {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		Unavailable(t, "PostgreSQL server binaries", os.ErrNotExist, "install Debian's postgresql package")
	}
	sort.Strings(bins)
	bin := filepath.Dir(bins[len(bins)-1])
	asPG := func(name string, args ...string) *exec.Cmd {
		cmd := exec.Command(filepath.Join(bin, name), args...)
		if os.Geteuid() == 0 {
			cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(bin, name)}, args...)...)
		}
		return cmd
	}
	run := func(name string, args ...string) {
		t.Helper()
		if out, err := asPG(name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
	}

	dir, err := os.MkdirTemp("", "statusd-pg-")
	if err != nil {
		t.Fatal(err)
	}
	giveTo(t, dir, "postgres")
	var started []string
	t.Cleanup(func() {
		for _, data := range started {
			_ = asPG("pg_ctl", "-D", data, "-m", "immediate", "stop").Run()
		}
		os.RemoveAll(dir)
	})
	start := func(data string, port int) string {
		t.Helper()
		run("pg_ctl", "-D", data, "-l", filepath.Join(dir, filepath.Base(data)+".log"), "-w", "-t", "30",
			"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", port, dir), "start")
		started = append(started, data)
		return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	}

	pdata, rdata := filepath.Join(dir, "primary"), filepath.Join(dir, "replica")
	run("initdb", "-D", pdata, "-U", "postgres", "-A", "trust", "--no-sync")
	// initdb's pg_hba.conf already lets local users replicate with trust.
	primary = start(pdata, FreePort(t))
	pport := primary[len("postgres://postgres@127.0.0.1:"):]
	pport = pport[:len(pport)-len("/postgres?sslmode=disable")]
	run("pg_basebackup", "-h", "127.0.0.1", "-p", pport, "-U", "postgres", "-D", rdata, "-R", "-X", "stream", "--no-sync")
	replica = start(rdata, FreePort(t))

	// Wait until the replica streams from the primary.
	db, err := sql.Open("postgres", replica)
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
			return primary, replica
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
