package governance

import (
	"strings"
	"testing"
)

// TestModelCardArtifact: which file the caller should read as the card.
func TestModelCardArtifact(t *testing.T) {
	cases := []struct {
		name      string
		artifacts []string
		want      string
	}{
		{"none", nil, ""},
		{"model files only", []string{"MLmodel", "requirements.txt", "conda.yaml", "python_model.pkl"}, ""},
		{"model_card.md", []string{"MLmodel", "model_card.md"}, "model_card.md"},
		{"README.md", []string{"README.md", "MLmodel"}, "README.md"},
		{"model_card.md preferred over README.md", []string{"README.md", "model_card.md"}, "model_card.md"},
		{"leading ./ ignored", []string{"./model_card.md"}, "model_card.md"},
		{"leading / and spaces ignored", []string{" /README.md "}, "README.md"},
		{"in a sub-folder does not count", []string{"docs/model_card.md", "data/README.md"}, ""},
		{"names are case-sensitive", []string{"MODEL_CARD.md", "readme.md"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ModelCardArtifact(tc.artifacts)
			if got != tc.want || ok != (tc.want != "") {
				t.Errorf("ModelCardArtifact(%q) = %q, %v, want %q, %v", tc.artifacts, got, ok, tc.want, tc.want != "")
			}
		})
	}
}

// TestCheckModelCard is R10's edges: tag or artifact, present, absent, empty, blank, placeholder.
func TestCheckModelCard(t *testing.T) {
	const card = "# Fraud model\n\nIntended use: card-not-present transactions.\n"
	cases := []struct {
		name       string
		e          Evidence
		wantPass   bool
		wantDetail []string
		wantSource string
	}{
		{"tag with text", Evidence{Tags: map[string]string{TagModelCard: card}}, true,
			[]string{"model card in tag model_card"}, "tag:model_card"},
		{"model_card.md with text", Evidence{Artifacts: []string{"MLmodel", "model_card.md"}, ModelCardText: card}, true,
			[]string{"model card in artifact model_card.md"}, "artifact:model_card.md"},
		{"README.md with text", Evidence{Artifacts: []string{"README.md"}, ModelCardText: card}, true,
			[]string{"artifact README.md"}, "artifact:README.md"},
		{"blank tag, artifact with text", Evidence{Tags: map[string]string{TagModelCard: "  "}, Artifacts: []string{"model_card.md"},
			ModelCardText: card}, true, []string{"artifact model_card.md"}, "artifact:model_card.md"},
		{"tag wins over an empty artifact", Evidence{Tags: map[string]string{TagModelCard: card}, Artifacts: []string{"model_card.md"}}, true,
			[]string{"tag model_card"}, "tag:model_card"},
		{"nothing at all", Evidence{}, false,
			[]string{"no model card", "tag model_card is missing", "no model_card.md or README.md artifact under the model"}, ""},
		{"other tags only", Evidence{Tags: map[string]string{"dataset_version": "v3", "training_seed": "42"}}, false,
			[]string{"tag model_card is missing"}, ""},
		{"empty tag", Evidence{Tags: map[string]string{TagModelCard: ""}}, false,
			[]string{"tag model_card is empty", "no model_card.md or README.md artifact"}, ""},
		{"whitespace tag", Evidence{Tags: map[string]string{TagModelCard: " \n\t"}}, false,
			[]string{"tag model_card is whitespace only"}, ""},
		{"placeholder tag", Evidence{Tags: map[string]string{TagModelCard: " TODO "}}, false,
			[]string{`tag model_card is a placeholder "TODO"`}, ""},
		{"placeholder n/a", Evidence{Tags: map[string]string{TagModelCard: "N/A"}}, false,
			[]string{`a placeholder "N/A"`}, ""},
		{"empty artifact", Evidence{Artifacts: []string{"model_card.md"}}, false,
			[]string{"tag model_card is missing", "artifact model_card.md is empty"}, ""},
		{"whitespace artifact", Evidence{Artifacts: []string{"README.md"}, ModelCardText: "\n\n"}, false,
			[]string{"artifact README.md is whitespace only"}, ""},
		{"card text without the artifact listed", Evidence{ModelCardText: card}, false,
			[]string{"no model_card.md or README.md artifact"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := CheckModelCard(tc.e)
			if f.Rule != RuleModelCard || f.Passed != tc.wantPass {
				t.Fatalf("CheckModelCard = %s passed=%v (%s), want %s passed=%v", f.Rule, f.Passed, f.Detail, RuleModelCard, tc.wantPass)
			}
			for _, w := range tc.wantDetail {
				if !strings.Contains(f.Detail, w) {
					t.Errorf("Detail = %q, want it to contain %q", f.Detail, w)
				}
			}
			if src, _ := f.Inputs["source"].(string); src != tc.wantSource {
				t.Errorf("Inputs[source] = %q, want %q", src, tc.wantSource)
			}
			if tc.wantPass {
				if f.Inputs["chars"] != len([]rune(card)) || f.Inputs["sha256"] != digest(card) {
					t.Errorf("Inputs = %v, want chars %d and the card's sha256", f.Inputs, len([]rune(card)))
				}
			}
		})
	}
}
