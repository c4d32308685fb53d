// Package notifytest gives every integration's tests the peers they talk
// to: a fake Slack that speaks Slack's wire format (incoming webhooks and
// chat.postMessage), an SMTP server (go-smtp, with STARTTLS and AUTH
// PLAIN) and a webhook receiver, each recording what it got and answering
// as the test scripts it. Slack is a remote service, so it is faked; the
// mail server is a real SMTP implementation in the test's process.
package notifytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Reply is a scripted answer: a status code, a body, a Retry-After.
type Reply struct {
	Code       int
	Body       string
	RetryAfter int // seconds; 0: no header
}

// OK is Slack's answer to a good webhook post.
var OK = Reply{Code: http.StatusOK, Body: "ok"}

// script hands out scripted replies, then a default one.
type script struct {
	mu      sync.Mutex
	replies []Reply
	def     Reply
}

func (s *script) next() Reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.replies) == 0 {
		return s.def
	}
	r := s.replies[0]
	s.replies = s.replies[1:]
	return r
}

func (r Reply) write(w http.ResponseWriter) {
	if r.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(r.RetryAfter))
	}
	if strings.HasPrefix(r.Body, "{") {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(r.Code)
	_, _ = io.WriteString(w, r.Body)
}

// SlackPost is one message Slack received.
type SlackPost struct {
	// Path is /services/… for a webhook, /api/chat.postMessage for a bot.
	Path string
	// Token is the bot's bearer token.
	Token   string
	Channel string
	Thread  string
	Text    string
	// Attachments are decoded from the body (JSON for webhooks, a form
	// field for chat.postMessage).
	Attachments []map[string]any
	// TS is the timestamp the fake gave a successful chat.postMessage.
	TS string
	// Answered is the status code the fake answered.
	Answered int
	// Body is the request's body as it came.
	Body []byte
}

// Slack is a fake Slack.
type Slack struct {
	*httptest.Server
	script
	mu    sync.Mutex
	posts []SlackPost
	seq   int
}

// NewSlack starts a fake Slack that answers ok until scripted otherwise.
func NewSlack(t testing.TB) *Slack {
	s := &Slack{}
	s.def = OK
	s.Server = httptest.NewServer(s)
	t.Cleanup(s.Close)
	return s
}

// NewSlackHandler is a fake Slack to serve in a process of its own.
func NewSlackHandler() http.Handler {
	s := &Slack{}
	s.def = OK
	return s
}

// ServeHTTP answers as Slack would.
func (s *Slack) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handle(w, r) }

// WebhookURL is an incoming webhook's URL, with its secret path.
func (s *Slack) WebhookURL(secret string) string { return s.URL + "/services/T000/B000/" + secret }

// APIURL is the Web API's base URL, for api_url.
func (s *Slack) APIURL() string { return s.URL + "/api/" }

// Script queues replies for the next posts.
func (s *Slack) Script(replies ...Reply) {
	s.script.mu.Lock()
	defer s.script.mu.Unlock()
	s.replies = append(s.replies, replies...)
}

// Answer sets the reply given once the scripted ones are used up (at
// first, ok).
func (s *Slack) Answer(r Reply) {
	s.script.mu.Lock()
	defer s.script.mu.Unlock()
	s.def = r
}

// Posts returns what Slack received, in order, failures included.
func (s *Slack) Posts() []SlackPost {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SlackPost(nil), s.posts...)
}

// Delivered returns the posts that were answered with success.
func (s *Slack) Delivered() []SlackPost {
	var out []SlackPost
	for _, p := range s.Posts() {
		if p.Answered == http.StatusOK {
			out = append(out, p)
		}
	}
	return out
}

func (s *Slack) handle(w http.ResponseWriter, r *http.Request) {
	p := SlackPost{Path: r.URL.Path, Token: strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")}
	body, _ := io.ReadAll(r.Body)
	p.Body = body
	var atts string
	if strings.HasPrefix(r.URL.Path, "/api/") {
		form, _ := url.ParseQuery(string(body))
		if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			var j map[string]any
			_ = json.Unmarshal(body, &j)
			form = url.Values{}
			for k, v := range j {
				if s, ok := v.(string); ok {
					form.Set(k, s)
				} else {
					b, _ := json.Marshal(v)
					form.Set(k, string(b))
				}
			}
		}
		if p.Token == "" {
			p.Token = form.Get("token")
		}
		p.Channel, p.Thread, p.Text, atts = form.Get("channel"), form.Get("thread_ts"), form.Get("text"), form.Get("attachments")
	} else {
		var m struct {
			Channel     string           `json:"channel"`
			Text        string           `json:"text"`
			Thread      string           `json:"thread_ts"`
			Attachments []map[string]any `json:"attachments"`
		}
		_ = json.Unmarshal(body, &m)
		p.Channel, p.Text, p.Thread, p.Attachments = m.Channel, m.Text, m.Thread, m.Attachments
	}
	if atts != "" {
		_ = json.Unmarshal([]byte(atts), &p.Attachments)
	}
	reply := s.next()
	if strings.HasPrefix(r.URL.Path, "/api/") && reply == OK {
		s.mu.Lock()
		s.seq++
		p.TS = "1700000000." + strconv.Itoa(100000+s.seq)
		s.mu.Unlock()
		reply = Reply{Code: http.StatusOK, Body: `{"ok":true,"channel":"C0STATUS","ts":"` + p.TS + `"}`}
	}
	p.Answered = reply.Code
	if reply.Code == http.StatusOK && strings.Contains(reply.Body, `"ok":false`) {
		p.Answered = http.StatusBadRequest // delivered by HTTP, refused by Slack
	}
	s.mu.Lock()
	s.posts = append(s.posts, p)
	s.mu.Unlock()
	reply.write(w)
}

// Mail is one message the SMTP server received.
type Mail struct {
	From string
	To   []string
	Data string
	// Auth is the user that authenticated, TLS whether STARTTLS was used.
	Auth string
	TLS  bool
}

// SMTP is an SMTP server in the test's process.
type SMTP struct {
	Addr     string
	Host     string
	Port     int
	CertPool *x509.CertPool
	// CAFile is the server certificate as a PEM file, for a config's
	// smtp.tls_config.ca_file.
	CAFile string
	script struct {
		mu      sync.Mutex
		refusal []*smtp.SMTPError
	}
	mu    sync.Mutex
	mails []Mail
	conns []net.Conn
	dials int
}

// connListener records the connections the SMTP server accepts.
type connListener struct {
	net.Listener
	s *SMTP
}

func (l connListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.s.mu.Lock()
		l.s.conns = append(l.s.conns, c)
		l.s.dials++
		l.s.mu.Unlock()
	}
	return c, err
}

// Connections is how many connections the server has accepted.
func (s *SMTP) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dials
}

// Hangup closes every open connection from the server's side, as a mail
// server does with idle clients.
func (s *SMTP) Hangup() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		_ = c.Close()
	}
	s.conns = nil
}

// NewSMTP starts an SMTP server offering STARTTLS with a certificate for
// 127.0.0.1 (CertPool trusts it) and AUTH PLAIN for user and password.
func NewSMTP(t testing.TB, user, password string) *SMTP {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, srv, err := ServeSMTP(l, user, password, filepath.Join(t.TempDir(), "smtp-ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// ServeSMTP serves SMTP on l, as NewSMTP, writing the server's
// certificate to caFile; for a server in a process of its own.
func ServeSMTP(l net.Listener, user, password, caFile string) (*SMTP, *smtp.Server, error) {
	cert, pool, err := selfSigned()
	if err != nil {
		return nil, nil, err
	}
	s := &SMTP{CertPool: pool, CAFile: caFile}
	if err := os.WriteFile(s.CAFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600); err != nil {
		return nil, nil, err
	}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{srv: s, conn: c, user: user, password: password}, nil
	}))
	srv.Domain = "localhost"
	// A client hanging up is how a test ends, not an error to print.
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	go func() { _ = srv.Serve(connListener{l, s}) }()
	s.Addr = l.Addr().String()
	host, port, _ := net.SplitHostPort(s.Addr)
	s.Host = host
	s.Port, _ = strconv.Atoi(port)
	return s, srv, nil
}

// Refuse makes the next messages be refused with these errors, in order
// (e.g. 451 then 550).
func (s *SMTP) Refuse(errs ...*smtp.SMTPError) {
	s.script.mu.Lock()
	defer s.script.mu.Unlock()
	s.script.refusal = append(s.script.refusal, errs...)
}

// Mails returns what the server accepted, in order.
func (s *SMTP) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

type session struct {
	srv            *SMTP
	conn           *smtp.Conn
	user, password string
	authed         string
	mail           Mail
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != s.user || password != s.password {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
		}
		s.authed = username
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.user != "" && s.authed == "" {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.mail = Mail{From: from, Auth: s.authed, TLS: isTLS}
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.mail.To = append(s.mail.To, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.srv.script.mu.Lock()
	var refusal *smtp.SMTPError
	if len(s.srv.script.refusal) > 0 {
		refusal = s.srv.script.refusal[0]
		s.srv.script.refusal = s.srv.script.refusal[1:]
	}
	s.srv.script.mu.Unlock()
	if refusal != nil {
		return refusal
	}
	s.mail.Data = string(b)
	s.srv.mu.Lock()
	s.srv.mails = append(s.srv.mails, s.mail)
	s.srv.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.mail = Mail{} }
func (s *session) Logout() error { return nil }

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "statusd test SMTP"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	c, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool, nil
}

// Hook is a webhook receiver.
type Hook struct {
	*httptest.Server
	script
	mu       sync.Mutex
	requests []HookRequest
}

// HookRequest is one request a Hook received.
type HookRequest struct {
	Path     string
	Header   http.Header
	Body     []byte
	Answered int
}

// NewHook starts a webhook receiver answering 200 until scripted
// otherwise.
func NewHook(t testing.TB) *Hook {
	h := &Hook{}
	h.def = Reply{Code: http.StatusOK}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		reply := h.next()
		h.mu.Lock()
		h.requests = append(h.requests, HookRequest{Path: r.URL.Path, Header: r.Header.Clone(), Body: body, Answered: reply.Code})
		h.mu.Unlock()
		reply.write(w)
	}))
	t.Cleanup(h.Close)
	return h
}

// Script queues replies for the next requests.
func (h *Hook) Script(replies ...Reply) {
	h.script.mu.Lock()
	defer h.script.mu.Unlock()
	h.replies = append(h.replies, replies...)
}

// Requests returns what the hook received, in order.
func (h *Hook) Requests() []HookRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]HookRequest(nil), h.requests...)
}
