package store

import (
	"context"
	"fmt"
	"sync"

	"github.com/jmoiron/sqlx"
)

// prepared keeps the statements statusd runs every few seconds, even when
// nothing happens (the board's version, the outbox's heads, the tokens,
// the evaluator's refresh), prepared once on the readers: SQLite parsing
// and planning them anew was most of an idle statusd's CPU (2 ms per
// second, BENCHMARKS.md "Idle"). database/sql prepares a statement again
// on each connection that runs it, and closes it with the store.
type prepared struct {
	mu    sync.Mutex
	stmts map[string]*sqlx.Stmt
}

// stmt returns the prepared form of a read query, in the store's dialect.
func (s *Store) stmt(ctx context.Context, query string) (*sqlx.Stmt, error) {
	s.prep.mu.Lock()
	defer s.prep.mu.Unlock()
	if st, ok := s.prep.stmts[query]; ok {
		return st, nil
	}
	st, err := s.db.PreparexContext(ctx, s.db.Rebind(query))
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	if s.prep.stmts == nil {
		s.prep.stmts = map[string]*sqlx.Stmt{}
	}
	s.prep.stmts[query] = st
	return st, nil
}

// selectPrepared runs a prepared read query into a slice.
func (s *Store) selectPrepared(ctx context.Context, dest any, query string, args ...any) error {
	st, err := s.stmt(ctx, query)
	if err != nil {
		return err
	}
	return st.SelectContext(ctx, dest, args...)
}

// getPrepared runs a prepared read query into one value.
func (s *Store) getPrepared(ctx context.Context, dest any, query string, args ...any) error {
	st, err := s.stmt(ctx, query)
	if err != nil {
		return err
	}
	return st.GetContext(ctx, dest, args...)
}

// closePrepared closes the prepared statements.
func (s *Store) closePrepared() {
	s.prep.mu.Lock()
	defer s.prep.mu.Unlock()
	for _, st := range s.prep.stmts {
		st.Close()
	}
	s.prep.stmts = nil
}
