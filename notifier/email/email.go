// Package email mails notifications over SMTP with go-mail: a text part
// and an HTML part from templates, the subject taken from the text
// template's first line ("SUBJECT: …", django_status's convention). An
// operator can replace either template with a file.
package email

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	_ "embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"net/textproto"
	"sync"
	texttemplate "text/template"
	"time"

	"github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"

	"github.com/statusd/statusd/internal/message"
	"github.com/statusd/statusd/notifier"
)

//go:embed templates/email.txt
var defaultText string

//go:embed templates/email.html
var defaultHTML string

// Config is an e-mail integration and its mail server.
type Config struct {
	To   []string
	From string
	Host string
	Port int
	// TLS is starttls, tls or none.
	TLS      string
	Username string
	Password string
	// TLSConfig is the server's TLS (a private CA, a server name); nil
	// uses the system's roots.
	TLSConfig *tls.Config
	// TextTemplate and HTMLTemplate replace the built-in templates when
	// set; the text one starts with a "SUBJECT:" line.
	TextTemplate string
	HTMLTemplate string
	// Server shares connections with the other receivers of the same mail
	// server; nil gives the notifier its own.
	Server *Server
}

// Notifier mails notifications.
type Notifier struct {
	cfg    Config
	server *Server
	text   *texttemplate.Template
	html   *htmltemplate.Template
}

// New parses the templates; a broken one is an error (statusd config check
// and start report it).
func New(cfg Config) (*Notifier, error) {
	text, html := defaultText, defaultHTML
	if cfg.TextTemplate != "" {
		text = cfg.TextTemplate
	}
	if cfg.HTMLTemplate != "" {
		html = cfg.HTMLTemplate
	}
	t, err := texttemplate.New("text").Funcs(message.TemplateFuncs()).Parse(text)
	if err != nil {
		return nil, fmt.Errorf("text template: %w", err)
	}
	h, err := htmltemplate.New("html").Funcs(message.TemplateFuncs()).Parse(html)
	if err != nil {
		return nil, fmt.Errorf("html template: %w", err)
	}
	server := cfg.Server
	if server == nil {
		if server, err = NewServer(cfg); err != nil {
			return nil, err
		}
	}
	return &Notifier{cfg: cfg, server: server, text: t, html: h}, nil
}

// Render returns a message's subject, text and HTML parts.
func (n *Notifier) Render(m *message.Message) (subject, text, html string, err error) {
	var tb, hb bytes.Buffer
	if err := n.text.Execute(&tb, m); err != nil {
		return "", "", "", fmt.Errorf("text template: %w", err)
	}
	if err := n.html.Execute(&hb, m); err != nil {
		return "", "", "", fmt.Errorf("html template: %w", err)
	}
	subject, text, err = message.SplitSubject(tb.String())
	if err != nil {
		return "", "", "", fmt.Errorf("text template: %w", err)
	}
	return subject, text, hb.String(), nil
}

// Notify implements notifier.Notifier.
func (n *Notifier) Notify(ctx context.Context, m *message.Message) (bool, error) {
	subject, text, html, err := n.Render(m)
	if err != nil {
		return false, err
	}
	msg, err := Mail{From: n.cfg.From, To: n.cfg.To, Subject: subject, Text: text, HTML: html}.Msg()
	if err != nil {
		return false, err
	}
	return n.server.Deliver(ctx, msg)
}

// Mail is one message: a text part with an HTML alternative.
type Mail struct {
	From    string
	To      []string
	Subject string
	Text    string
	HTML    string
	// Headers are extra headers, such as List-Unsubscribe.
	Headers map[string]string
}

// Msg builds the message to send.
func (m Mail) Msg() (*mail.Msg, error) {
	msg := mail.NewMsg()
	if err := msg.From(m.From); err != nil {
		return nil, fmt.Errorf("from %q: %w", m.From, err)
	}
	if err := msg.To(m.To...); err != nil {
		return nil, fmt.Errorf("to: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageID()
	for k, v := range m.Headers {
		msg.SetGenHeader(mail.Header(k), v)
	}
	msg.SetBodyString(mail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(mail.TypeTextHTML, m.HTML)
	return msg, nil
}

// Deliver sends a message through the server: retry tells whether trying
// again may succeed (anything but a permanent 5xx refusal); the error
// never holds the server's password.
func (s *Server) Deliver(ctx context.Context, msg *mail.Msg) (retry bool, err error) {
	err = s.send(ctx, msg)
	if err == nil {
		return false, nil
	}
	err = notifier.Redact(err, s.password)
	var se *mail.SendError
	var te *textproto.Error
	switch {
	case errors.As(err, &se) && se.ErrorCode() >= 500, errors.As(err, &te) && te.Code >= 500:
		return false, err
	}
	return true, err
}

// Server is a mail server's client settings and a few open connections:
// sending a message over a connection kept from the last one skips the
// TCP, STARTTLS and AUTH exchanges, which cost over half of a message's
// CPU (BENCHMARKS.md). Connections idle for IdleTimeout are closed.
type Server struct {
	client   *mail.Client
	password string // for redacting errors

	mu   sync.Mutex
	idle []*idleConn
}

type idleConn struct {
	c     *smtp.Client
	timer *time.Timer
}

// Connection reuse bounds.
const (
	maxIdle     = 8
	idleTimeout = 10 * time.Second
)

// NewServer returns a mail server's client from a config's server fields.
func NewServer(cfg Config) (*Server, error) {
	port := cfg.Port
	opts := []mail.Option{mail.WithTimeout(30 * time.Second)}
	switch cfg.TLS {
	case "tls":
		opts = append(opts, mail.WithSSL())
		port = cmp.Or(port, 465)
	case "none":
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
		port = cmp.Or(port, 25)
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
		port = cmp.Or(port, 587)
	}
	opts = append(opts, mail.WithPort(port))
	if cfg.TLSConfig != nil {
		opts = append(opts, mail.WithTLSConfig(cfg.TLSConfig))
	}
	if cfg.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(cfg.Username), mail.WithPassword(cfg.Password))
	}
	client, err := mail.NewClient(cfg.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("smtp %s: %w", cfg.Host, err)
	}
	return &Server{client: client, password: cfg.Password}, nil
}

// send delivers a message over an idle connection, or a new one. A kept
// connection the server has closed meanwhile is replaced once.
func (s *Server) send(ctx context.Context, msg *mail.Msg) error {
	c, reused := s.get()
	if c == nil {
		var err error
		if c, err = s.client.DialToSMTPClientWithContext(ctx); err != nil {
			return err
		}
	}
	err := s.client.SendWithSMTPClient(c, msg)
	var se *mail.SendError
	if err != nil && reused && errors.As(err, &se) && se.Reason == mail.ErrConnCheck {
		// The kept connection failed its NOOP before anything was sent:
		// the server closed it meanwhile.
		_ = s.client.CloseWithSMTPClient(c)
		if c, err = s.client.DialToSMTPClientWithContext(ctx); err != nil {
			return err
		}
		err = s.client.SendWithSMTPClient(c, msg)
	}
	if err != nil {
		_ = s.client.CloseWithSMTPClient(c)
		if msg.IsDelivered() {
			// The server took the message and only the RSET after it
			// failed: sending it again would mail it twice.
			return nil
		}
		return err
	}
	s.put(c)
	return nil
}

func (s *Server) get() (*smtp.Client, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.idle) > 0 {
		ic := s.idle[len(s.idle)-1]
		s.idle = s.idle[:len(s.idle)-1]
		if ic.timer.Stop() {
			return ic.c, true
		}
		// Its timer fired: it is being closed.
	}
	return nil, false
}

func (s *Server) put(c *smtp.Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.idle) >= maxIdle {
		_ = s.client.CloseWithSMTPClient(c)
		return
	}
	ic := &idleConn{c: c}
	ic.timer = time.AfterFunc(idleTimeout, func() {
		s.mu.Lock()
		for i, x := range s.idle {
			if x == ic {
				s.idle = append(s.idle[:i], s.idle[i+1:]...)
				break
			}
		}
		s.mu.Unlock()
		_ = s.client.CloseWithSMTPClient(c)
	})
	s.idle = append(s.idle, ic)
}
