package registry

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/temporaldeployer/temporaldeployer/tests/realparts"
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
		// The client retries 429, but APIError.Permanent (registry.go) calls every 4xx permanent.
		{"rate limited retried", 429, `{"error_code":"REQUEST_LIMIT_EXCEEDED","message":"slow down"}`,
			"REQUEST_LIMIT_EXCEEDED", "slow down", 4, false, true},
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

// Integration tests against a real `mlflow server` from the project venv (skipped without it,
// failed under CI=true). They share one server and one logged model, and run in order.

const missingRun = "0123456789abcdef0123456789abcdef"

type itest struct {
	*testing.T
	ctx    context.Context
	r      *MLflow
	logged realparts.LoggedModel
}

func TestMLflowIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test (-short)")
	}
	start := time.Now()
	base := realparts.StartMLflow(t)
	t.Logf("mlflow server up in %s", time.Since(start).Round(time.Millisecond))
	start = time.Now()
	logged := realparts.LogSklearnModel(t, base, "registry-integration")
	t.Logf("logged %s (run %s) in %s", logged.ModelURI, logged.RunID, time.Since(start).Round(time.Millisecond))
	r, err := NewMLflow(base)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	it := &itest{T: t, ctx: ctx, r: r, logged: logged}
	for _, step := range []struct {
		name string
		run  func(*itest)
	}{
		{"RegisterLoggedModelIdempotently", (*itest).registerLoggedModel},
		{"SetStageMovesAliasAndTags", (*itest).setStage},
		{"ResolveRegisteredURIs", (*itest).resolveRegisteredURIs},
		{"RegisterOtherURIKinds", (*itest).registerOtherURIKinds},
		{"AliasMovesAwayFromPreviousHolder", (*itest).aliasMovesAway},
		{"NotFound", (*itest).notFound},
		{"MissingSourceIsAnError", (*itest).missingSource},
	} {
		if !t.Run(step.name, func(t *testing.T) { step.run(&itest{T: t, ctx: it.ctx, r: it.r, logged: it.logged}) }) {
			t.FailNow() // later steps build on earlier ones
		}
	}
}

func (it *itest) registerLoggedModel() {
	uri := it.logged.ModelURI
	if _, found, err := it.r.Resolve(it.ctx, "churn", uri); err != nil || found {
		it.Fatalf("Resolve before Register = found %v, %v; want not found, no error", found, err)
	}
	v1, err := it.r.Register(it.ctx, "churn", uri, map[string]string{"team": "ml"})
	if err != nil {
		it.Fatalf("Register: %v", err)
	}
	if v1.Name != "churn" || v1.Version != "1" || v1.Stage != "None" || v1.RunID != it.logged.RunID {
		it.Errorf("Register = %+v, want churn/1, stage None, run %s", v1, it.logged.RunID)
	}
	again, err := it.r.Register(it.ctx, "churn", uri, nil)
	if err != nil || again.Version != v1.Version {
		it.Errorf("second Register = %+v, %v; want version %s", again, err, v1.Version)
	}
	if n := it.countVersions("churn"); n != 1 {
		it.Errorf("churn has %d versions after two Registers, want 1", n)
	}
	got, found, err := it.r.Resolve(it.ctx, "churn", uri)
	if err != nil || !found || got.Version != v1.Version {
		it.Errorf("Resolve after Register = %+v, %v, %v; want version %s", got, found, err, v1.Version)
	}
	it.wantTag("churn", "1", TagModelURI, uri)
	it.wantTag("churn", "1", "team", "ml")
}

func (it *itest) setStage() {
	staging := StageChange{Stage: "Staging", Reason: "deploy", Actor: "wf-1"}
	v, err := it.r.SetStage(it.ctx, "churn", "1", staging)
	if err != nil || v.Stage != "Staging" || strings.Join(v.Aliases, ",") != "staging" {
		it.Fatalf("SetStage Staging = %+v, %v; want stage Staging, aliases [staging]", v, err)
	}
	it.wantTag("churn", "1", TagStageReason, "deploy")
	it.wantTag("churn", "1", TagStageActor, "wf-1")
	updated := it.tag("churn", "1", TagStageUpdatedAt)
	if _, err := time.Parse(time.RFC3339Nano, updated); err != nil {
		it.Errorf("%s = %q: %v", TagStageUpdatedAt, updated, err)
	}
	again, err := it.r.SetStage(it.ctx, "churn", "1", staging)
	if err != nil || again.Stage != v.Stage || strings.Join(again.Aliases, ",") != "staging" {
		it.Errorf("repeated SetStage = %+v, %v; want %+v", again, err, v)
	}
	it.wantTag("churn", "1", TagStageUpdatedAt, updated) // idempotent: nothing rewritten

	v, err = it.r.SetStage(it.ctx, "churn", "1", StageChange{Stage: "Shadow", Reason: "promote", Actor: "wf-2"})
	if err != nil || v.Stage != "Shadow" || strings.Join(v.Aliases, ",") != "shadow" {
		it.Fatalf("SetStage Shadow = %+v, %v; want stage Shadow, aliases [shadow]", v, err)
	}
	it.wantTag("churn", "1", TagStageReason, "promote")
	it.wantTag("churn", "1", TagStageActor, "wf-2")
	if _, found, err := it.r.Resolve(it.ctx, "churn", "models:/churn@staging"); err != nil || found {
		it.Errorf("staging alias after Staging→Shadow: found %v, %v; want it removed", found, err)
	}
}

func (it *itest) resolveRegisteredURIs() {
	for _, tc := range []struct{ name, uri, want string }{
		{"churn", "models:/churn/1", "1"},
		{"churn", "models:/churn@shadow", "1"},
		{"ignored", "models:/churn@shadow", "1"}, // the name comes from the URI
		{"churn", "models:/churn/Shadow", "1"},   // legacy stage form, read as the alias
	} {
		v, found, err := it.r.Resolve(it.ctx, tc.name, tc.uri)
		if err != nil || !found || v.Version != tc.want || v.Stage != "Shadow" {
			it.Errorf("Resolve(%s, %s) = %+v, %v, %v; want version %s in Shadow", tc.name, tc.uri, v, found, err, tc.want)
		}
	}
	v, err := it.r.Register(it.ctx, "churn", "models:/churn/1", nil)
	if err != nil || v.Version != "1" {
		it.Errorf("Register(churn, models:/churn/1) = %+v, %v; want version 1 itself", v, err)
	}
}

func (it *itest) registerOtherURIKinds() {
	l := it.logged
	legacyRunsURI := "runs:/" + l.RunID + "/" + l.LegacyArtifactPath
	for _, tc := range []struct{ uri, version, source string }{
		{l.RunsURI(), "2", l.ModelURI}, // MLflow 3: registered from the run's logged model
		{l.ModelArtifactURI, "3", l.ModelArtifactURI},
		{legacyRunsURI, "4", legacyRunsURI}, // MLflow 2 style: MLmodel in the run's artifacts
		{l.ArtifactURI + "/" + l.LegacyArtifactPath, "5", l.ArtifactURI + "/" + l.LegacyArtifactPath},
	} {
		for range 2 {
			v, err := it.r.Register(it.ctx, "churn", tc.uri, nil)
			if err != nil || v.Version != tc.version || v.Source != tc.source || v.RunID != l.RunID {
				it.Errorf("Register(%s) = %+v, %v; want version %s from %s, run %s", tc.uri, v, err, tc.version, tc.source, l.RunID)
			}
		}
		it.wantTag("churn", tc.version, TagModelURI, tc.uri)
	}
	// Copying a registered version: MLflow rewrites the source, the tag still finds it.
	v, err := it.r.Register(it.ctx, "churn-copy", "models:/churn@shadow", nil)
	if err != nil || v.Source != "models:/churn/1" {
		it.Fatalf("Register(churn-copy, models:/churn@shadow) = %+v, %v; want source models:/churn/1", v, err)
	}
	again, err := it.r.Register(it.ctx, "churn-copy", "models:/churn@shadow", nil)
	if err != nil || again.Version != v.Version || it.countVersions("churn-copy") != 1 {
		it.Errorf("re-Register of the copy = %+v, %v; want version %s and no second version", again, err, v.Version)
	}
}

func (it *itest) aliasMovesAway() {
	v, err := it.r.SetStage(it.ctx, "churn", "2", StageChange{Stage: "Shadow", Reason: "newer", Actor: "wf-3"})
	if err != nil || strings.Join(v.Aliases, ",") != "shadow" {
		it.Fatalf("SetStage churn/2 Shadow = %+v, %v", v, err)
	}
	old, err := it.r.Get(it.ctx, "churn", "1")
	if err != nil || old.Stage != "Shadow" || len(old.Aliases) != 0 {
		it.Errorf("previous holder churn/1 = %+v, %v; want stage tag kept (Shadow), no aliases", old, err)
	}
	v, err = it.r.SetStage(it.ctx, "churn", "2", StageChange{Stage: "Archived", Reason: "retire", Actor: "wf-4"})
	if err != nil || v.Stage != "Archived" || len(v.Aliases) != 0 {
		it.Errorf("SetStage Archived = %+v, %v; want no aliases", v, err)
	}
	v, err = it.r.SetStage(it.ctx, "churn", "2", StageChange{Stage: "None"}) // empty reason and actor
	if err != nil || v.Stage != "None" || len(v.Aliases) != 0 {
		it.Errorf("SetStage None = %+v, %v", v, err)
	}
	it.wantTag("churn", "2", TagStageReason, "")
	if _, err := it.r.SetStage(it.ctx, "churn", "2", StageChange{Stage: "Live"}); err == nil {
		it.Error("SetStage accepted an unknown stage")
	}
}

func (it *itest) notFound() {
	for _, tc := range []struct{ name, uri string }{
		{"churn", "s3://bucket/never-registered"},
		{"no-such-model", it.logged.ModelURI},
		{"churn", "models:/churn/99"},
		{"churn", "models:/churn@production"},
		{"x", "models:/no-such-model/1"},
		{"x", "models:/no-such-model@staging"},
	} {
		if v, found, err := it.r.Resolve(it.ctx, tc.name, tc.uri); err != nil || found {
			it.Errorf("Resolve(%s, %s) = %+v, %v, %v; want not found, no error", tc.name, tc.uri, v, found, err)
		}
	}
	for _, tc := range []struct{ name, version string }{{"churn", "99"}, {"no-such-model", "1"}} {
		if _, err := it.r.Get(it.ctx, tc.name, tc.version); !IsNotFound(err) {
			it.Errorf("Get(%s/%s) error = %v, want not found", tc.name, tc.version, err)
		}
		if _, err := it.r.SetStage(it.ctx, tc.name, tc.version, StageChange{Stage: "Staging"}); !IsNotFound(err) {
			it.Errorf("SetStage(%s/%s) error = %v, want not found", tc.name, tc.version, err)
		}
	}
	if _, err := it.r.Register(it.ctx, "churn", "models:/churn@production", nil); !IsNotFound(err) {
		it.Errorf("Register(churn, models:/churn@production) error = %v, want not found", err)
	}
}

func (it *itest) missingSource() {
	before := it.countVersions("churn")
	for _, uri := range []string{
		"runs:/" + missingRun + "/model",
		"runs:/" + it.logged.RunID + "/no-such-model",
		"models:/m-" + missingRun,
		"/tmp/artifacts/1/" + missingRun + "/artifacts/model",
	} {
		_, err := it.r.Register(it.ctx, "churn", uri, nil)
		it.Logf("Register(%s): %v", uri, err)
		if !IsNotFound(err) || !IsPermanent(err) {
			it.Errorf("Register(%s) error = %v, want a permanent not-found", uri, err)
		}
	}
	_, err := it.r.Register(it.ctx, "churn", "/tmp/not-an-artifact-dir/model", nil)
	it.Logf("Register(/tmp/not-an-artifact-dir/model): %v", err)
	if !IsPermanent(err) {
		it.Errorf("Register(local path outside any run) error = %v, want a permanent error", err)
	}
	if after := it.countVersions("churn"); after != before {
		it.Errorf("failed Registers created versions: %d → %d", before, after)
	}
}

func (it *itest) countVersions(name string) int {
	it.Helper()
	var out struct {
		ModelVersions []mlflowVersion `json:"model_versions"`
	}
	q := url.Values{"filter": {"name = '" + name + "'"}, "max_results": {"1000"}}
	if err := it.r.call(it.ctx, "model-versions/search", http.MethodGet, q, nil, &out); err != nil {
		it.Fatalf("search versions of %s: %v", name, err)
	}
	return len(out.ModelVersions)
}

func (it *itest) tag(name, version, key string) string {
	it.Helper()
	mv, err := it.r.getVersion(it.ctx, name, version)
	if err != nil {
		it.Fatalf("get %s/%s: %v", name, version, err)
	}
	return mv.tag(key)
}

func (it *itest) wantTag(name, version, key, want string) {
	it.Helper()
	if got := it.tag(name, version, key); got != want {
		it.Errorf("%s/%s tag %s = %q, want %q", name, version, key, got, want)
	}
}
