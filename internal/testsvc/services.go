package testsvc

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"
)

// Defaults for the services of the development machine; each can be
// overridden by its STATUSD_TEST_* variable.
const (
	DefaultMySQLDSN = "root@tcp(127.0.0.1:3306)/test"
	DefaultRedisURL = "redis://127.0.0.1:6379/0"
	DefaultAMQPURL  = "amqp://guest:guest@127.0.0.1:5672/"
)

// MySQL returns a go-sql-driver DSN of the test MariaDB/MySQL server, with
// an administrative user (STATUSD_TEST_MYSQL_DSN).
func MySQL(t testing.TB) string {
	t.Helper()
	dsn := Env("STATUSD_TEST_MYSQL_DSN", DefaultMySQLDSN)
	db, err := sql.Open("mysql", dsn)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = db.PingContext(ctx)
		cancel()
		db.Close()
	}
	if err != nil {
		Unavailable(t, "MariaDB/MySQL", err, "start MariaDB (Debian: apt-get install mariadb-server) or set STATUSD_TEST_MYSQL_DSN")
	}
	return dsn
}

// MySQLUser creates a user with a password on the test MySQL server for
// the length of the test and returns a go-sql-driver DSN that logs in as
// it to the same database as MySQL(t).
func MySQLUser(t testing.TB, password string) string {
	t.Helper()
	admin := MySQL(t)
	db, err := sql.Open("mysql", admin)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cfg, err := mysql.ParseDSN(admin)
	if err != nil {
		t.Fatal(err)
	}
	user := "statusd_" + randomHex(4)
	for _, stmt := range []string{
		fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", user, password),
		fmt.Sprintf("GRANT ALL PRIVILEGES ON `%s`.* TO '%s'@'%%'", cfg.DBName, user),
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("create MySQL user: %v", err)
		}
	}
	t.Cleanup(func() {
		db, err := sql.Open("mysql", admin)
		if err != nil {
			return
		}
		defer db.Close()
		if _, err := db.Exec(fmt.Sprintf("DROP USER '%s'@'%%'", user)); err != nil {
			t.Errorf("drop MySQL user %s: %v", user, err)
		}
	})
	cfg.User, cfg.Passwd = user, password
	return cfg.FormatDSN()
}

// Redis returns the URL of the test Redis server (STATUSD_TEST_REDIS_URL).
func Redis(t testing.TB) string {
	t.Helper()
	u := Env("STATUSD_TEST_REDIS_URL", DefaultRedisURL)
	opts, err := redis.ParseURL(u)
	if err == nil {
		c := redis.NewClient(opts)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = c.Ping(ctx).Err()
		cancel()
		c.Close()
	}
	if err != nil {
		Unavailable(t, "Redis", err, "start Redis (Debian: apt-get install redis-server) or set STATUSD_TEST_REDIS_URL")
	}
	return u
}

// RedisUser creates an ACL user with a password and ACL rules (such as
// "~*", "+@all") on the test Redis server for the length of the test and
// returns a URL that logs in as it.
func RedisUser(t testing.TB, password string, rules ...string) string {
	t.Helper()
	base := Redis(t)
	opts, _ := redis.ParseURL(base)
	c := redis.NewClient(opts)
	user := "statusd_" + randomHex(4)
	ctx := context.Background()
	args := append([]any{"ACL", "SETUSER", user, "on", ">" + password}, toAny(rules)...)
	if err := c.Do(ctx, args...).Err(); err != nil {
		c.Close()
		t.Fatalf("create Redis user: %v", err)
	}
	t.Cleanup(func() {
		defer c.Close()
		if err := c.Do(ctx, "ACL", "DELUSER", user).Err(); err != nil {
			t.Errorf("delete Redis user %s: %v", user, err)
		}
	})
	return fmt.Sprintf("redis://%s:%s@%s/%d", user, password, opts.Addr, opts.DB)
}

// AMQP returns the URL of the test RabbitMQ server (STATUSD_TEST_AMQP_URL).
func AMQP(t testing.TB) string {
	t.Helper()
	u := Env("STATUSD_TEST_AMQP_URL", DefaultAMQPURL)
	conn, err := amqp.DialConfig(u, amqp.Config{Dial: amqp.DefaultDial(5 * time.Second)})
	if err == nil {
		conn.Close()
	}
	if err != nil {
		Unavailable(t, "RabbitMQ", err, "start RabbitMQ (Debian: apt-get install rabbitmq-server) or set STATUSD_TEST_AMQP_URL")
	}
	return u
}

// MemcachedServer is a memcached a test started.
type MemcachedServer struct {
	*Process
	Addr string
}

// Memcached starts a memcached server (Debian: memcached) on a free
// loopback port for the length of the test.
func Memcached(t testing.TB) *MemcachedServer {
	t.Helper()
	bin, err := exec.LookPath("memcached")
	if err != nil {
		if _, serr := os.Stat("/usr/bin/memcached"); serr != nil {
			Unavailable(t, "memcached", err, "install it (Debian: apt-get install memcached)")
		}
		bin = "/usr/bin/memcached"
	}
	port := FreePort(t)
	args := []string{"-l", "127.0.0.1", "-p", fmt.Sprint(port), "-U", "0", "-m", "16"}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "nobody") // memcached refuses to run as root
	}
	addr := net.JoinHostPort("127.0.0.1", fmt.Sprint(port))
	p := Start(t, "memcached", bin, args...)
	p.WaitTCP(t, addr, 10*time.Second)
	return &MemcachedServer{p, addr}
}

// FreePort returns a loopback TCP port nothing listened on a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
