package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"time"

	promconfig "github.com/prometheus/common/config"

	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/status"
)

// newTLS reads the certificate a TLS server presents and levels the check
// by the time left before it expires: warning at warning_days, problem at
// problem_days (inclusive). Unless insecure_skip_verify is set, the chain
// must also verify for the server name. The tls_config is read at every
// run, so that rotated CA and client certificate files apply. The value is
// the seconds left.
func newTLS(_ status.CheckID, c *config.Check, env Env) (Prober, error) {
	t := c.TLS
	if _, err := promconfig.NewTLSConfig(&t.TLSConfig); err != nil {
		return nil, fmt.Errorf("tls_config: %w", err)
	}
	serverName := t.TLSConfig.ServerName
	if serverName == "" {
		serverName, _, _ = net.SplitHostPort(t.Address)
	}
	warnLeft := time.Duration(t.WarningDays) * 24 * time.Hour
	problemLeft := time.Duration(t.ProblemDays) * 24 * time.Hour
	return ProberFunc(func(ctx context.Context) status.Result {
		cfg, err := promconfig.NewTLSConfig(&t.TLSConfig)
		if err != nil {
			return fail("tls_config: %s", err)
		}
		roots := cfg.RootCAs
		cfg.ServerName = serverName
		// The chain is verified below, so that an expired or untrusted
		// certificate can still be read and reported.
		cfg.InsecureSkipVerify = true //nolint:gosec // verified by hand below
		d := tls.Dialer{Config: cfg}
		conn, err := d.DialContext(ctx, "tcp", t.Address)
		if err != nil {
			return fail("TLS handshake with %s: %s", t.Address, describeErr(ctx, err))
		}
		state := conn.(*tls.Conn).ConnectionState()
		conn.Close()
		if len(state.PeerCertificates) == 0 {
			return fail("%s presented no certificate", t.Address)
		}
		leaf := state.PeerCertificates[0]
		now := env.Now()
		left := leaf.NotAfter.Sub(now)
		details := map[string]any{
			"subject":    leaf.Subject.String(),
			"issuer":     leaf.Issuer.String(),
			"not_before": leaf.NotBefore.UTC().Format(time.RFC3339),
			"not_after":  leaf.NotAfter.UTC().Format(time.RFC3339),
			"dns_names":  leaf.DNSNames,
		}
		r := status.Result{Level: status.Fine, Success: true, Value: status.Float(left.Seconds()), Details: details}
		switch {
		case left <= 0:
			r.Level, r.Success = status.Problem, false
			r.Message = fmt.Sprintf("certificate expired %s ago (%s)", Human(-left), leaf.NotAfter.UTC().Format(time.DateOnly))
			return r
		case now.Before(leaf.NotBefore):
			r.Level, r.Success = status.Problem, false
			r.Message = fmt.Sprintf("certificate is not valid before %s", leaf.NotBefore.UTC().Format(time.RFC3339))
			return r
		}
		if !t.TLSConfig.InsecureSkipVerify {
			opts := x509.VerifyOptions{Roots: roots, DNSName: serverName, CurrentTime: now, Intermediates: x509.NewCertPool()}
			for _, c := range state.PeerCertificates[1:] {
				opts.Intermediates.AddCert(c)
			}
			if _, err := leaf.Verify(opts); err != nil {
				r.Level, r.Success = status.Problem, false
				r.Message = "certificate not trusted: " + verifyError(err)
				return r
			}
		}
		r.Message = fmt.Sprintf("certificate expires in %s (%s)", Human(left), leaf.NotAfter.UTC().Format(time.DateOnly))
		switch {
		case left <= problemLeft:
			r.Level = status.Problem
		case left <= warnLeft:
			r.Level = status.Warning
		}
		return r
	}), nil
}

func verifyError(err error) string {
	var hostErr x509.HostnameError
	var authErr x509.UnknownAuthorityError
	switch {
	case errors.As(err, &hostErr):
		return fmt.Sprintf("not valid for %s", hostErr.Host)
	case errors.As(err, &authErr):
		return "signed by an unknown authority"
	}
	return err.Error()
}
