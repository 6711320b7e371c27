package realparts

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
)

// TLSHop is an authenticating front on loopback for a plaintext server (the dev server cannot serve
// TLS itself), as Temporal Cloud or a self-hosted cluster's edge is: clients speak TLS (ALPN h2,
// for gRPC) to Addr, with a certificate for ServerName signed by the CA in CAFile; they must
// present a client certificate signed by the hop's client CA (mTLS: ClientCert/ClientKey are one)
// and, when APIKey is set, the gRPC metadata "authorization: Bearer <APIKey>". Requests that pass
// go on to the target over h2c; the others get gRPC status UNAUTHENTICATED. With RefuseOperatorAPI
// set, calls to Temporal's OperatorService get PERMISSION_DENIED, as Temporal Cloud answers workers.
type TLSHop struct {
	Addr                  string
	ServerName            string
	CAFile                string
	ClientCert, ClientKey string
	APIKey                string
	RefuseOperatorAPI     atomic.Bool
	// RefusePolls answers task-queue polls INVALID_ARGUMENT, an error the SDK gives up on.
	RefusePolls atomic.Bool
}

// Profile writes a temporal.toml holding one profile, name, that reaches the hop in namespace
// with the client certificate and the API key (the SDK's environment configuration file), and
// returns its path.
func (h *TLSHop) Profile(t testing.TB, name, namespace string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "temporal.toml")
	toml := fmt.Sprintf("[profile.%s]\naddress = %q\nnamespace = %q\napi_key = %q\n\n[profile.%s.tls]\n"+
		"server_name = %q\nserver_ca_cert_path = %q\nclient_cert_path = %q\nclient_key_path = %q\n",
		name, h.Addr, namespace, h.APIKey, name, h.ServerName, h.CAFile, h.ClientCert, h.ClientKey)
	if err := os.WriteFile(path, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// StartTLSHop starts a hop to target with CAs and certificates of its own, asking for apiKey
// ("" for none) besides the client certificate.
func StartTLSHop(t testing.TB, target, apiKey string) *TLSHop {
	t.Helper()
	dir := t.TempDir()
	h := &TLSHop{ServerName: "temporal.test", CAFile: filepath.Join(dir, "ca.pem"), APIKey: apiKey,
		ClientCert: filepath.Join(dir, "client.pem"), ClientKey: filepath.Join(dir, "client.key")}
	caKey, caCert, caDER := newCA(t)
	writePEM(t, h.CAFile, "CERTIFICATE", caDER)
	serverKey, serverDER := issue(t, caKey, caCert, h.ServerName, x509.ExtKeyUsageServerAuth)
	clientCAKey, clientCA, _ := newCA(t)
	clientKey, clientDER := issue(t, clientCAKey, clientCA, "deployer-worker", x509.ExtKeyUsageClientAuth)
	writePEM(t, h.ClientCert, "CERTIFICATE", clientDER)
	keyDER, err := x509.MarshalECPrivateKey(clientKey)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, h.ClientKey, "EC PRIVATE KEY", keyDER)
	pool := x509.NewCertPool()
	pool.AddCert(clientCA)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"h2"},
		Certificates: []tls.Certificate{{Certificate: [][]byte{serverDER}, PrivateKey: serverKey}},
		ClientAuth:   tls.RequireAndVerifyClientCert, ClientCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	h.Addr = ln.Addr().String()
	srv := &http.Server{Handler: h.handler(target), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: log.New(io.Discard, "", 0)} // refused handshakes are the test's point
	t.Cleanup(func() { _ = srv.Close() })
	go func() { _ = srv.Serve(ln) }()
	return h
}

// handler checks the API key and passes gRPC on to target over h2c, trailers and all.
func (h *TLSHop) handler(target string) http.Handler {
	tr := &http.Transport{Protocols: new(http.Protocols), ForceAttemptHTTP2: true}
	tr.Protocols.SetUnencryptedHTTP2(true)
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(&url.URL{Scheme: "http", Host: target})
	}, Transport: tr, FlushInterval: -1}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case h.APIKey != "" && r.Header.Get("Authorization") != "Bearer "+h.APIKey:
			grpcRefusal(w, codes.Unauthenticated, "the hop wants the API key")
		case h.RefusePolls.Load() && strings.Contains(r.URL.Path, "/Poll"):
			grpcRefusal(w, codes.InvalidArgument, "the hop refuses polls")
		case h.RefuseOperatorAPI.Load() && strings.HasPrefix(r.URL.Path, "/temporal.api.operatorservice.v1.OperatorService/"):
			grpcRefusal(w, codes.PermissionDenied, "the operator API is not offered here (as on Temporal Cloud)")
		default:
			proxy.ServeHTTP(w, r)
		}
	})
}

// grpcRefusal answers a gRPC call with status code and message, in headers alone.
func grpcRefusal(w http.ResponseWriter, code codes.Code, msg string) {
	w.Header().Set("Content-Type", "application/grpc")
	w.Header().Set("Grpc-Status", strconv.Itoa(int(code)))
	w.Header().Set("Grpc-Message", msg)
	w.WriteHeader(http.StatusOK)
}

// NewCAFile writes the certificate of a CA that signed nothing this hop presents (a wrong CA).
func NewCAFile(t testing.TB) string {
	t.Helper()
	_, _, der := newCA(t)
	f := filepath.Join(t.TempDir(), "other-ca.pem")
	writePEM(t, f, "CERTIFICATE", der)
	return f
}

func newCA(t testing.TB) (*ecdsa.PrivateKey, *x509.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "temporaldeployer test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert, der
}

// issue signs a leaf certificate for name with the CA.
func issue(t testing.TB, caKey *ecdsa.PrivateKey, ca *x509.Certificate, name string, use x509.ExtKeyUsage) (*ecdsa.PrivateKey, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{use}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return key, der
}

func writePEM(t testing.TB, path, kind string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
