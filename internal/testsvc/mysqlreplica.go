package testsvc

import (
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// MySQLReplica starts a throwaway MariaDB primary (with a binary log) and
// a replica of it, for the length of the test, and returns go-sql-driver
// DSNs of both, logged in as root. It needs Debian's mariadb-server
// (mariadb-install-db, mariadbd); as root the servers run as mysql.
func MySQLReplica(t testing.TB) (primary, replica string) {
	t.Helper()
	install, err := exec.LookPath("mariadb-install-db")
	if err != nil {
		Unavailable(t, "MariaDB server binaries", err, "install Debian's mariadb-server")
	}
	mariadbd := "/usr/sbin/mariadbd"
	if _, err := os.Stat(mariadbd); err != nil {
		Unavailable(t, "mariadbd", err, "install Debian's mariadb-server")
	}
	dir, err := os.MkdirTemp("", "statusd-mariadb-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	giveTo(t, dir, "mysql")
	pdata, rdata := filepath.Join(dir, "primary"), filepath.Join(dir, "replica")
	if out, err := exec.Command(install, "--no-defaults", "--datadir="+pdata, "--user=mysql",
		"--auth-root-authentication-method=normal", "--skip-test-db").CombinedOutput(); err != nil {
		t.Fatalf("mariadb-install-db: %v\n%s", err, out)
	}
	// The replica starts from the same files; the primary's binary log
	// then holds everything written after.
	if out, err := exec.Command("cp", "-a", pdata, rdata).CombinedOutput(); err != nil {
		t.Fatalf("copy the data directory: %v\n%s", err, out)
	}
	start := func(name, data string, extra ...string) string {
		t.Helper()
		port := FreePort(t)
		args := append([]string{"--no-defaults", "--datadir=" + data, fmt.Sprintf("--port=%d", port),
			"--bind-address=127.0.0.1", "--socket=" + filepath.Join(dir, name+".sock"),
			"--pid-file=" + filepath.Join(dir, name+".pid"), "--user=mysql", "--skip-name-resolve",
			"--innodb-buffer-pool-size=16M"}, extra...)
		p := Start(t, "mariadbd "+name, mariadbd, args...)
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		p.WaitTCP(t, addr, 30*time.Second)
		return fmt.Sprintf("root@tcp(%s)/mysql", addr)
	}
	primary = start("primary", pdata, "--log-bin=mysql-bin", "--server-id=1")
	replica = start("replica", rdata, "--server-id=2")

	db, err := sql.Open("mysql", replica)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var pport int
	if _, err := fmt.Sscanf(primary, "root@tcp(127.0.0.1:%d)", &pport); err != nil {
		t.Fatalf("primary DSN %s: %v", primary, err)
	}
	for _, stmt := range []string{
		fmt.Sprintf("CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=%d, MASTER_USER='root', MASTER_PASSWORD='', "+
			"MASTER_LOG_FILE='mysql-bin.000001', MASTER_LOG_POS=4, MASTER_USE_GTID=no", pport),
		"START REPLICA",
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	return primary, replica
}
