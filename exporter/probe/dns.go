package probe

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/status"
)

// newDNS resolves a name through a server (by default the first one in
// /etc/resolv.conf) and requires an answer, and every expected answer when
// some are listed. The value is the query time in seconds.
func newDNS(_ status.CheckID, c *config.Check, _ Env) (Prober, error) {
	d := c.DNS
	qtype := dns.StringToType[d.Type]
	expected := make([]string, len(d.Expect))
	for i, e := range d.Expect {
		expected[i] = normalizeAnswer(e)
	}
	client := &dns.Client{Net: d.Protocol}
	return ProberFunc(func(ctx context.Context) status.Result {
		start := time.Now()
		server := d.Server
		if server == "" {
			conf, err := dns.ClientConfigFromFile("/etc/resolv.conf")
			if err != nil || len(conf.Servers) == 0 {
				return fail("no DNS server configured and none in /etc/resolv.conf")
			}
			server = net.JoinHostPort(conf.Servers[0], conf.Port)
		}
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(d.Query), qtype)
		m.RecursionDesired = true
		resp, _, err := client.ExchangeContext(ctx, m, server)
		if err != nil {
			return fail("query %s %s at %s: %s", d.Type, d.Query, server, describeErr(ctx, err))
		}
		took := time.Since(start)
		rcode := dns.RcodeToString[resp.Rcode]
		var answers []string
		for _, rr := range resp.Answer {
			if rr.Header().Rrtype == qtype {
				answers = append(answers, answerText(rr))
			}
		}
		details := map[string]any{"rcode": rcode, "answers": answers}
		if resp.Rcode != dns.RcodeSuccess {
			r := fail("%s %s: %s", d.Type, d.Query, rcode)
			r.Details = details
			return r
		}
		if len(answers) == 0 {
			r := fail("%s %s: no %s records", d.Type, d.Query, d.Type)
			r.Details = details
			return r
		}
		if missing := missingAnswers(expected, answers); len(missing) > 0 {
			r := fail("%s %s answered %s, missing %s", d.Type, d.Query, strings.Join(answers, ", "), strings.Join(missing, ", "))
			r.Details = details
			return r
		}
		return ok(status.Float(took.Seconds()), details, "%s %s: %s in %s", d.Type, d.Query, strings.Join(answers, ", "), Human(took))
	}), nil
}

// answerText renders a record's data as people write it.
func answerText(rr dns.RR) string {
	switch v := rr.(type) {
	case *dns.A:
		return v.A.String()
	case *dns.AAAA:
		return v.AAAA.String()
	case *dns.CNAME:
		return strings.TrimSuffix(v.Target, ".")
	case *dns.NS:
		return strings.TrimSuffix(v.Ns, ".")
	case *dns.MX:
		return fmt.Sprintf("%d %s", v.Preference, strings.TrimSuffix(v.Mx, "."))
	case *dns.TXT:
		return strings.Join(v.Txt, "")
	}
	return strings.TrimPrefix(rr.String(), rr.Header().String())
}

func normalizeAnswer(s string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(s), "."))
}

func missingAnswers(expected, answers []string) []string {
	have := map[string]bool{}
	for _, a := range answers {
		have[normalizeAnswer(a)] = true
	}
	var missing []string
	for _, e := range expected {
		if !have[e] {
			missing = append(missing, e)
		}
	}
	return missing
}
