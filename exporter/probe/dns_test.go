package probe

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/statusd/statusd/internal/status"
)

// dnsServer serves a small zone over UDP and TCP on one loopback port and
// returns its address.
func dnsServer(t *testing.T) string {
	t.Helper()
	zone := map[uint16]map[string][]string{
		dns.TypeA:     {"www.example.test.": {"www.example.test. 60 IN A 192.0.2.10", "www.example.test. 60 IN A 192.0.2.11"}},
		dns.TypeAAAA:  {"www.example.test.": {"www.example.test. 60 IN AAAA 2001:db8::10"}},
		dns.TypeCNAME: {"alias.example.test.": {"alias.example.test. 60 IN CNAME www.example.test."}},
		dns.TypeMX:    {"example.test.": {"example.test. 60 IN MX 10 mail.example.test."}},
		dns.TypeTXT:   {"example.test.": {`example.test. 60 IN TXT "v=spf1 -all"`}},
	}
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		q := req.Question[0]
		if q.Name == "slow.example.test." {
			return // never answer
		}
		records, known := zone[q.Qtype][q.Name]
		if !known && !strings.HasSuffix(q.Name, "example.test.") {
			m.Rcode = dns.RcodeNameError
		}
		if q.Name == "missing.example.test." {
			m.Rcode = dns.RcodeNameError
		}
		for _, s := range records {
			rr, err := dns.NewRR(s)
			if err != nil {
				t.Error(err)
			}
			m.Answer = append(m.Answer, rr)
		}
		_ = w.WriteMsg(m)
	})
	// The same port for UDP and TCP: the port the UDP socket got may be
	// in use for TCP (another process's connection), so try again then.
	var pc net.PacketConn
	var l net.Listener
	for attempt := 0; l == nil; attempt++ {
		var err error
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if l, err = net.Listen("tcp", pc.LocalAddr().String()); err != nil {
			pc.Close()
			if attempt == 50 {
				t.Fatalf("no port free for both UDP and TCP: %v", err)
			}
		}
	}
	udp := &dns.Server{PacketConn: pc, Handler: handler}
	tcp := &dns.Server{Listener: l, Handler: handler}
	started := make(chan struct{}, 2)
	udp.NotifyStartedFunc = func() { started <- struct{}{} }
	tcp.NotifyStartedFunc = func() { started <- struct{}{} }
	go func() { _ = udp.ActivateAndServe() }()
	go func() { _ = tcp.ActivateAndServe() }()
	for range 2 {
		select {
		case <-started:
		case <-time.After(5 * time.Second):
			t.Fatal("DNS server did not start")
		}
	}
	t.Cleanup(func() { _ = udp.Shutdown(); _ = tcp.Shutdown() })
	return pc.LocalAddr().String()
}

func TestDNS(t *testing.T) {
	server := dnsServer(t)
	cases := []probeCase{
		{"A", `{name: c, kind: dns, query: www.example.test, server: "` + server + `"}`, status.Fine, true, "A www.example.test: 192.0.2.10, 192.0.2.11 in"},
		{"expected", `{name: c, kind: dns, query: www.example.test, server: "` + server + `", expect: [192.0.2.11]}`, status.Fine, true, ""},
		{"expected missing", `{name: c, kind: dns, query: www.example.test, server: "` + server + `", expect: [192.0.2.99]}`, status.Problem, false, "missing 192.0.2.99"},
		{"AAAA over TCP", `{name: c, kind: dns, query: www.example.test, type: aaaa, protocol: tcp, server: "` + server + `"}`, status.Fine, true, "2001:db8::10"},
		{"CNAME", `{name: c, kind: dns, query: alias.example.test., type: CNAME, server: "` + server + `", expect: [www.example.test.]}`, status.Fine, true, "www.example.test"},
		{"MX", `{name: c, kind: dns, query: example.test, type: MX, server: "` + server + `", expect: ["10 mail.example.test"]}`, status.Fine, true, ""},
		{"TXT", `{name: c, kind: dns, query: example.test, type: TXT, server: "` + server + `"}`, status.Fine, true, "v=spf1 -all"},
		{"no records", `{name: c, kind: dns, query: www.example.test, type: MX, server: "` + server + `"}`, status.Problem, false, "no MX records"},
		{"NXDOMAIN", `{name: c, kind: dns, query: missing.example.test, server: "` + server + `"}`, status.Problem, false, "NXDOMAIN"},
		{"timeout", `{name: c, kind: dns, query: slow.example.test, server: "` + server + `", timeout: 300ms}`, status.Problem, false, "timed out after 300ms"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.run(t)
		})
	}
}
