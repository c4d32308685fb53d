package probe

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	promconfig "github.com/prometheus/common/config"
)

// maxResponseHeaderBytes bounds the response header an http check reads,
// so that a hostile target cannot grow statusd's memory until the timeout
// (net/http's own default is 10 MB). Real servers stay far below it:
// nginx, for one, proxies at most 8 KiB of response header by default.
const maxResponseHeaderBytes = 64 << 10

// newHTTPClient builds the client of one http check from Prometheus's
// client options: TLS (files reloaded when they change), proxy, HTTP/2,
// and basic, authorization or OAuth2 credentials, with the round trippers
// of prometheus/common/config. It composes them itself instead of calling
// config.NewRoundTripperFromConfig because that function gives no way to
// bound the response header (MaxResponseHeaderBytes) and no way to follow a
// redirect without credentials, which a downgrade from https to http needs.
//
// Keep-alives are off: every run dials a new connection, as a health check
// must, and the client holds nothing between runs. HTTP/2 (with
// enable_http2) is negotiated over TLS: it is set up only for an https
// target, as its state costs a kilobyte per check that a plain http one
// would never use (a redirect from http to https then speaks HTTP/1.1).
func newHTTPClient(cfg promconfig.HTTPClientConfig, target *url.URL, dialer *net.Dialer) (*http.Client, error) {
	https := target.Scheme == "https"
	// A check without TLS options uses Go's defaults: no config of its
	// own to keep (half a kilobyte a check).
	var tlsConfig *tls.Config
	if cfg.TLSConfig != (promconfig.TLSConfig{}) {
		var err error
		if tlsConfig, err = promconfig.NewTLSConfig(&cfg.TLSConfig); err != nil {
			return nil, err
		}
	}
	// Without a proxy or HTTP/2 to negotiate, a run needs none of the
	// Transport's machinery (see directTransport).
	http2 := cfg.EnableHTTP2 && https
	direct := cfg.ProxyURL.URL == nil && !cfg.ProxyFromEnvironment && !http2
	newTransport := func(tc *tls.Config) (http.RoundTripper, error) {
		if direct {
			t := &directTransport{dialer: dialer, tlsConfig: tc, maxHeader: maxResponseHeaderBytes, origin: target.Host}
			t.originHost, t.originAddr, t.originIP = dialAddr(target)
			return t, nil
		}
		t := &http.Transport{
			Proxy:                  cfg.Proxy(),
			ProxyConnectHeader:     cfg.GetProxyConnectHeader(),
			DialContext:            dialer.DialContext,
			TLSClientConfig:        tc,
			DisableKeepAlives:      true,
			DisableCompression:     true, // an unasked compressed body is decompressed by the check
			MaxResponseHeaderBytes: maxResponseHeaderBytes,
			ExpectContinueTimeout:  time.Second,
			Protocols:              new(http.Protocols),
			// A run reads one response and writes one request: 4 KiB
			// buffers each (the default) are most of what a run allocates.
			ReadBufferSize:  2 << 10,
			WriteBufferSize: 1 << 10,
		}
		t.Protocols.SetHTTP1(true)
		t.Protocols.SetHTTP2(cfg.EnableHTTP2 && https)
		return traceTransport{t}, nil
	}
	settings := promconfig.TLSRoundTripperSettings{
		CA:   secretReader(promconfig.Secret(cfg.TLSConfig.CA), cfg.TLSConfig.CAFile),
		Cert: secretReader(promconfig.Secret(cfg.TLSConfig.Cert), cfg.TLSConfig.CertFile),
		Key:  secretReader(cfg.TLSConfig.Key, cfg.TLSConfig.KeyFile),
	}
	var base http.RoundTripper
	var err error
	if tc := cfg.TLSConfig; tc.CAFile == "" && tc.CertFile == "" && tc.KeyFile == "" {
		base, err = newTransport(tlsConfig)
	} else {
		// Reads the files again when they change: rotated certificates apply.
		base, err = promconfig.NewTLSRoundTripper(tlsConfig, settings, newTransport)
	}
	if err != nil {
		return nil, err
	}

	creds := base
	switch {
	case cfg.Authorization != nil:
		creds = promconfig.NewAuthorizationCredentialsRoundTripper(cfg.Authorization.Type,
			secretReader(cfg.Authorization.Credentials, cfg.Authorization.CredentialsFile), creds)
	case cfg.BasicAuth != nil:
		creds = promconfig.NewBasicAuthRoundTripper(
			secretReader(promconfig.Secret(cfg.BasicAuth.Username), cfg.BasicAuth.UsernameFile),
			secretReader(cfg.BasicAuth.Password, cfg.BasicAuth.PasswordFile), creds)
	case cfg.OAuth2 != nil:
		o := cfg.OAuth2
		credential := secretReader(o.ClientSecret, o.ClientSecretFile)
		if o.GrantType == jwtBearer {
			credential = secretReader(o.ClientCertificateKey, o.ClientCertificateKeyFile)
		}
		creds = promconfig.NewOAuth2RoundTripper(credential, o, creds)
	}
	plain := base
	if cfg.HTTPHeaders != nil {
		creds = promconfig.NewHeadersRoundTripper(cfg.HTTPHeaders, creds)
		plain = promconfig.NewHeadersRoundTripper(cfg.HTTPHeaders, plain)
	}
	client := &http.Client{Transport: &redirectGuard{creds: creds, plain: plain}}
	if !cfg.FollowRedirects {
		client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	return client, nil
}

// jwtBearer is the OAuth2 grant type that signs a JWT with a client key
// (RFC 7523) instead of sending a client secret.
const jwtBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// secretReader reads a secret from its file when one is set (again at each
// use, so that a rotated secret applies), or returns the inline value; nil
// when neither is set.
func secretReader(inline promconfig.Secret, file string) promconfig.SecretReader {
	switch {
	case file != "":
		return promconfig.NewFileSecret(file)
	case inline != "":
		return promconfig.NewInlineSecret(string(inline))
	}
	return nil
}

// redirectGuard sends a redirected request that leaves the original host,
// or that goes from https to plain http, without credentials: no
// authorization, basic auth or OAuth2 token is added, and the headers Go
// treats as sensitive (Authorization, Cookie…) are removed. net/http alone
// strips them only when the host changes, and would send them in clear
// text after a downgrade.
type redirectGuard struct {
	creds, plain http.RoundTripper
}

// sensitiveHeaders are the headers net/http drops on a redirect to another
// domain.
var sensitiveHeaders = []string{"Authorization", "Www-Authenticate", "Cookie", "Cookie2", "Proxy-Authorization"}

func (g *redirectGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	if !leavesOrigin(req) {
		return g.creds.RoundTrip(req)
	}
	req = req.Clone(req.Context())
	for _, h := range sensitiveHeaders {
		req.Header.Del(h)
	}
	return g.plain.RoundTrip(req)
}

// leavesOrigin tells whether a redirected request goes to another host
// than the first request of its chain, or downgrades from https to http
// anywhere along it.
func leavesOrigin(req *http.Request) bool {
	if req.Response == nil {
		return false
	}
	first := req
	for first.Response != nil && first.Response.Request != nil {
		prev := first.Response.Request
		if prev.URL.Scheme == "https" && first.URL.Scheme != "https" {
			return true
		}
		first = prev
	}
	host := strings.ToLower(req.URL.Hostname())
	origin := strings.ToLower(first.URL.Hostname())
	return host != origin && !strings.HasSuffix(host, "."+origin)
}
