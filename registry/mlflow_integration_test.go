package registry

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/tests/realparts"
)

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
		{"ProductionArchivesItsPredecessorAndARevertGivesItBack", (*itest).productionLadder},
		{"NotFound", (*itest).notFound},
		{"MissingSourceIsAnError", (*itest).missingSource},
		{"ReadEvidence", (*itest).readEvidence},
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

// productionLadder: taking Production archives the version that held it (before, it kept its
// Production tag: two Production versions), a revert gives Production back, retries change
// nothing, and a predecessor moved elsewhere since is left alone. Leaves no production alias.
func (it *itest) productionLadder() {
	set := func(version string, ch StageChange) Version {
		it.Helper()
		v, err := it.r.SetStage(it.ctx, "churn", version, ch)
		if err != nil {
			it.Fatalf("SetStage %s %+v: %v", version, ch, err)
		}
		return v
	}
	want := func(version string, stage contract.Stage, aliases string) {
		it.Helper()
		v, err := it.r.Get(it.ctx, "churn", version)
		if err != nil || v.Stage != stage || strings.Join(v.Aliases, ",") != aliases {
			it.Errorf("churn/%s = %+v, %v; want %s with aliases [%s]", version, v, err, stage, aliases)
		}
	}
	prod := StageChange{Stage: contract.StageProduction, Reason: "promote", Actor: "wf-5"}
	if v := set("1", prod); v.Archived != "" {
		it.Errorf("first Production archived %q, want none", v.Archived)
	}
	for range 2 { // the second time is a retry: same answer, nothing moves
		if v := set("2", prod); v.Archived != "1" || v.Stage != contract.StageProduction {
			it.Errorf("SetStage churn/2 Production = %+v, want it to archive version 1", v)
		}
		want("1", contract.StageArchived, "")
		want("2", contract.StageProduction, "production")
	}
	it.wantTag("churn", "1", TagStageReason, "superseded in Production by version 2")
	revert := StageChange{Stage: contract.StageShadow, Reason: "canary failed", Actor: "wf-5", Restore: "1"}
	for range 2 {
		if v := set("2", revert); v.Restored != "1" || v.Stage != contract.StageShadow {
			it.Errorf("revert of churn/2 = %+v, want version 1 given Production back", v)
		}
		want("1", contract.StageProduction, "production")
		want("2", contract.StageShadow, "shadow")
	}
	set("3", prod) // archives 1
	set("1", StageChange{Stage: contract.StageStaging, Reason: "moved by hand"})
	if v := set("3", StageChange{Stage: contract.StageNone, Restore: "1"}); v.Restored != "" {
		it.Errorf("revert restored %q, a predecessor moved to Staging since: want none", v.Restored)
	}
	want("1", contract.StageStaging, "staging")
	set("1", StageChange{Stage: contract.StageNone})
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
