package registry

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/temporaldeployer/temporaldeployer/registry/mlflowauth"
)

// TestAuthSent: the client sends the configured credentials with every request (REST calls and
// artifact reads alike), none without, and a refused one is a permanent error without the secret.
func TestAuthSent(t *testing.T) {
	const secret = "s3cr3t-Value"
	tests := []struct {
		name string
		auth mlflowauth.Credentials
		want string // the Authorization header
	}{
		{"none", mlflowauth.Credentials{}, ""},
		{"bearer", mlflowauth.Credentials{Token: secret}, "Bearer " + secret},
		{"basic", mlflowauth.Credentials{Username: "deployer", Password: secret}, "Basic ZGVwbG95ZXI6czNjcjN0LVZhbHVl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var seen []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				seen = append(seen, r.URL.Path+" "+r.Header.Get("Authorization"))
				mu.Unlock()
				// an unhelpful server echoing what it got, as some proxies do
				w.WriteHeader(http.StatusUnauthorized)
				fmt.Fprintf(w, `{"error_code":"UNAUTHENTICATED","message":"bad credentials: %s"}`, r.Header.Get("Authorization"))
			}))
			defer srv.Close()
			m, err := NewMLflow(srv.URL, WithAuth(tt.auth), fastRetry())
			if err != nil {
				t.Fatal(err)
			}
			_, err = m.Get(context.Background(), "fraud", "1")
			if err == nil || !IsPermanent(err) {
				t.Fatalf("Get: %v, want a permanent refusal", err)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "ZGVwbG95ZXI6") {
				t.Fatalf("the credential is in the error: %v", err)
			}
			_, _, _ = m.artifactText(context.Background(), srv.URL+"/get-artifact?path=MLmodel", "MLmodel")
			mu.Lock()
			defer mu.Unlock()
			if len(seen) != 2 {
				t.Fatalf("requests %q, want a REST call and an artifact read", seen)
			}
			for _, s := range seen {
				if _, got, _ := strings.Cut(s, " "); got != tt.want {
					t.Errorf("%s: Authorization %q, want %q", s, got, tt.want)
				}
			}
			if shown := fmt.Sprintf("%v %+v %#v", tt.auth, tt.auth, tt.auth); strings.Contains(shown, secret) {
				t.Errorf("a printed Auth shows the secret: %s", shown)
			}
		})
	}
}

// TestNewMLflowRefusesCredentialsInURL: credentials go in Auth, never in the URL (logged,
// passed on command lines); the refusal does not repeat them.
func TestNewMLflowRefusesCredentialsInURL(t *testing.T) {
	for _, u := range []string{"https://deployer:s3cr3t-Value@mlflow.internal", "https://s3cr3t-Value@mlflow.internal",
		"https://deployer:s3cr3t-Value%zz@mlflow.internal"} {
		_, err := NewMLflow(u)
		if err == nil {
			t.Fatalf("NewMLflow(%s) accepted", u)
		}
		if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("the secret is in the error: %v", err)
		}
	}
}
