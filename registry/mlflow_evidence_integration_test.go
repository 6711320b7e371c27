package registry

import (
	"strings"

	"github.com/temporaldeployer/temporaldeployer/tests/realparts"
)

// readEvidence: the governance gates' evidence is read from a real MLflow before registration
// (logged model, run artifacts, a run's logged model) and after it (version tags win), changing
// nothing; a model logged without evidence has none; a missing version is not found.
func (it *itest) readEvidence() {
	files := []string{"model_card.md", "README.md", "requirements.txt"}
	wantTests := map[string]string{"tests.passed": "42", "tests.failed": "0", "tests.coverage": "0.935"}
	check := func(label string, ev Evidence, tagSource string) {
		it.Helper()
		for k, v := range wantTests {
			if ev.Tags[k] != v || ev.TagSources[k] != tagSource {
				it.Errorf("%s: tag %s = %q from %q, want %q from %q", label, k, ev.Tags[k], ev.TagSources[k], v, tagSource)
			}
		}
		if !strings.HasPrefix(ev.Files["model_card.md"], "# Model card") {
			it.Errorf("%s: model_card.md = %q", label, ev.Files["model_card.md"])
		}
		if !strings.Contains(ev.Files["requirements.txt"], "scikit-learn==") {
			it.Errorf("%s: requirements.txt = %q", label, ev.Files["requirements.txt"])
		}
		if _, ok := ev.Files["README.md"]; ok {
			it.Errorf("%s: README.md reported although the model has none", label)
		}
		for k := range ev.Tags {
			if strings.HasPrefix(k, "mlflow.") {
				it.Errorf("%s: MLflow's own tag %s kept", label, k)
			}
		}
	}
	const name = "evidence-model"
	for _, tc := range []struct{ label, uri string }{
		{"logged model", it.logged.ModelURI},
		{"run artifacts", "runs:/" + it.logged.RunID + "/" + it.logged.LegacyArtifactPath},
		{"run's logged model", it.logged.RunsURI()},
	} {
		ev, err := it.r.ReadEvidence(it.ctx, name, "", tc.uri, files)
		if err != nil {
			it.Fatalf("%s (%s): %v", tc.label, tc.uri, err)
		}
		check(tc.label, ev, TagFromRun)
	}
	if n := it.countVersions(name); n != 0 {
		it.Fatalf("reading evidence registered %d versions", n)
	}

	v, err := it.r.Register(it.ctx, name, it.logged.ModelURI, nil)
	if err != nil {
		it.Fatal(err)
	}
	if err := it.r.SetTags(it.ctx, name, v.Version, map[string]string{"tests.coverage": "0.5"}); err != nil {
		it.Fatal(err)
	}
	ev, err := it.r.ReadEvidence(it.ctx, name, v.Version, "", files)
	if err != nil {
		it.Fatal(err)
	}
	if ev.Tags["tests.coverage"] != "0.5" || ev.TagSources["tests.coverage"] != TagFromVersion {
		it.Errorf("registered: the version's tag should win: %q from %q", ev.Tags["tests.coverage"], ev.TagSources["tests.coverage"])
	}
	if ev.Tags["tests.passed"] != "42" || !strings.Contains(ev.Files["requirements.txt"], "mlflow==") {
		it.Errorf("registered: tags %v, files %v", ev.Tags, ev.Files)
	}

	bare := realparts.LogSklearnModelWithoutEvidence(it, it.r.base, "registry-integration-bare")
	ev, err = it.r.ReadEvidence(it.ctx, "evidence-bare", "", bare.ModelURI, files)
	if err != nil {
		it.Fatal(err)
	}
	if len(ev.Tags) != 0 || ev.Files["model_card.md"] != "" || ev.Files["requirements.txt"] == "" {
		it.Errorf("bare model: tags %v, files %v; want no tags, no card, its requirements", ev.Tags, ev.Files)
	}

	if _, err := it.r.ReadEvidence(it.ctx, name, "999", "", files); !IsNotFound(err) {
		it.Errorf("missing version: %v, want not found", err)
	}
	if _, err := it.r.ReadEvidence(it.ctx, name, "", "mlflow-artifacts:/nowhere/model", files); err == nil ||
		!strings.Contains(err.Error(), "before it is registered") {
		it.Errorf("unreadable source: %v", err)
	}
}
