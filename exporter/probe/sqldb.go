package probe

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/lib/pq"
	"modernc.org/sqlite"

	"github.com/statusd/statusd/internal/config"
)

// database is a SQL database a check connects to, a new connection per
// run: a health check must see whether the server accepts connections, and
// a check keeps nothing open between runs.
type database struct {
	connector driver.Connector
	dialect   string // postgres, mysql or sqlite
	secrets   secrets
}

// openDatabase prepares connections to a DSN (postgres://…, mysql://… or
// a go-sql-driver DSN, sqlite:PATH). It does not connect.
func openDatabase(dsn string, logger *slog.Logger) (*database, error) {
	d := &database{dialect: config.DSNScheme(dsn), secrets: secretsOf(dsn)}
	switch d.dialect {
	case "postgres":
		c, err := pq.NewConnector(dsn)
		if err != nil {
			return nil, fmt.Errorf("invalid PostgreSQL DSN: %s", d.secrets.scrub(err.Error()))
		}
		// lib/pq bounds the dial by ctx but not the handshake: a server
		// that accepts and never answers would hold the check.
		c.Dialer(deadlineDialer{})
		d.connector = c
	case "mysql":
		cfg, err := mysqlConfig(dsn)
		if err != nil {
			return nil, fmt.Errorf("invalid MySQL DSN: %s", d.secrets.scrub(err.Error()))
		}
		// The driver would otherwise print to the standard logger.
		cfg.Logger = mysqlLogger{logger, d.secrets}
		c, err := mysql.NewConnector(cfg)
		if err != nil {
			return nil, fmt.Errorf("invalid MySQL DSN: %s", d.secrets.scrub(err.Error()))
		}
		d.connector = c
	case "sqlite":
		path := strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "file:"), "//")
		path, _, _ = strings.Cut(path, "?")
		d.connector = dsnConnector{&sqlite.Driver{}, "file:" + path + "?mode=ro&_pragma=busy_timeout(5000)&_pragma=query_only(1)"}
	default:
		return nil, fmt.Errorf("unsupported database DSN (scheme %q)", d.dialect)
	}
	return d, nil
}

// dbConn is one connection of a check run; Close ends it.
type dbConn struct {
	*sql.Conn
	db *sql.DB
}

// Close closes the connection and its pool.
func (c dbConn) Close() error {
	err := c.Conn.Close()
	c.db.Close()
	return err
}

// conn opens a new connection that answers, bounded by ctx.
func (d *database) conn(ctx context.Context) (dbConn, error) {
	db := sql.OpenDB(d.connector)
	db.SetMaxIdleConns(0)
	c, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return dbConn{}, err
	}
	// database/sql may hand back a connection without touching the
	// server; make sure it answers.
	if err := c.PingContext(ctx); err != nil {
		c.Close()
		db.Close()
		return dbConn{}, err
	}
	return dbConn{c, db}, nil
}

// dsnConnector adapts a driver that only opens DSNs.
type dsnConnector struct {
	driver driver.Driver
	dsn    string
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.driver.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return c.driver }

// deadlineDialer dials for lib/pq and gives the connection ctx's deadline,
// which then bounds the handshake and every query of the run.
type deadlineDialer struct{}

func (deadlineDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	return c, nil
}

func (deadlineDialer) Dial(network, addr string) (net.Conn, error) {
	return net.Dial(network, addr)
}

func (deadlineDialer) DialTimeout(network, addr string, timeout time.Duration) (net.Conn, error) {
	return net.DialTimeout(network, addr, timeout)
}

// mysqlConfig reads a mysql://user:pass@host:port/db?params URL or a
// go-sql-driver DSN.
func mysqlConfig(dsn string) (*mysql.Config, error) {
	if strings.HasPrefix(dsn, "mysql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return nil, fmt.Errorf("invalid URL")
		}
		host := u.Host
		if u.Port() == "" {
			host = net.JoinHostPort(u.Hostname(), "3306")
		}
		user := u.User.Username()
		if pw, ok := u.User.Password(); ok {
			user += ":" + pw
		}
		dsn = fmt.Sprintf("%s@tcp(%s)%s", user, host, u.Path)
		if u.RawQuery != "" {
			dsn += "?" + u.RawQuery
		}
		if u.Path == "" {
			dsn = strings.Replace(dsn, ")", ")/", 1)
		}
	}
	return mysql.ParseDSN(dsn)
}

// mysqlLogger takes what go-sql-driver would print to the standard
// logger, scrubbed of the DSN's secrets.
type mysqlLogger struct {
	logger  *slog.Logger
	secrets secrets
}

func (l mysqlLogger) Print(v ...any) {
	l.logger.Debug("MySQL driver", "msg", l.secrets.scrub(fmt.Sprint(v...)))
}

// secrets are the parts of a DSN that must never appear in a result, a
// log line or a metric: the DSN itself, the user and the password.
type secrets []string

var (
	kvSecret    = regexp.MustCompile(`\b(?:password|user)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)`)
	mysqlSecret = regexp.MustCompile(`^([^:@/]*)(?::(.*))?@(?:tcp|unix)\(`)
)

func secretsOf(dsn string) secrets {
	s := secrets{dsn}
	if u, err := url.Parse(dsn); err == nil {
		if u.User != nil {
			s = append(s, u.User.Username())
			if pw, ok := u.User.Password(); ok {
				s = append(s, pw, url.UserPassword("", pw).String()[1:])
			}
		}
		s = append(s, u.Query().Get("password"), u.Query().Get("user"))
	}
	for _, m := range kvSecret.FindAllStringSubmatch(dsn, -1) {
		s = append(s, strings.Trim(m[1], "'"))
	}
	if m := mysqlSecret.FindStringSubmatch(dsn); m != nil {
		s = append(s, m[1], m[2])
	}
	// Longest first, so that a part of a longer secret goes with it.
	slices.SortFunc(s, func(a, b string) int { return len(b) - len(a) })
	return s
}

// scrub removes the secrets from a message. Secrets shorter than three
// characters are left: replacing them would garble the message more than
// it hides.
func (s secrets) scrub(msg string) string {
	for _, secret := range s {
		if len(secret) >= 3 {
			msg = strings.ReplaceAll(msg, secret, "xxxxx")
		}
	}
	return msg
}
