// Package auth checks the bearer tokens of statusd's API. Tokens are
// created with `statusd token add` and stored hashed; the authenticator
// keeps the hashes in memory (read again every few seconds), so that a
// request is checked without the database, compared in constant time,
// and records when each token was last used, in batches.
package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/statusd/statusd/internal/store"
)

// Store is what the authenticator reads and writes.
type Store interface {
	Tokens(ctx context.Context) ([]store.Token, error)
	TokensUsed(ctx context.Context, used map[int64]time.Time) error
}

// Options configure an Authenticator.
type Options struct {
	Store  Store
	Logger *slog.Logger
	Clock  clockwork.Clock
	// RefreshInterval is how often tokens are read again (default 5s): a
	// token added or revoked with the command line takes effect within
	// it.
	RefreshInterval time.Duration
}

// Authenticator checks bearer tokens.
type Authenticator struct {
	opts   Options
	mu     sync.Mutex
	tokens []token
	loaded bool
	used   map[int64]time.Time
}

type token struct {
	id    int64
	name  string
	hash  [sha256.Size]byte
	scope string
}

// New returns an authenticator that knows no token until Refresh or Run.
func New(opts Options) *Authenticator {
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.RefreshInterval == 0 {
		opts.RefreshInterval = 5 * time.Second
	}
	return &Authenticator{opts: opts, used: map[int64]time.Time{}}
}

// Refresh reads the tokens from the store.
func (a *Authenticator) Refresh(ctx context.Context) error {
	rows, err := a.opts.Store.Tokens(ctx)
	if err != nil {
		return err
	}
	tokens := make([]token, 0, len(rows))
	for _, r := range rows {
		t := token{id: r.ID, name: r.Name, scope: r.Scope}
		if b, err := hex.DecodeString(r.Hash); err == nil && len(b) == sha256.Size {
			copy(t.hash[:], b)
			tokens = append(tokens, t)
		}
	}
	a.mu.Lock()
	a.tokens, a.loaded = tokens, true
	a.mu.Unlock()
	return nil
}

// Run keeps the tokens current and records their use until ctx ends.
func (a *Authenticator) Run(ctx context.Context) {
	tick := a.opts.Clock.NewTicker(a.opts.RefreshInterval)
	defer tick.Stop()
	for {
		if err := a.Refresh(ctx); err != nil && ctx.Err() == nil {
			a.opts.Logger.Debug("Cannot read API tokens; the ones read before stay valid", "err", err)
		}
		a.flushUsed(ctx)
		select {
		case <-ctx.Done():
			a.flushUsed(context.WithoutCancel(ctx))
			return
		case <-tick.Chan():
		}
	}
}

// flushUsed writes when tokens were last used.
func (a *Authenticator) flushUsed(ctx context.Context) {
	a.mu.Lock()
	used := a.used
	a.used = map[int64]time.Time{}
	a.mu.Unlock()
	if len(used) == 0 {
		return
	}
	if err := a.opts.Store.TokensUsed(ctx, used); err != nil {
		a.opts.Logger.Debug("Cannot record token use", "err", err)
		a.mu.Lock()
		for id, at := range used {
			if at.After(a.used[id]) {
				a.used[id] = at
			}
		}
		a.mu.Unlock()
	}
}

// Loaded tells whether the tokens have been read at least once: until
// they are, no token can be told from a stranger's.
func (a *Authenticator) Loaded() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.loaded
}

// Unavailable answers a request that needs a token while the tokens have
// never been read (the database has been away since statusd started):
// 503 with Retry-After, which clients such as Alertmanager retry, never a
// 401 they would take as final.
func Unavailable(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "10")
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusServiceUnavailable)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": "statusd cannot check tokens yet: its database has not answered since it started; retry"})
}

// Identity is who a request's token belongs to.
type Identity struct {
	Token string // the token's name, never the token
	Scope string
}

type identityKey struct{}

// IdentityOf is the identity Require found for a request's context; false
// outside Require.
func IdentityOf(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(Identity)
	return id, ok
}

// Check returns the identity of a request's bearer token when it has the
// scope (a write token also reads); ok is false otherwise.
func (a *Authenticator) Check(r *http.Request, scope string) (Identity, bool) {
	raw, found := Bearer(r)
	if !found {
		return Identity{}, false
	}
	sum := sha256.Sum256([]byte(raw))
	a.mu.Lock()
	defer a.mu.Unlock()
	// Every stored hash is compared, in constant time, whatever matched.
	var match *token
	for i := range a.tokens {
		if subtle.ConstantTimeCompare(sum[:], a.tokens[i].hash[:]) == 1 {
			match = &a.tokens[i]
		}
	}
	if match == nil || (scope == store.ScopeWrite && match.scope != store.ScopeWrite) {
		return Identity{}, false
	}
	a.used[match.id] = a.opts.Clock.Now()
	return Identity{Token: match.name, Scope: match.scope}, true
}

// Bearer is a request's bearer token, the scheme's case ignored (RFC
// 7235); false when it has none.
func Bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// Require wraps a handler so that it runs only for a request with a token
// of the scope; others get 401 (no or unknown token) or 403 (a read token
// on a write route), with a JSON error.
func (a *Authenticator) Require(scope string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id, ok := a.Check(r, scope); ok {
			h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), identityKey{}, id)))
			return
		}
		if !a.Loaded() {
			Unavailable(w)
			return
		}
		code, msg := http.StatusUnauthorized, "a bearer token with scope "+scope+" is required (statusd token add NAME --scope "+scope+")"
		w.Header().Set("WWW-Authenticate", `Bearer realm="statusd"`)
		if _, ok := a.Check(r, store.ScopeRead); ok {
			code, msg = http.StatusForbidden, "this token can only read; this needs a token with scope "+scope
			w.Header().Del("WWW-Authenticate")
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
	})
}
