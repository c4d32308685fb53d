package probe

import (
	"log/slog"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) {
	// As main does: go-redis would print failed dials to stderr.
	redis.SetLogger(RedisLogger{Logger: slog.New(slog.DiscardHandler)})
	os.Exit(m.Run())
}
