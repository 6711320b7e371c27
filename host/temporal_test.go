package host

import (
	"crypto/tls"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/temporaldeployer/temporaldeployer/codec"
	"github.com/temporaldeployer/temporaldeployer/config"
	"go.temporal.io/sdk/client"
)

// mapEnv is an environment for envconfig from a map.
type mapEnv map[string]string

func (m mapEnv) Environ() []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}

func (m mapEnv) LookupEnv(k string) (string, bool) { v, ok := m[k]; return v, ok }

// TestClientOptions: the connection comes from the SDK's environment configuration (a TOML
// profile, then TEMPORAL_* variables over it); with nothing set it is the local dev server.
// Reached gives the worker's configuration the same address and namespace.
func TestClientOptions(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "temporal.toml")
	toml := `[profile.default]
address = "127.0.0.1:7999"

[profile.cloud]
address = "ml.acct.tmprl.cloud:7233"
namespace = "ml.acct"
api_key = "key-from-file"

[profile.mtls]
address = "temporal.internal:7233"
namespace = "ml"
[profile.mtls.tls]
server_name = "temporal.internal"
`
	if err := os.WriteFile(file, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	none := filepath.Join(dir, "absent.toml")
	cases := []struct {
		name                string
		env                 mapEnv
		hostPort, namespace string
		tls, apiKey         bool
		err                 string
	}{
		{"nothing set: the local dev server", mapEnv{"TEMPORAL_CONFIG_FILE": none}, "127.0.0.1:7233", "default", false, false, ""},
		{"the file's default profile", mapEnv{"TEMPORAL_CONFIG_FILE": file}, "127.0.0.1:7999", "default", false, false, ""},
		{"an API key profile: TLS on", mapEnv{"TEMPORAL_CONFIG_FILE": file, "TEMPORAL_PROFILE": "cloud"}, "ml.acct.tmprl.cloud:7233", "ml.acct", true, true, ""},
		{"a TLS profile", mapEnv{"TEMPORAL_CONFIG_FILE": file, "TEMPORAL_PROFILE": "mtls"}, "temporal.internal:7233", "ml", true, false, ""},
		{"variables over the profile", mapEnv{"TEMPORAL_CONFIG_FILE": file, "TEMPORAL_PROFILE": "cloud", "TEMPORAL_ADDRESS": "other:7233",
			"TEMPORAL_NAMESPACE": "other"}, "other:7233", "other", true, true, ""},
		{"TLS by variable", mapEnv{"TEMPORAL_CONFIG_FILE": none, "TEMPORAL_TLS": "true"}, "127.0.0.1:7233", "default", true, false, ""},
		{"a profile that is not there", mapEnv{"TEMPORAL_CONFIG_FILE": file, "TEMPORAL_PROFILE": "staging"}, "", "", false, false, "staging"},
		{"a client certificate that is not there", mapEnv{"TEMPORAL_CONFIG_FILE": none, "TEMPORAL_TLS_CLIENT_CERT_PATH": filepath.Join(dir, "no.pem"),
			"TEMPORAL_TLS_CLIENT_KEY_PATH": filepath.Join(dir, "no.key")}, "", "", false, false, "no.pem"},
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o, err := ClientOptions(config.Defaults(), tc.env, log, nil)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an error naming %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.HostPort != tc.hostPort || o.Namespace != tc.namespace || (o.ConnectionOptions.TLS != nil) != tc.tls || (o.Credentials != nil) != tc.apiKey {
				t.Errorf("options %s %s tls=%v credentials=%v", o.HostPort, o.Namespace, o.ConnectionOptions.TLS != nil, o.Credentials != nil)
			}
			// The start log and the search attributes' namespace are what is dialled.
			if cfg, err := Reached(config.Defaults(), tc.env); err != nil || cfg.TemporalAddress != tc.hostPort || cfg.TemporalNamespace != tc.namespace {
				t.Errorf("Reached: %s %s, %v", cfg.TemporalAddress, cfg.TemporalNamespace, err)
			}
		})
	}
}

// TestClientOptionsCodec: a keyring seals every payload; one that does not load stops the client,
// never a connection in the clear.
func TestClientOptionsCodec(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "codec.json")
	b, _ := codec.MarshalKeyring(codec.Key{ID: "k1", Secret: make([]byte, codec.KeySize)})
	if err := os.WriteFile(good, b, 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"keys":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := mapEnv{"TEMPORAL_CONFIG_FILE": filepath.Join(dir, "absent.toml")}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct{ name, keys, err string }{
		{"no keyring: the SDK's converter", "", ""},
		{"a keyring seals", good, ""},
		{"a missing keyring stops the client", filepath.Join(dir, "absent.json"), "absent.json"},
		{"an empty keyring stops the client", bad, "holds no key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Defaults()
			cfg.Codec.Keys = tc.keys
			o, err := ClientOptions(cfg, env, log, nil)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an error naming %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (o.DataConverter != nil) != (tc.keys != "") || (o.FailureConverter != nil) != (tc.keys != "") {
				t.Fatalf("converters %v %v", o.DataConverter, o.FailureConverter)
			}
			if o.DataConverter == nil {
				return
			}
			p, err := o.DataConverter.ToPayload("models:/fraud/7")
			if err != nil || strings.Contains(string(p.GetData()), "fraud") || string(p.Metadata[codec.MetadataKeyID]) != "k1" {
				t.Fatalf("payload not sealed: %v %v", p, err)
			}
		})
	}
}

// TestTransport: a failed connection says what the client presented, since TLS 1.3 reports a
// missing client certificate to the client only as a closed connection.
func TestTransport(t *testing.T) {
	for _, tc := range []struct {
		tls  *tls.Config
		want string
	}{
		{nil, "plaintext"},
		{&tls.Config{}, "tls, no client certificate"},
		{&tls.Config{Certificates: []tls.Certificate{{}}}, "tls, client certificate"},
		{&tls.Config{GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return nil, nil }}, "tls, client certificate"},
	} {
		if got := transport(client.Options{ConnectionOptions: client.ConnectionOptions{TLS: tc.tls}}); got != tc.want {
			t.Errorf("transport(%+v) = %q, want %q", tc.tls, got, tc.want)
		}
	}
}
