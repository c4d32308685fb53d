package probe

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/status"
)

// checkFrom parses one check written as a YAML flow mapping, with every
// default applied as statusd would.
func checkFrom(t testing.TB, yaml string) *config.Check {
	t.Helper()
	c, err := config.Parse([]byte("resources:\n  test:\n    - "+yaml+"\n"), "", config.OSEnv())
	if err != nil {
		t.Fatalf("config %s: %v", yaml, err)
	}
	return &c.Resources[0].Checks[0]
}

// run builds the check's prober and probes once within its timeout.
func run(t *testing.T, yaml string, env Env) status.Result {
	t.Helper()
	c := checkFrom(t, yaml)
	p, err := New(c.ID("test"), c, env)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := WithTimeout(context.Background(), time.Duration(c.Timeout))
	defer cancel()
	return p.Probe(ctx)
}

// probeCase is a check and the result it must give.
type probeCase struct {
	name, check string
	level       status.Level
	success     bool
	message     string // a part of the message
}

// run probes the case's check once and asserts its level and message.
func (c probeCase) run(t *testing.T) status.Result {
	t.Helper()
	r := run(t, c.check, Env{})
	wantLevel(t, r, c.level, c.success)
	if !strings.Contains(r.Message, c.message) {
		t.Errorf("message %q does not contain %q", r.Message, c.message)
	}
	return r
}

func wantLevel(t *testing.T, r status.Result, level status.Level, success bool) {
	t.Helper()
	if r.Level != level || r.Success != success {
		t.Fatalf("result = %s success=%v (%q), want %s success=%v", r.Level, r.Success, r.Message, level, success)
	}
}

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	file string // PEM file of the CA certificate
}

func newCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "statusd test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(10 * 365 * 24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	file := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, file: file}
}

// leaf issues a server certificate for localhost/127.0.0.1 valid until
// notAfter.
func (ca *testCA) leaf(t *testing.T, notAfter time.Time) tls.Certificate {
	t.Helper()
	cert, _, _ := ca.issue(t, x509.ExtKeyUsageServerAuth, notAfter, "localhost", "127.0.0.1")
	return cert
}

// issue signs a certificate for names (DNS names or IP addresses) with
// the given usage, and writes it and its key as PEM files.
func (ca *testCA) issue(t *testing.T, usage x509.ExtKeyUsage, notAfter time.Time, names ...string) (cert tls.Certificate, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: names[0]},
		NotBefore:    notAfter.Add(-90 * 24 * time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, certFile, keyFile
}

// pool holds the CA's certificate, for servers that verify clients.
func (ca *testCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// tlsServer accepts TLS connections with cert until the test ends and
// returns its address.
func tlsServer(t *testing.T, cert tls.Certificate) string {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	return serve(t, l, func(c net.Conn) {
		_ = c.(*tls.Conn).Handshake()
		c.Close()
	})
}

// listen opens a loopback TCP listener.
func listen(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// serve accepts connections on l until the test ends, handling each in
// its own goroutine, and returns l's address.
func serve(t *testing.T, l net.Listener, handle func(net.Conn)) string {
	t.Helper()
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go handle(c)
		}
	}()
	return l.Addr().String()
}

// closedAddr returns an address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l := listen(t)
	addr := l.Addr().String()
	l.Close()
	return addr
}

// blackHole returns an address that accepts connections and never
// answers: a hung server.
func blackHole(t *testing.T) string {
	t.Helper()
	return serve(t, listen(t), func(c net.Conn) {
		<-t.Context().Done()
		c.Close()
	})
}

// wantTimely runs a check against a hung server: it must give up at its
// timeout, at problem, with a message that names the timeout. A probe that
// ignored its context would hang; the guard, far beyond any timeout the
// tests set, turns that into a failure instead of a stuck test run.
func wantTimely(t *testing.T, yaml string) status.Result {
	t.Helper()
	c := checkFrom(t, yaml)
	p, err := New(c.ID("test"), c, Env{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := WithTimeout(context.Background(), time.Duration(c.Timeout))
	defer cancel()
	got := make(chan status.Result, 1)
	go func() { got <- p.Probe(ctx) }()
	var r status.Result
	select {
	case r = <-got:
	case <-time.After(time.Minute):
		t.Fatal("a hung server held the check past its timeout")
	}
	wantLevel(t, r, status.Problem, false)
	if !strings.Contains(r.Message, "timed out") {
		t.Errorf("message %q does not say it timed out", r.Message)
	}
	return r
}

// wantNoSecret fails when a secret appears in a result.
func wantNoSecret(t *testing.T, r status.Result, secrets ...string) {
	t.Helper()
	text := fmt.Sprintf("%s %v", r.Message, r.Details)
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("result shows the secret %q: %s", s, text)
		}
	}
}

// figures are a result's details as the map most kinds report (nil for
// details of another shape).
func figures(r status.Result) map[string]any {
	m, _ := r.Details.(map[string]any)
	return m
}
