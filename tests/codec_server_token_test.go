package tests

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"

	"github.com/temporaldeployer/temporaldeployer/codec"
	"github.com/temporaldeployer/temporaldeployer/config"
	"github.com/temporaldeployer/temporaldeployer/host"
	"github.com/temporaldeployer/temporaldeployer/tests/realparts"
)

// TestCodecServerToken: the cmd/codec-server binary started with a token opens a sealed run's input
// for the temporal CLI only with --codec-auth "Bearer <token>"; without it, or with another token,
// the CLI (1.9.1) retries /decode until its 10 s deadline and exits 1 having shown nothing. Straight
// HTTP: /decode without the header is 401, and the Web UI's CORS preflight lets Authorization
// through. Without a token the binary refuses to listen beyond loopback.
func TestCodecServerToken(t *testing.T) {
	keys := realparts.WriteCodecKeys(t)
	const token, origin, secret = "e2e-codec-token", "http://127.0.0.1:8233", "s3aled-input-7fq2"
	codecURL := realparts.StartCodecServer(t, keys.Path, token, origin)
	tp := realparts.StartTemporal(t)
	id := startSealedRun(t, tp, keys.Path, secret)

	t.Run("temporal workflow show", func(t *testing.T) {
		for _, tc := range []struct {
			name     string
			args     []string
			encoding string // of the input shown; "" when the CLI fails
		}{
			{"no codec endpoint: the input sealed", nil, codec.EncodingEncrypted},
			{"the endpoint and the token: the input decoded", []string{"--codec-endpoint", codecURL, "--codec-auth", "Bearer " + token}, "json/plain"},
			{"the endpoint without auth: fails", []string{"--codec-endpoint", codecURL}, ""},
			{"the endpoint with another token: fails", []string{"--codec-endpoint", codecURL, "--codec-auth", "Bearer not-" + token}, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel() // the failing ones each wait out the CLI's 10 s deadline
				args := append([]string{"workflow", "show", "--workflow-id", id, "--output", "json", "--address", tp.Address}, tc.args...)
				stdout, stderr, code := temporalCLI(t, args...)
				if tc.encoding == "" {
					if code == 0 || stdout != "" || strings.Contains(stderr, secret) ||
						!strings.Contains(stderr, "failed getting next history event: context deadline exceeded") {
						t.Errorf("temporal %v: exit %d, want 1 and the deadline error\nstdout:\n%.2000s\nstderr:\n%s", tc.args, code, stdout, stderr)
					}
					return
				}
				if code != 0 {
					t.Fatalf("temporal %v: exit %d\n%s", tc.args, code, stderr)
				}
				in := startInput(t, stdout)
				if in.encoding != tc.encoding || strings.Contains(in.data, secret) != (tc.encoding == "json/plain") {
					t.Errorf("temporal %v: input %+v, want encoding %s", tc.args, in, tc.encoding)
				}
			})
		}
	})
	t.Run("HTTP", func(t *testing.T) {
		checkCodecHTTP(t, codecURL, token, origin)
	})
	t.Run("no token beyond loopback: refuses to start", func(t *testing.T) {
		for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // it refuses in milliseconds
			cmd := exec.CommandContext(ctx, realparts.Binary(t, "codec-server"))
			cmd.Env = append(os.Environ(), "DEPLOYER_CODEC_KEYS="+keys.Path, "DEPLOYER_CODEC_ADDR="+addr, "DEPLOYER_CODEC_TOKEN=")
			out, err := cmd.CombinedOutput()
			cancel()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 || !bytes.Contains(out, []byte("on "+addr+" without DEPLOYER_CODEC_TOKEN")) {
				t.Errorf("codec-server on %s with no token: %v, want exit 1 naming the address and the token\n%s", addr, err, out)
			}
		}
	})
}

// checkCodecHTTP asks the codec server straight: /decode without or with a wrong bearer is 401,
// with the token 200; a CORS preflight from the Web UI's origin may send Authorization, from
// another origin is refused.
func checkCodecHTTP(t *testing.T, url, token, origin string) {
	t.Helper()
	for _, tc := range []struct {
		name, method string
		header       map[string]string
		status       int
		want         map[string]string // response headers holding these values
	}{
		{"POST /decode without Authorization", http.MethodPost, nil, http.StatusUnauthorized,
			map[string]string{"WWW-Authenticate": "Bearer"}},
		{"POST /decode with another token", http.MethodPost, map[string]string{"Authorization": "Bearer x" + token},
			http.StatusUnauthorized, nil},
		{"POST /decode with the token", http.MethodPost, map[string]string{"Authorization": "Bearer " + token}, http.StatusOK, nil},
		{"preflight from the Web UI's origin", http.MethodOptions, map[string]string{"Origin": origin,
			"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"},
			http.StatusNoContent, map[string]string{"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Headers": "Authorization",
				"Access-Control-Allow-Methods": "POST", "Access-Control-Allow-Credentials": "true"}},
		{"preflight from another origin", http.MethodOptions, map[string]string{"Origin": "http://evil.example",
			"Access-Control-Request-Method": "POST"}, http.StatusForbidden, map[string]string{"Access-Control-Allow-Origin": ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, url+"/decode", strings.NewReader(`{"payloads":[]}`))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			for k, v := range tc.want {
				if got := resp.Header.Get(k); !strings.Contains(got, v) || (v == "") != (got == "") {
					t.Errorf("%s: %q, want it to hold %q (headers %v)", k, got, v, resp.Header)
				}
			}
		})
	}
}

// startSealedRun starts, with a client sealing with keyring, a run whose input is secret, of a
// workflow type no worker has on a task queue nobody polls; it is terminated when the test ends.
func startSealedRun(t *testing.T, tp *realparts.Temporal, keyring, secret string) string {
	t.Helper()
	cfg := config.Defaults()
	cfg.TemporalAddress, cfg.Codec.Keys = tp.Address, keyring
	c, err := host.Dial(context.Background(), cfg, envconfig.EnvLookupOS, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	id := "codec-token-" + time.Now().Format("150405.000")
	run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: id, TaskQueue: "nobody-polls-" + id},
		"UnregisteredWorkflow", "input: "+secret)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.TerminateWorkflow(context.Background(), id, run.GetRunID(), "test over") })
	return id
}

// temporalCLI runs the temporal CLI with no TEMPORAL_CODEC_* from the environment.
func temporalCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(realparts.VenvBin("temporal"), args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TEMPORAL_CODEC_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("temporal %v: %v", args, err)
	}
	return o.String(), e.String(), cmd.ProcessState.ExitCode()
}
