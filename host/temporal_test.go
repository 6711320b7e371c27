package host

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/temporaldeployer/temporaldeployer/config"
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
		})
	}
}
