package main

import (
	"context"
	"fmt"

	"github.com/statusd/statusd/internal/store"
)

// migrate applies the schema migrations and says where the database is.
func (c *cli) migrate(ctx context.Context) error {
	st, err := store.Open(ctx, c.storageDSN, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	ran, err := st.Migrate(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", st, err)
	}
	for _, m := range ran {
		fmt.Fprintf(c.stdout, "applied %04d_%s\n", m.Version, m.Name)
	}
	v, err := st.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%s is at schema version %d\n", st, v)
	return nil
}
