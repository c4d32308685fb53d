package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/statusd/statusd/downtime"
	"github.com/statusd/statusd/internal/content"
	"github.com/statusd/statusd/internal/store"
	"github.com/statusd/statusd/web/route"
)

// DowntimeReader reads the downtime periods (the store).
type DowntimeReader interface {
	DowntimePeriods(ctx context.Context, now time.Time) ([]store.DowntimePeriod, error)
}

// DowntimeState turns stored periods into package downtime's state.
func DowntimeState(ps []store.DowntimePeriod) downtime.State {
	s := downtime.State{Periods: make([]downtime.Period, 0, len(ps))}
	for _, p := range ps {
		d := downtime.Period{ID: p.ID, Enabled: p.Enabled, Reason: p.Reason, Services: p.Services}
		if p.Start.Valid {
			t := p.Start.Time.UTC()
			d.Start = &t
		}
		if p.End.Valid {
			t := p.End.Time.UTC()
			d.End = &t
		}
		if d.Services == nil {
			d.Services = []string{}
		}
		s.Periods = append(s.Periods, d)
	}
	return s
}

// downtimeRoutes serve downtime: its state to anyone (gates and the Go
// middleware poll it, with its ETag), its writes to write tokens.
func (h *handler) downtimeRoutes(r *route.Router) {
	r.Handle("/api/v1/downtime", public(h.downtimeState), http.MethodGet, http.MethodHead)
	if h.opts.Auth == nil || h.opts.Operator == nil {
		return
	}
	write := func(f http.HandlerFunc) http.Handler { return h.opts.Auth.Require(store.ScopeWrite, f) }
	r.Handle("/api/v1/downtime", write(h.startDowntime), http.MethodPost)
	r.Handle("/api/v1/downtime/end", write(h.endDowntime), http.MethodPost)
	r.Handle("/api/v1/downtime/{id}", write(h.cancelDowntime), http.MethodDelete)
}

// downtimeFresh is how long an answer of GET /api/v1/downtime is served
// again without asking the database: gates and Go programs poll it every
// second each, and anyone may, so a flood of requests costs at most four
// reads a second — well within the 2 s a period takes to apply.
const downtimeFresh = 250 * time.Millisecond

// downtimeCache is the last answer of GET /api/v1/downtime.
type downtimeCache struct {
	mu   sync.Mutex
	at   time.Time
	body []byte
	etag string
}

// get returns the answer, read again when older than downtimeFresh.
func (c *downtimeCache) get(ctx context.Context, rd DowntimeReader) ([]byte, string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if c.body != nil && now.Sub(c.at) < downtimeFresh {
		return c.body, c.etag, nil
	}
	ps, err := rd.DowntimePeriods(ctx, now)
	if err != nil {
		return nil, "", err
	}
	b, err := json.Marshal(DowntimeState(ps))
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(b)
	c.at, c.body, c.etag = now, b, `"`+hex.EncodeToString(sum[:8])+`"`
	return c.body, c.etag, nil
}

// forget drops the answer: a write through this statusd shows at once.
func (c *downtimeCache) forget() {
	c.mu.Lock()
	c.body = nil
	c.mu.Unlock()
}

func (h *handler) downtimeState(w http.ResponseWriter, r *http.Request) {
	b, etag, err := h.downtime.get(r.Context(), h.opts.Downtime)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "the downtime periods cannot be read: the database does not answer")
		return
	}
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.Header().Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	writeRawJSON(w, http.StatusOK, b)
}

type downtimeStartJSON struct {
	Start    *time.Time `json:"start"`
	End      *time.Time `json:"end"`
	EndIn    string     `json:"end_in"`
	Reason   string     `json:"reason"`
	Services []string   `json:"services"`
}

func (h *handler) startDowntime(w http.ResponseWriter, r *http.Request) {
	var in downtimeStartJSON
	if !decodeBody(w, r, &in) {
		return
	}
	d := content.Downtime{Start: in.Start, End: in.End, Reason: in.Reason, Services: in.Services}
	if in.EndIn != "" {
		dur, err := time.ParseDuration(in.EndIn)
		if err != nil || dur <= 0 || in.End != nil {
			writeFieldErrors(w, content.FieldErrors{"end_in": "is a positive duration (30m, 2h), without end"})
			return
		}
		from := time.Now()
		if in.Start != nil {
			from = *in.Start
		}
		end := from.Add(dur)
		d.End = &end
	}
	id, err := h.opts.Operator.StartDowntime(r.Context(), actor(r), d)
	if err != nil {
		h.writeFailed(w, err)
		return
	}
	h.downtime.forget()
	w.Header().Set("Location", "/api/v1/downtime")
	writeJSON(w, http.StatusCreated, map[string]int64{"id": id})
}

func (h *handler) endDowntime(w http.ResponseWriter, r *http.Request) {
	ids, err := h.opts.Operator.EndDowntime(r.Context(), actor(r))
	if errors.Is(err, store.ErrNoDowntime) {
		writeError(w, http.StatusConflict, err.Error())
		return
	}
	if err != nil {
		h.writeFailed(w, err)
		return
	}
	h.downtime.forget()
	writeJSON(w, http.StatusOK, map[string][]int64{"ended": ids})
}

func (h *handler) cancelDowntime(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err == nil {
		err = h.opts.Operator.CancelDowntime(r.Context(), actor(r), id)
	} else {
		err = store.ErrNoDowntime
	}
	if errors.Is(err, store.ErrNoDowntime) {
		writeError(w, http.StatusNotFound, "no downtime period "+r.PathValue("id"))
		return
	}
	if err != nil {
		h.writeFailed(w, err)
		return
	}
	h.downtime.forget()
	w.WriteHeader(http.StatusNoContent)
}
