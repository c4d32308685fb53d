package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/statusd/statusd/internal/store"
)

func (c *cli) addToken(a *kingpin.Application) {
	group := a.Command("token", "API tokens for the write routes (Alertmanager's intake) and the checks dashboard.")
	var name, scope string
	run := func(action string) func(context.Context) error {
		return func(ctx context.Context) error { return c.token(ctx, action, name, scope) }
	}
	add := c.command(group, "add", "Create a token and print it once; only its hash is stored.", run("add"))
	add.Arg("name", "Who or what uses it, e.g. alertmanager.").Required().StringVar(&name)
	add.Flag("scope", "read (the checks dashboard) or write (also the write routes).").Default(store.ScopeWrite).EnumVar(&scope, store.ScopeRead, store.ScopeWrite)
	c.command(group, "list", "List the tokens, with when each was last used.", run("list"))
	c.command(group, "revoke", "Revoke a token.", run("revoke")).
		Arg("name", "Token name.").Required().StringVar(&name)
}

// token runs `statusd token add|list|revoke`.
func (c *cli) token(ctx context.Context, action, name, scope string) error {
	stdout := c.stdout
	if action != "list" && !store.ValidName(name) {
		return fmt.Errorf("invalid token name %q: use up to 64 letters, digits, '-', '_' and '.'", name)
	}
	o, err := c.open(ctx, opening{store: true})
	if err != nil {
		return err
	}
	defer o.Close()
	st := o.store
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
		audit(ctx, st, "token.create", "token/"+name, nil, map[string]string{"name": name, "scope": scope}, now)
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
		audit(ctx, st, "token.revoke", "token/"+name, map[string]string{"name": name}, nil, now)
		fmt.Fprintf(stdout, "token %q revoked; running statusd processes refuse it within 5 seconds\n", name)
	}
	return nil
}

// audit records a write of the command line outside the evaluator's
// (tokens, users); a failure to record it is said, not fatal: the write
// is done.
func audit(ctx context.Context, st *store.Store, action, target string, before, after any, now time.Time) {
	if err := st.RecordAudit(ctx, cliActor(), action, target, before, after, now); err != nil {
		fmt.Fprintf(os.Stderr, "warning: the audit log did not record %s %s: %v\n", action, target, err)
	}
}
