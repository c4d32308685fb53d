package probe

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/status"
)

// sqlServer checks a database server: connect and SELECT 1 within the
// timeout; with stats (or a value other than latency) it also reads the
// server's figures.
type sqlServer struct {
	db   *database
	name string // PostgreSQL, MySQL or SQLite, for messages
	config.ServerStats
	read func(ctx context.Context, c *sql.Conn) (serverStats, error) // nil: no stats
}

// dialectNames name the servers in messages.
var dialectNames = map[string]string{"postgres": "PostgreSQL", "mysql": "MySQL", "sqlite": "SQLite"}

// dialectStats read each dialect's figures.
var dialectStats = map[string]func(ctx context.Context, c *sql.Conn) (serverStats, error){
	"postgres": postgresStats,
	"mysql":    mysqlStats,
}

func newSQLServer(dsn string, st config.ServerStats, env Env) (Prober, error) {
	db, err := openDatabase(dsn, env.Logger)
	if err != nil {
		return nil, err
	}
	return &sqlServer{db: db, name: dialectNames[db.dialect], ServerStats: st, read: dialectStats[db.dialect]}, nil
}

// serverStats are the figures the postgres and mysql kinds report.
type serverStats struct {
	Version        string
	Connections    float64
	MaxConnections float64
	DatabaseSize   float64 // bytes
	Uptime         float64 // seconds
	Replica        bool
	ReplicationLag *float64 // seconds; nil when not a replica or unknown
}

func (s serverStats) details() map[string]any {
	d := map[string]any{
		"version":         s.Version,
		"connections":     s.Connections,
		"max_connections": s.MaxConnections,
		"database_size":   s.DatabaseSize,
		"uptime_seconds":  s.Uptime,
		"replica":         s.Replica,
	}
	if s.MaxConnections > 0 {
		d["connection_ratio"] = s.Connections / s.MaxConnections
	}
	if s.ReplicationLag != nil {
		d["replication_lag_seconds"] = *s.ReplicationLag
	}
	return d
}

func newPostgres(_ status.CheckID, c *config.Check, env Env) (Prober, error) {
	return newSQLServer(string(c.Postgres.DSN), c.Postgres.ServerStats, env)
}

func newMySQL(_ status.CheckID, c *config.Check, env Env) (Prober, error) {
	return newSQLServer(string(c.MySQL.DSN), c.MySQL.ServerStats, env)
}

// Probe implements Prober.
func (s *sqlServer) Probe(ctx context.Context) status.Result {
	start := time.Now()
	conn, err := s.db.conn(ctx)
	if err != nil {
		return fail("connect to %s: %s", s.name, s.db.secrets.scrub(describeErr(ctx, err)))
	}
	defer conn.Close()
	var one int
	if err := conn.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fail("%s: SELECT 1: %s", s.name, s.db.secrets.scrub(describeErr(ctx, err)))
	}
	took := time.Since(start)
	r := ok(status.Float(took.Seconds()), nil, "%s answers in %s", s.name, Human(took))
	if !s.ReadsStats() || s.read == nil {
		return r
	}
	st, err := s.read(ctx, conn.Conn)
	if err != nil {
		return fail("%s answers, but reading its stats failed: %s", s.name, s.db.secrets.scrub(describeErr(ctx, err)))
	}
	r.Details = st.details()
	name := s.name
	if strings.Contains(st.Version, "MariaDB") {
		name = "MariaDB"
	}
	r.Message = fmt.Sprintf("%s %s answers in %s: %.0f/%.0f connections", name, st.Version, Human(took), st.Connections, st.MaxConnections)
	if st.Replica {
		r.Message += ", replica"
		if st.ReplicationLag != nil {
			r.Message += fmt.Sprintf(" %s behind", Human(time.Duration(*st.ReplicationLag*float64(time.Second))))
		}
	}
	return withValue(r, s.Value)
}

// postgresStats reads a PostgreSQL server's figures. A replica's lag is
// the age of the last replayed transaction while WAL it received waits to
// be replayed, and 0 once it has caught up (an idle primary sends no
// transactions, and the age alone would grow without any lag).
func postgresStats(ctx context.Context, c *sql.Conn) (serverStats, error) {
	var s serverStats
	var lag sql.NullFloat64
	err := c.QueryRowContext(ctx, `SELECT current_setting('server_version'),
		(SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'),
		current_setting('max_connections')::int,
		pg_database_size(current_database()),
		EXTRACT(EPOCH FROM now() - pg_postmaster_start_time()),
		pg_is_in_recovery(),
		CASE WHEN NOT pg_is_in_recovery() THEN NULL
			WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
			ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END`).
		Scan(&s.Version, &s.Connections, &s.MaxConnections, &s.DatabaseSize, &s.Uptime, &s.Replica, &lag)
	if lag.Valid {
		s.ReplicationLag = &lag.Float64
	}
	return s, err
}

func mysqlStats(ctx context.Context, c *sql.Conn) (serverStats, error) {
	var s serverStats
	err := c.QueryRowContext(ctx, `SELECT VERSION(), @@max_connections,
		(SELECT COALESCE(SUM(data_length + index_length), 0) FROM information_schema.tables WHERE table_schema = DATABASE())`).
		Scan(&s.Version, &s.MaxConnections, &s.DatabaseSize)
	if err != nil {
		return s, err
	}
	rows, err := c.QueryContext(ctx, "SHOW GLOBAL STATUS WHERE Variable_name IN ('Threads_connected', 'Uptime')")
	if err != nil {
		return s, err
	}
	for rows.Next() {
		var name string
		var value float64
		if err := rows.Scan(&name, &value); err != nil {
			rows.Close()
			return s, err
		}
		switch strings.ToLower(name) {
		case "threads_connected":
			s.Connections = value
		case "uptime":
			s.Uptime = value
		}
	}
	if err := rows.Close(); err != nil {
		return s, err
	}
	// Replication status needs the REPLICATION CLIENT privilege; without
	// it the server is reported as not a replica.
	s.Replica, s.ReplicationLag = mysqlReplica(ctx, c)
	return s, nil
}

// mysqlReplica reads SHOW REPLICA STATUS (SHOW SLAVE STATUS on older
// servers): a row means the server replicates.
func mysqlReplica(ctx context.Context, c *sql.Conn) (bool, *float64) {
	rows, err := c.QueryContext(ctx, "SHOW REPLICA STATUS")
	if err != nil {
		if rows, err = c.QueryContext(ctx, "SHOW SLAVE STATUS"); err != nil {
			return false, nil
		}
	}
	defer rows.Close()
	if !rows.Next() {
		return false, nil
	}
	cols, err := rows.Columns()
	if err != nil {
		return true, nil
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if rows.Scan(ptrs...) != nil {
		return true, nil
	}
	for i, col := range cols {
		if (col == "Seconds_Behind_Master" || col == "Seconds_Behind_Source") && vals[i].Valid {
			var lag float64
			if _, err := fmt.Sscan(vals[i].String, &lag); err == nil {
				return true, &lag
			}
		}
	}
	return true, nil
}
