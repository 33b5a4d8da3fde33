package util

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// Certs is a throwaway PKI made with openssl in a test's temp dir: a CA, a server
// certificate for 127.0.0.1 / localhost (also usable as a client certificate, as cluster
// nodes use it), and a client certificate, all signed by the CA; PEM files, EC P-256 keys.
type Certs struct {
	Dir                   string
	CA                    string
	ServerCert, ServerKey string
	ClientCert, ClientKey string
}

// MakeCerts creates a CA named cn and the certificates it signs.
func MakeCerts(t testing.TB, cn string) *Certs {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl is not installed")
	}
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	run := func(args ...string) {
		out, err := exec.Command("openssl", args...).CombinedOutput()
		require.NoError(t, err, "openssl %v: %s", args, out)
	}
	ec := []string{"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"}
	run(append([]string{"req", "-x509"}, append(ec, "-keyout", p("ca.key"), "-out", p("ca.crt"), "-days", "2",
		"-subj", "/CN="+cn, "-addext", "basicConstraints=critical,CA:TRUE",
		"-addext", "keyUsage=critical,keyCertSign,cRLSign")...)...)
	leaf := func(name, subject, ext string) {
		require.NoError(t, os.WriteFile(p(name+".ext"), []byte(ext), 0o600))
		run(append([]string{"req"}, append(ec, "-keyout", p(name+".key"), "-out", p(name+".csr"),
			"-subj", subject)...)...)
		run("x509", "-req", "-in", p(name+".csr"), "-CA", p("ca.crt"), "-CAkey", p("ca.key"),
			"-CAcreateserial", "-out", p(name+".crt"), "-days", "2", "-extfile", p(name+".ext"))
	}
	leaf("server", "/CN=localhost", "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"+
		"extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n")
	leaf("client", "/CN=redraft-test-client", "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"+
		"extendedKeyUsage=clientAuth\n")
	return &Certs{Dir: dir, CA: p("ca.crt"), ServerCert: p("server.crt"), ServerKey: p("server.key"),
		ClientCert: p("client.crt"), ClientKey: p("client.key")}
}

// ServerOpts are the server options of a TLS port with these certificates.
func (c *Certs) ServerOpts(tlsPort int) map[string]string {
	return map[string]string{
		"tls-port":         itoa(tlsPort),
		"tls-cert-file":    c.ServerCert,
		"tls-key-file":     c.ServerKey,
		"tls-ca-cert-file": c.CA,
	}
}

// ClientTLS is a client configuration trusting the CA; withCert adds the client certificate.
func (c *Certs) ClientTLS(t testing.TB, withCert bool) *tls.Config {
	t.Helper()
	pem, err := os.ReadFile(c.CA)
	require.NoError(t, err)
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(pem))
	conf := &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	if withCert {
		pair, err := tls.LoadX509KeyPair(c.ClientCert, c.ClientKey)
		require.NoError(t, err)
		conf.Certificates = []tls.Certificate{pair}
	}
	return conf
}
