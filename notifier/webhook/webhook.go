// Package webhook posts notifications to a URL: the message as JSON (the
// versioned shape of internal/message), or a body from an operator's Go
// template for services with their own format (Discord, Microsoft Teams,
// Mattermost, ntfy…), optionally signed with HMAC-SHA256.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/statusd/statusd/internal/message"
	"github.com/statusd/statusd/notifier"
)

// SignatureHeader carries the body's HMAC-SHA256 with the shared secret,
// as "sha256=<hex>".
const SignatureHeader = "X-Statusd-Signature"

// Config is a webhook integration.
type Config struct {
	URL string
	// HMACSecret, when set, signs the body.
	HMACSecret string
	// BodyTemplate, when set, is the body instead of the JSON message.
	BodyTemplate string
	ContentType  string
	Headers      map[string]string
	Client       *http.Client
}

// Notifier posts to a webhook.
type Notifier struct {
	cfg  Config
	tmpl *template.Template
}

// New parses the body template, when there is one.
func New(cfg Config) (*Notifier, error) {
	n := &Notifier{cfg: cfg}
	if cfg.BodyTemplate != "" {
		t, err := template.New("body").Funcs(message.TemplateFuncs()).Parse(cfg.BodyTemplate)
		if err != nil {
			return nil, fmt.Errorf("body template: %w", err)
		}
		n.tmpl = t
	}
	return n, nil
}

// Body renders the request body of a message.
func (n *Notifier) Body(m *message.Message) ([]byte, error) {
	if n.tmpl == nil {
		return json.Marshal(m)
	}
	var b bytes.Buffer
	if err := n.tmpl.Execute(&b, m); err != nil {
		return nil, fmt.Errorf("body template: %w", err)
	}
	return b.Bytes(), nil
}

// Notify implements notifier.Notifier: 2xx is delivered; 429 and 5xx may
// pass later (Retry-After is honoured); other answers will not.
func (n *Notifier) Notify(ctx context.Context, m *message.Message) (bool, error) {
	body, err := n.Body(m)
	if err != nil {
		return false, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return false, notifier.Redact(err, n.cfg.URL)
	}
	req.Header.Set("Content-Type", n.cfg.ContentType)
	req.Header.Set("User-Agent", "statusd")
	for k, v := range n.cfg.Headers {
		req.Header.Set(k, v)
	}
	if n.cfg.HMACSecret != "" {
		mac := hmac.New(sha256.New, []byte(n.cfg.HMACSecret))
		mac.Write(body)
		req.Header.Set(SignatureHeader, "sha256="+hex.EncodeToString(mac.Sum(nil)))
	}
	resp, err := n.cfg.Client.Do(req)
	if err != nil {
		// A network failure may pass.
		return true, notifier.Redact(err, n.cfg.URL)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return false, nil
	}
	err = fmt.Errorf("the webhook answered %s: %s", resp.Status, strings.TrimSpace(string(snippet)))
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		if after := retryAfter(resp.Header.Get("Retry-After")); after > 0 {
			return true, &notifier.RetryAfter{After: after, Err: err}
		}
		return true, err
	}
	return false, err
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}
