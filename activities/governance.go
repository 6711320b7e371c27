package activities

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/temporaldeployer/temporaldeployer/drift"
	"github.com/temporaldeployer/temporaldeployer/governance"
	"github.com/temporaldeployer/temporaldeployer/registry"
)

// EvidenceFileRequirements is the MLflow model's requirements file, beside MLmodel.
const EvidenceFileRequirements = "requirements.txt"

// maxCardBytes bounds the model card text carried into the workflow's history: the gate needs to
// know the card is there and is not a placeholder, and the ledger records its digest and size.
const maxCardBytes = 8 << 10

// EvidenceQuery names the registry version whose evidence the governance gates judge; with no
// Version (not registered yet), the evidence of ModelURI's source is read.
type EvidenceQuery struct {
	Name     string `json:"name"`
	Version  string `json:"version,omitempty"`
	ModelURI string `json:"model_uri"`
}

// RegistryEvidence is what the registry holds for the gates: only the tags they read (with where
// each came from), the model card, the requirements and the names of the files found.
type RegistryEvidence struct {
	Evidence   governance.Evidence `json:"evidence"`
	TagSources map[string]string   `json:"tag_sources,omitempty"`
	// DriftProfile says whether the version has a drift reference profile (ProfilePresent,
	// ProfileAbsent, "invalid: …"), for the drift policy's R11 check before anything moves.
	DriftProfile string `json:"drift_profile"`
}

// ReadRegistryEvidence reads a version's test evidence tags, model card and requirements from the
// registry (version tags over its logged model's over its run's). The bento's requirements are
// not known yet: Evidence.BentoPending is set.
func (a *Activities) ReadRegistryEvidence(ctx context.Context, q EvidenceQuery) (RegistryEvidence, error) {
	reader, ok := a.Registry.(registry.EvidenceReader)
	if !ok {
		return RegistryEvidence{}, notConfigured("registry evidence", "the registry evidence gates (R1, R10, R12)")
	}
	cards := []string{governance.ArtifactModelCard, governance.ArtifactReadme}
	files := append(append([]string(nil), cards...), EvidenceFileRequirements, drift.ArtifactName)
	found, err := reader.ReadEvidence(ctx, q.Name, q.Version, q.ModelURI, files)
	if err != nil {
		return RegistryEvidence{}, registryError("read the registry evidence of "+q.Name+"/"+q.Version, err)
	}
	out := RegistryEvidence{Evidence: governance.Evidence{Tags: map[string]string{}, BentoPending: true},
		TagSources: map[string]string{}}
	for _, tag := range []string{governance.TagTestsPassed, governance.TagTestsFailed, governance.TagTestsCoverage, governance.TagModelCard} {
		if v, ok := found.Tags[tag]; ok {
			out.Evidence.Tags[tag], out.TagSources[tag] = bounded(v), found.TagSources[tag]
		}
	}
	text, ok := found.Files[drift.ArtifactName]
	_, out.DriftProfile = profileState(text, ok)
	for _, f := range cards {
		if _, ok := found.Files[f]; ok {
			out.Evidence.Artifacts = append(out.Evidence.Artifacts, f)
		}
	}
	if card, ok := governance.ModelCardArtifact(out.Evidence.Artifacts); ok {
		out.Evidence.ModelCardText = bounded(found.Files[card])
	}
	if reqs, ok := found.Files[EvidenceFileRequirements]; ok {
		out.Evidence.Artifacts = append(out.Evidence.Artifacts, EvidenceFileRequirements)
		out.Evidence.Requirements = strings.Split(strings.TrimRight(reqs, "\n"), "\n")
	}
	return out, nil
}

// bounded cuts a text to maxCardBytes at a rune boundary.
func bounded(s string) string {
	if len(s) <= maxCardBytes {
		return s
	}
	cut := maxCardBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
