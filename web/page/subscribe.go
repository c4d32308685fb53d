package page

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/statusd/statusd/internal/content"
	"github.com/statusd/statusd/internal/ratelimit"
	"github.com/statusd/statusd/internal/store"
	"github.com/statusd/statusd/web/route"
)

// SubscribeSettings are what the page offers visitors to subscribe.
type SubscribeSettings struct {
	// Email and Webhook are the ways offered; neither: no subscriptions.
	Email, Webhook bool
	// ConfirmWithin is how long a confirmation link works.
	ConfirmWithin time.Duration
	// PerClient and PerAddress bound requests per hour.
	PerClient, PerAddress int
}

// on tells whether visitors may subscribe at all.
func (s SubscribeSettings) on() bool { return s.Email || s.Webhook }

// SubscribeView is the subscription page at one of its steps.
type SubscribeView struct {
	// Step is form, sent, confirm, confirmed, expired, unsubscribe,
	// unsubscribed, limited or off.
	Step string
	// Email and Webhook are the ways offered.
	Email, Webhook bool
	// Services are the services a visitor may choose; Chosen those
	// chosen.
	Services, Chosen []string
	Kind, Address    string
	// Error says what is wrong with the form.
	Error string
	Hours int
	// Title and Text are the step's catalogue keys.
	Title, Text string
}

// subscribeLimits are the request limits of one config.
type subscribeLimits struct {
	clients, addresses *ratelimit.Keyed
}

func newSubscribeLimits(s SubscribeSettings) *subscribeLimits {
	return &subscribeLimits{
		clients:   ratelimit.New(time.Hour/time.Duration(max(s.PerClient, 1)), max(s.PerClient, 1), 100000),
		addresses: ratelimit.New(time.Hour/time.Duration(max(s.PerAddress, 1)), max(s.PerAddress, 1), 100000),
	}
}

// subscribeRoutes registers the visitors' subscription pages.
func (p *Pages) subscribeRoutes(r *route.Router) {
	r.Handle("/subscribe", p.secure(http.HandlerFunc(p.subscribeForm)), http.MethodGet, http.MethodHead)
	r.Handle("/subscribe", p.secure(http.HandlerFunc(p.subscribe)), http.MethodPost)
	r.Handle("/subscribe/confirm/{token}", p.secure(http.HandlerFunc(p.confirmPage)), http.MethodGet, http.MethodHead)
	r.Handle("/subscribe/confirm/{token}", p.secure(http.HandlerFunc(p.confirm)), http.MethodPost)
	r.Handle("/unsubscribe/{token}", p.secure(http.HandlerFunc(p.unsubscribePage)), http.MethodGet, http.MethodHead)
	r.Handle("/unsubscribe/{token}", p.secure(http.HandlerFunc(p.unsubscribe)), http.MethodPost)
}

// subscribeOn is the snapshot when subscriptions are offered; otherwise
// it answers the "off" page.
func (p *Pages) subscribeOn(w http.ResponseWriter, r *http.Request, root string) (*snapshot, bool) {
	s, ok := p.snap(w)
	if !ok {
		return nil, false
	}
	if p.opts.Subscriptions == nil || !s.r.settings.Subscribe.on() {
		p.subscribePage(w, r, s, root, http.StatusNotFound, &SubscribeView{Step: "off"})
		return nil, false
	}
	return s, true
}

// subscribePage renders a step of the subscription page, for one request.
func (p *Pages) subscribePage(w http.ResponseWriter, r *http.Request, s *snapshot, root string, code int, v *SubscribeView) {
	l := p.langOf(w, r, s)
	set := s.r.settings.Subscribe
	v.Email, v.Webhook = set.Email, set.Webhook
	v.Hours = max(int(set.ConfirmWithin/time.Hour), 1)
	v.Title, v.Text = subscribeText(v.Step)
	if v.Step == "sent" && v.Kind == store.SubscribeWebhook {
		v.Text = "subscribe.sent_webhook_text"
	}
	if v.Step == "form" {
		for _, sv := range s.board.Services {
			v.Services = append(v.Services, sv.Name)
		}
	}
	d := p.data(s, root, p.opts.Clock.Now(), l)
	d.Subscription = v
	body, err := p.html(s, "subscribe", d)
	if err != nil {
		p.opts.Logger.Error("Cannot render the subscription page", "err", err)
		http.Error(w, "cannot render the page", http.StatusInternalServerError)
		return
	}
	plainAsset(body, htmlType).serve(w, r, code, "no-store")
}

func (p *Pages) subscribeForm(w http.ResponseWriter, r *http.Request) {
	if s, ok := p.subscribeOn(w, r, ""); ok {
		p.subscribePage(w, r, s, "", http.StatusOK, &SubscribeView{Step: "form"})
	}
}

// maxForm bounds a subscription form's body.
const maxForm = 16 << 10

// subscribe takes a visitor's request: the same answer whether the
// address is new, pending or subscribed already, so that nobody learns
// who is subscribed; a client and an address have a few requests an
// hour.
func (p *Pages) subscribe(w http.ResponseWriter, r *http.Request) {
	s, ok := p.subscribeOn(w, r, "")
	if !ok {
		return
	}
	// Every request counts against its client, good or bad.
	now := p.opts.Clock.Now()
	limits := s.r.subscribeLimits
	client := "client:" + ratelimit.ClientAddr(r)
	if ok, _ := limits.clients.Allow(now, client); !ok {
		p.subscribePage(w, r, s, "", http.StatusTooManyRequests, &SubscribeView{Step: "limited"})
		return
	}
	limits.clients.Take(now, client)
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		p.subscribePage(w, r, s, "", http.StatusBadRequest, &SubscribeView{Step: "form", Error: "subscribe.missing"})
		return
	}
	l := p.langOf(w, r, s)
	in := content.Subscribe{Kind: store.SubscribeEmail, Address: r.PostForm.Get("email"), Language: l.Code}
	if strings.TrimSpace(in.Address) == "" {
		in.Kind, in.Address = store.SubscribeWebhook, r.PostForm.Get("webhook")
	}
	// A service that is not on the page is refused, not dropped: with
	// none left the visitor would hear of every service.
	unknown := false
	for _, name := range r.PostForm["service"] {
		if _, known := s.board.Service(name); !known {
			unknown = true
		} else if !slices.Contains(in.Services, name) {
			in.Services = append(in.Services, name)
		}
	}
	form := &SubscribeView{Step: "form", Kind: in.Kind, Address: in.Address, Chosen: in.Services}
	set := s.r.settings.Subscribe
	switch {
	case unknown:
		form.Error = "subscribe.unknown_service"
	case strings.TrimSpace(in.Address) == "":
		form.Error = "subscribe.missing"
	case (in.Kind == store.SubscribeEmail && !set.Email) || (in.Kind == store.SubscribeWebhook && !set.Webhook):
		form.Error = "subscribe.missing"
	}
	if form.Error == "" {
		if err := in.Validate(); err != nil {
			form.Error = "subscribe.invalid_" + in.Kind
		}
	}
	if form.Error != "" {
		p.subscribePage(w, r, s, "", http.StatusBadRequest, form)
		return
	}
	// An address asked for too often is answered as if it were sent: the
	// visitor learns nothing, the address gets no more mail.
	address := in.Kind + ":" + strings.ToLower(in.Address)
	if ok, _ := limits.addresses.Allow(now, address); ok {
		limits.addresses.Take(now, address)
		err := p.opts.Subscriptions.Subscribe(r.Context(), in)
		var fe content.FieldErrors
		switch {
		case errors.As(err, &fe):
			form.Error = "subscribe.invalid_" + in.Kind
			p.subscribePage(w, r, s, "", http.StatusBadRequest, form)
			return
		case err != nil:
			p.unavailable(w, r, s, "", err)
			return
		}
	}
	p.subscribePage(w, r, s, "", http.StatusOK, &SubscribeView{Step: "sent", Kind: in.Kind, Address: in.Address})
}

// confirmPage asks to confirm with a button: a link opened by a mail
// scanner confirms nothing.
func (p *Pages) confirmPage(w http.ResponseWriter, r *http.Request) {
	if s, ok := p.subscribeOn(w, r, "../../"); ok {
		p.subscribePage(w, r, s, "../../", http.StatusOK, &SubscribeView{Step: "confirm"})
	}
}

func (p *Pages) confirm(w http.ResponseWriter, r *http.Request) {
	s, ok := p.subscribeOn(w, r, "../../")
	if !ok {
		return
	}
	_, err := p.opts.Subscriptions.Confirm(r.Context(), r.PathValue("token"))
	switch {
	case errors.Is(err, store.ErrNoSubscriber):
		p.subscribePage(w, r, s, "../../", http.StatusNotFound, &SubscribeView{Step: "expired"})
	case err != nil:
		p.unavailable(w, r, s, "../../", err)
	default:
		p.subscribePage(w, r, s, "../../", http.StatusOK, &SubscribeView{Step: "confirmed"})
	}
}

func (p *Pages) unsubscribePage(w http.ResponseWriter, r *http.Request) {
	s, ok := p.snap(w)
	if ok {
		p.subscribePage(w, r, s, "../", http.StatusOK, &SubscribeView{Step: "unsubscribe"})
	}
}

// unsubscribe removes a subscriber: from the page's button, and from a
// mail client's one-click POST (RFC 8058), which carries no cookie and
// no token but the link's. An unknown link is answered the same.
func (p *Pages) unsubscribe(w http.ResponseWriter, r *http.Request) {
	s, ok := p.snap(w)
	if !ok {
		return
	}
	if p.opts.Subscriptions != nil {
		_, err := p.opts.Subscriptions.Unsubscribe(r.Context(), r.PathValue("token"))
		if err != nil && !errors.Is(err, store.ErrNoSubscriber) {
			p.unavailable(w, r, s, "../", err)
			return
		}
	}
	p.subscribePage(w, r, s, "../", http.StatusOK, &SubscribeView{Step: "unsubscribed"})
}

// subscribeText is a step's title and text keys.
func subscribeText(step string) (title, text string) {
	switch step {
	case "form":
		return "subscribe.title", "subscribe.intro"
	case "confirm":
		return "subscribe.title", "subscribe.confirm"
	case "limited":
		return "subscribe.too_many", "subscribe.too_many_text"
	case "off":
		return "subscribe.off", "subscribe.off_text"
	case "unsubscribe":
		return "subscribe.unsubscribe", "subscribe.unsubscribe_text"
	}
	return "subscribe." + step, "subscribe." + step + "_text"
}
