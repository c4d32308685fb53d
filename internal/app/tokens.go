package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/statusd/statusd/internal/store"
)

// TokenCommand runs `statusd token add|list|revoke`.
func TokenCommand(ctx context.Context, action, name, scope, dsn string, stdout, stderr io.Writer) int {
	err := tokenCommand(ctx, action, name, scope, dsn, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "statusd token %s: %v\n", action, err)
		return 1
	}
	return 0
}

func tokenCommand(ctx context.Context, action, name, scope, dsn string, stdout io.Writer) error {
	if action != "list" && !store.ValidTokenName(name) {
		return fmt.Errorf("invalid token name %q: use up to 64 letters, digits, '-', '_' and '.'", name)
	}
	st, err := store.Open(ctx, dsn, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return fmt.Errorf("%s: %w", st, err)
	}
	now := time.Now()
	switch action {
	case "add":
		tok, err := st.AddToken(ctx, name, scope, now)
		if errors.Is(err, store.ErrTokenExists) {
			return fmt.Errorf("a token named %q exists; revoke it first (statusd token revoke %s) or choose another name", name, name)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\n", tok)
		fmt.Fprintf(stdout, "# token %q (scope %s): shown once, only its hash is stored. Send it as\n#   Authorization: Bearer %s\n", name, scope, tok)
	case "list":
		ts, err := st.Tokens(ctx)
		if err != nil {
			return err
		}
		rows := make([][]string, len(ts))
		for i, t := range ts {
			last := "never"
			if t.LastUsedAt.Valid {
				last = t.LastUsedAt.Time.UTC().Format(time.RFC3339)
			}
			rows[i] = []string{t.Name, t.Scope, t.CreatedAt.UTC().Format(time.RFC3339), last}
		}
		printTable(stdout, "no tokens (statusd token add NAME creates one)", []string{"NAME", "SCOPE", "CREATED", "LAST USED"}, rows)
	case "revoke":
		err := st.RevokeToken(ctx, name, now)
		if errors.Is(err, store.ErrNoToken) {
			return fmt.Errorf("no token named %q (statusd token list shows them)", name)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "token %q revoked; running statusd processes refuse it within 5 seconds\n", name)
	}
	return nil
}
