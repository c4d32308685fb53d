package notifytest

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/statusd/statusd/internal/message"
	"github.com/statusd/statusd/notifier"
)

var update = flag.Bool("update", false, "rewrite the golden files of the notifier's integrations")

// T0 is when the sample messages happen.
var T0 = message.SampleTime

// Sample is a message every integration's golden files cover.
type Sample = message.Sample

// Samples are the messages every integration sends (message.Samples).
func Samples() []Sample { return message.Samples() }

// Golden compares what an integration sent with testdata/NAME.golden in
// the test's package; `go test -update` writes the file instead.
func Golden(t testing.TB, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what was sent (go test -update rewrites it after a wanted change)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// IndentJSON indents a JSON body for a golden file.
func IndentJSON(t testing.TB, body []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.Indent(&b, body, "", "  "); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, body)
	}
	b.WriteByte('\n')
	return b.Bytes()
}

// Outcome is a peer's answer to a notification and whether the
// integration must ask to try again.
type Outcome struct {
	Name string
	// Script makes the peer answer so, once.
	Script func()
	Retry  bool
}

// HTTPOutcomes are an HTTP peer's answers: a rate limit and server
// errors may pass (retry), client errors will not.
func HTTPOutcomes(script func(...Reply)) []Outcome {
	var out []Outcome
	for _, c := range []struct {
		code  int
		retry bool
	}{{429, true}, {500, true}, {502, true}, {503, true}, {504, true}, {400, false}, {401, false}, {403, false}, {404, false}} {
		r := Reply{Code: c.code, Body: http.StatusText(c.code)}
		out = append(out, Outcome{Name: "HTTP " + strconv.Itoa(c.code), Script: func() { script(r) }, Retry: c.retry})
	}
	return out
}

// AssertRetries sends m through n once per outcome, the peer scripted
// to answer it, and checks that each is a failure that asks to try
// again or not as the outcome says, and that no error shows a secret.
func AssertRetries(t *testing.T, n notifier.Notifier, m *message.Message, outcomes []Outcome, secrets ...string) {
	t.Helper()
	for _, o := range outcomes {
		o.Script()
		retry, err := n.Notify(context.Background(), m)
		if err == nil || retry != o.Retry {
			t.Errorf("%s: retry %v, error %v; want a failure with retry %v", o.Name, retry, err, o.Retry)
			continue
		}
		AssertNoSecret(t, o.Name+" error", err.Error(), secrets...)
	}
}

// AssertNoSecret fails when text shows one of the secrets, as it is or
// URL-escaped.
func AssertNoSecret(t testing.TB, what, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		for _, form := range []string{s, url.QueryEscape(s), url.PathEscape(s)} {
			if s != "" && strings.Contains(text, form) {
				t.Errorf("%s shows a secret: %s", what, text)
				return
			}
		}
	}
}

// MailParts reads a mail as the SMTP server received it: its header, its
// text part and its HTML part.
func MailParts(t testing.TB, data string) (mail.Header, string, string) {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("content type %q (%v)", m.Header.Get("Content-Type"), err)
	}
	var text, html string
	r := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p) // multipart decodes quoted-printable
		switch ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); ct {
		case "text/plain":
			text = string(b)
		case "text/html":
			html = string(b)
		}
	}
	return m.Header, text, html
}
