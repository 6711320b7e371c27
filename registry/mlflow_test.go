package registry

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func fastRetry() Option { return WithRetry(4, time.Millisecond) }

func TestNewMLflowValidatesURL(t *testing.T) {
	for _, tc := range []struct {
		url   string
		valid bool
	}{
		{"http://127.0.0.1:5000", true},
		{"https://mlflow.example.com/prefix/", true},
		{"", false},
		{"127.0.0.1:5000", false},
		{"ftp://host", false},
		{"http://", false},
		{"http://host?x=1", false},
		{"http://bad host", false},
	} {
		_, err := NewMLflow(tc.url)
		if (err == nil) != tc.valid {
			t.Errorf("NewMLflow(%q) error = %v, want valid=%v", tc.url, err, tc.valid)
		}
	}
}

func TestErrorMappingAndRetry(t *testing.T) {
	for _, tc := range []struct {
		name      string
		status    int
		body      string
		wantCode  string
		wantMsg   string
		wantCalls int32
		notFound  bool
		permanent bool
	}{
		{"not found", 404, `{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Model Version (name=m, version=1) not found"}`,
			"RESOURCE_DOES_NOT_EXIST", "Model Version (name=m, version=1) not found", 1, true, true},
		{"invalid parameter", 400, `{"error_code":"INVALID_PARAMETER_VALUE","message":"bad source"}`,
			"INVALID_PARAMETER_VALUE", "bad source", 1, false, true},
		{"forbidden plain text", 403, "forbidden\n", "", "forbidden", 1, false, true},
		{"internal error retried", 500, `{"error_code":"INTERNAL_ERROR","message":"boom"}`,
			"INTERNAL_ERROR", "boom", 4, false, false},
		{"unavailable html retried", 503, "<html>down</html>", "", "<html>down</html>", 4, false, false},
		// The client retries 429, and it stays retryable for Temporal after the client gives up.
		{"rate limited retried", 429, `{"error_code":"REQUEST_LIMIT_EXCEEDED","message":"slow down"}`,
			"REQUEST_LIMIT_EXCEEDED", "slow down", 4, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			r, err := NewMLflow(srv.URL, fastRetry())
			if err != nil {
				t.Fatal(err)
			}
			_, err = r.Get(context.Background(), "m", "1")
			var api *APIError
			if !errors.As(err, &api) {
				t.Fatalf("Get error = %v, want an *APIError", err)
			}
			want := APIError{Op: "model-versions/get", StatusCode: tc.status, Code: tc.wantCode, Message: tc.wantMsg}
			if *api != want {
				t.Errorf("APIError = %+v, want %+v", *api, want)
			}
			if !strings.HasPrefix(err.Error(), "mlflow get m/1: ") {
				t.Errorf("error %q is not wrapped with the operation", err)
			}
			if IsNotFound(err) != tc.notFound || IsPermanent(err) != tc.permanent {
				t.Errorf("IsNotFound=%v IsPermanent=%v, want %v %v", IsNotFound(err), IsPermanent(err), tc.notFound, tc.permanent)
			}
			if got := calls.Load(); got != tc.wantCalls {
				t.Errorf("server saw %d calls, want %d", got, tc.wantCalls)
			}
		})
	}
}

func TestRetryRecoversFromTransientFailures(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		_, _ = w.Write([]byte(`{"model_version":{"name":"m","version":"1","source":"s3://b/m",
			"tags":[{"key":"temporaldeployer.stage","value":"Shadow"}],"aliases":["shadow"]}}`))
	}))
	defer srv.Close()
	r, _ := NewMLflow(srv.URL, fastRetry())
	v, err := r.Get(context.Background(), "m", "1")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if v.Stage != "Shadow" || v.Source != "s3://b/m" || len(v.Aliases) != 1 || calls.Load() != 3 {
		t.Errorf("Get = %+v after %d calls, want stage Shadow after 3 calls", v, calls.Load())
	}
}

type failingTransport struct{ calls atomic.Int32 }

func (f *failingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	f.calls.Add(1)
	return nil, errors.New("connection refused")
}

func TestRetryOnConnectionErrorIsBounded(t *testing.T) {
	tr := &failingTransport{}
	r, _ := NewMLflow("http://mlflow.invalid", fastRetry(), WithHTTPClient(&http.Client{Transport: tr}))
	_, err := r.Get(context.Background(), "m", "1")
	if err == nil || IsPermanent(err) || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("Get error = %v, want a transport error", err)
	}
	if got := tr.calls.Load(); got != 4 {
		t.Errorf("%d attempts, want 4", got)
	}
}

func TestRetryHonoursContext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	r, _ := NewMLflow(srv.URL, WithRetry(10, time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := r.Get(ctx, "m", "1")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Get error = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 900*time.Millisecond {
		t.Errorf("Get took %s, want it to stop at the deadline", d)
	}
}

// fakeRegistry answers just enough of MLflow's API for Register from an s3:// URI. Its first
// model-versions/create creates the version but then answers 503, like a lost reply.
type fakeRegistry struct {
	mu       sync.Mutex
	versions []mlflowVersion
	creates  int
}

func (f *fakeRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	reply := func(v any) { _ = json.NewEncoder(w).Encode(v) }
	switch strings.TrimPrefix(r.URL.Path, "/api/2.0/mlflow/") {
	case "registered-models/create":
		reply(map[string]any{})
	case "model-versions/search":
		reply(map[string]any{"model_versions": f.versions})
	case "model-versions/get":
		reply(map[string]any{"model_version": f.versions[0]})
	case "model-versions/create":
		var req createVersionRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		f.creates++
		mv := mlflowVersion{Name: req.Name, Version: "1", Source: req.Source, Tags: req.Tags}
		f.versions = append(f.versions, mv)
		if f.creates == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		reply(map[string]any{"model_version": mv})
	default:
		http.NotFound(w, r)
	}
}

func TestRegisterRetryDoesNotCreateASecondVersion(t *testing.T) {
	fake := &fakeRegistry{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	r, _ := NewMLflow(srv.URL, fastRetry())
	v, err := r.Register(context.Background(), "m", "s3://bucket/model", map[string]string{"team": "ml"})
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	if v.Version != "1" || fake.creates != 1 {
		t.Errorf("Register = %+v with %d creates, want version 1 and 1 create", v, fake.creates)
	}
	want := []tagKV{{"team", "ml"}, {TagModelURI, "s3://bucket/model"}}
	if got := fake.versions[0].Tags; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("created with tags %v, want %v", got, want)
	}
}

func TestParseRegisteredRef(t *testing.T) {
	for _, tc := range []struct {
		uri  string
		want registeredRef
		ok   bool
	}{
		{"models:/churn/3", registeredRef{name: "churn", version: "3"}, true},
		{"models:/churn@champion", registeredRef{name: "churn", alias: "champion"}, true},
		{"models:/churn/Production", registeredRef{name: "churn", alias: "production"}, true},
		{"models:/m-0123456789abcdef0123456789abcdef", registeredRef{}, false},
		{"models:/churn/", registeredRef{}, false},
		{"models:/churn@", registeredRef{}, false},
		{"models:/a/b/c", registeredRef{}, false},
		{"runs:/abc/model", registeredRef{}, false},
	} {
		got, ok := parseRegisteredRef(tc.uri)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseRegisteredRef(%q) = %+v, %v; want %+v, %v", tc.uri, got, ok, tc.want, tc.ok)
		}
	}
}

func TestSourceIDs(t *testing.T) {
	const run, model = "0123456789abcdef0123456789abcdef", "m-fedcba9876543210fedcba9876543210"
	for _, tc := range []struct{ uri, run, model string }{
		{"runs:/" + run + "/model", "", ""}, // see parseRunsURI
		{"models:/" + model, "", model},
		{"models:/churn/1", "", ""},
		{"/srv/artifacts/1/models/" + model + "/artifacts", "", model},
		{"file:///srv/artifacts/1/" + run + "/artifacts/model", run, ""},
		{"mlflow-artifacts:/1/" + run + "/artifacts/model", run, ""},
		{"s3://bucket/1/" + run + "/artifacts/model", "", ""},
	} {
		r, m := sourceIDs(tc.uri)
		if r != tc.run || m != tc.model {
			t.Errorf("sourceIDs(%q) = %q, %q; want %q, %q", tc.uri, r, m, tc.run, tc.model)
		}
	}
}

func TestSearchFilterQuoting(t *testing.T) {
	for _, tc := range []struct{ name, uri, want string }{
		{"churn", "s3://b/m", "name = 'churn' AND tags.`temporaldeployer.model_uri` = 's3://b/m'"},
		{"it's", `s3://b/"x"`, `name = "it's" AND tags.` + "`temporaldeployer.model_uri`" + ` = 's3://b/"x"'`},
		{"churn", `s3://b/'x"`, "name = 'churn'"}, // unquotable URI: filtered client-side
	} {
		got, err := searchFilter(tc.name, tc.uri)
		if err != nil || got != tc.want {
			t.Errorf("searchFilter(%q, %q) = %q, %v; want %q", tc.name, tc.uri, got, err, tc.want)
		}
	}
	if _, err := searchFilter(`a'"b`, "x"); err == nil {
		t.Error("searchFilter accepted a name holding both quote characters")
	}
}
