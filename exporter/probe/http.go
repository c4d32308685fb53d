package probe

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/status"
)

// maxBody is how much of a response body an http check reads.
const maxBody = 1 << 20

// newHTTP requests a URL with a new connection per run, as a health check
// should, and checks status, body and JSON fields. The value is the
// response time in seconds, body included.
func newHTTP(_ status.CheckID, c *config.Check, _ Env) (Prober, error) {
	h := c.HTTP
	tlsConfig := &tls.Config{InsecureSkipVerify: h.InsecureSkipVerify} //nolint:gosec // the operator asked for it
	if h.CAFile != "" {
		pem, err := os.ReadFile(h.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read ca_file: %w", err)
		}
		tlsConfig.RootCAs = x509.NewCertPool()
		if !tlsConfig.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s holds no PEM certificates", h.CAFile)
		}
	}
	transport := &http.Transport{
		Proxy:                  http.ProxyFromEnvironment,
		DialContext:            (&net.Dialer{KeepAlive: -1}).DialContext,
		TLSClientConfig:        tlsConfig,
		DisableKeepAlives:      true,
		DisableCompression:     true,
		MaxResponseHeaderBytes: 64 << 10,
	}
	client := &http.Client{Transport: transport}
	if !*h.FollowRedirects {
		client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	wantBody := h.BodyContains != "" || h.BodyRegex != nil || len(h.JSON) > 0
	return ProberFunc(func(ctx context.Context) status.Result {
		start := time.Now()
		var body io.Reader
		if h.Body != "" {
			body = strings.NewReader(h.Body)
		}
		req, err := http.NewRequestWithContext(ctx, h.Method, h.URL, body)
		if err != nil {
			return fail("invalid request: %s", describeErr(ctx, start, err))
		}
		req.Header.Set("User-Agent", "statusd")
		for k, v := range h.Headers {
			req.Header.Set(k, string(v))
		}
		if h.Headers["Host"] != "" {
			req.Host = string(h.Headers["Host"])
		}
		if h.BasicAuth != nil {
			req.SetBasicAuth(h.BasicAuth.Username, string(h.BasicAuth.Password))
		}
		if h.BearerToken != "" {
			req.Header.Set("Authorization", "Bearer "+string(h.BearerToken))
		}
		resp, err := client.Do(req)
		if err != nil {
			return fail("%s", describeErr(ctx, start, err))
		}
		defer resp.Body.Close()
		var data []byte
		if wantBody {
			data, err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
		} else {
			_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
		}
		took := time.Since(start)
		if err != nil {
			return fail("HTTP %d, then reading the body: %s", resp.StatusCode, describeErr(ctx, start, err))
		}
		r := status.Result{
			Level:   status.Fine,
			Success: true,
			Value:   status.Float(took.Seconds()),
			Details: map[string]any{"status_code": resp.StatusCode},
			Message: fmt.Sprintf("HTTP %d in %s", resp.StatusCode, Human(took)),
		}
		if problem := checkResponse(h, resp.StatusCode, data); problem != "" {
			r.Level, r.Success = status.Problem, false
			r.Message = fmt.Sprintf("HTTP %d in %s: %s", resp.StatusCode, Human(took), problem)
		}
		return r
	}), nil
}

// checkResponse returns what is wrong with a response, or "".
func checkResponse(h *config.HTTPCheck, code int, body []byte) string {
	accepted := false
	for _, r := range h.ExpectedStatus {
		if r.Contains(code) {
			accepted = true
			break
		}
	}
	if !accepted {
		want := make([]string, len(h.ExpectedStatus))
		for i, r := range h.ExpectedStatus {
			want[i] = r.String()
		}
		return "expected status " + strings.Join(want, ", ")
	}
	if h.BodyContains != "" && !bytes.Contains(body, []byte(h.BodyContains)) {
		return fmt.Sprintf("body does not contain %q", h.BodyContains)
	}
	if h.BodyRegex != nil && !h.BodyRegex.Match(body) {
		return fmt.Sprintf("body does not match /%s/", h.BodyRegex)
	}
	if len(h.JSON) == 0 {
		return ""
	}
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		return "body is not JSON: " + err.Error()
	}
	for _, cond := range h.JSON {
		got, found := jsonPath(doc, cond.Path)
		if !found {
			return fmt.Sprintf("JSON field %s is missing", cond.Path)
		}
		if !jsonEqual(got, cond.Equals) {
			return fmt.Sprintf("JSON field %s is %s, expected %s", cond.Path, jsonText(got), jsonText(cond.Equals))
		}
	}
	return ""
}

// jsonPath follows a dot-separated path ("data.items.0.status", optionally
// starting with "$.") through decoded JSON.
func jsonPath(doc any, path string) (any, bool) {
	path = strings.TrimPrefix(strings.TrimPrefix(path, "$"), ".")
	if path == "" {
		return doc, true
	}
	cur := doc
	for _, key := range strings.Split(path, ".") {
		switch v := cur.(type) {
		case map[string]any:
			next, ok := v[key]
			if !ok {
				return nil, false
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(v) {
				return nil, false
			}
			cur = v[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// jsonEqual compares a decoded JSON value with a value from YAML, numbers
// by value.
func jsonEqual(got, want any) bool {
	if g, ok := toFloat(got); ok {
		w, ok := toFloat(want)
		return ok && g == w
	}
	return jsonText(got) == jsonText(want)
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint64:
		return float64(n), true
	}
	return 0, false
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
