package probe

import (
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"github.com/statusd/statusd/internal/config"
)

// FuzzDSN feeds DSNs as a user writes them to what reads them: no panic,
// and an error never repeats the user or the password.
func FuzzDSN(f *testing.F) {
	for _, s := range []string{
		"postgres://app:pw-secret@db:5432/app?sslmode=disable",
		"postgresql:///app?host=/run/postgresql",
		"host=db user=app password='p w' dbname=app",
		"mysql://app:pw-secret@db/app?parseTime=true",
		"app:pw-secret@tcp(db:3306)/app?timeout=1s",
		"app:pw@unix(/run/mysqld.sock)/app",
		"sqlite:/var/lib/app.db",
		"redis://:pw-secret@cache:6379/1",
		"rediss://user:pw@cache/0?dial_timeout=1s",
		"memcached://cache:11211",
		"amqp://guest:guest@mq:5672//",
	} {
		f.Add(s)
	}
	logger := slog.New(slog.DiscardHandler)
	f.Fuzz(func(t *testing.T, dsn string) {
		var hidden []string
		if u, err := url.Parse(dsn); err == nil && u.User != nil {
			pw, _ := u.User.Password()
			hidden = append(hidden, pw, u.User.Username())
		}
		check := func(err error) {
			for _, h := range hidden {
				if err != nil && len(h) >= 3 && strings.Contains(err.Error(), h) {
					t.Fatalf("error shows the user or password %q: %v", h, err)
				}
			}
		}
		switch config.DSNScheme(dsn) {
		case "postgres", "mysql", "sqlite":
			_, err := openDatabase(dsn, logger)
			check(err)
		case "redis", "rediss":
			_, err := redisOptions(dsn)
			check(err)
		}
		_ = redactURL(dsn)
	})
}
