package downtime

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// Remote is a Source that asks a statusd for its periods (GET
// /api/v1/downtime, public), so that a program on another host follows
// downtime started anywhere. It sends the ETag of the last answer, and a
// 304 keeps the state it had.
func Remote(baseURL string, client *http.Client) Source {
	if client == nil {
		client = &http.Client{}
	}
	return &remote{url: strings.TrimSuffix(baseURL, "/") + "/api/v1/downtime", client: client}
}

type remote struct {
	url    string
	client *http.Client
	mu     sync.Mutex
	etag   string
	last   State
}

// maxRemoteBody bounds what a statusd answers: periods are few.
const maxRemoteBody = 1 << 20

func (r *remote) State(ctx context.Context) (State, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return State{}, err
	}
	req.Header.Set("Accept", "application/json")
	r.mu.Lock()
	if r.etag != "" {
		req.Header.Set("If-None-Match", r.etag)
	}
	r.mu.Unlock()
	resp, err := r.client.Do(req)
	if err != nil {
		return State{}, fmt.Errorf("ask %s: %w", r.url, err)
	}
	defer resp.Body.Close()
	r.mu.Lock()
	defer r.mu.Unlock()
	switch resp.StatusCode {
	case http.StatusNotModified:
		return r.last, nil
	case http.StatusOK:
	default:
		return State{}, fmt.Errorf("ask %s: %s", r.url, resp.Status)
	}
	var s State
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxRemoteBody)).Decode(&s); err != nil {
		return State{}, fmt.Errorf("ask %s: %w", r.url, err)
	}
	r.etag, r.last = resp.Header.Get("ETag"), s
	return s, nil
}
