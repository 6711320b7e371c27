package governance

import (
	"fmt"
	"path"
	"strings"
	"unicode/utf8"
)

// Where R10 looks for a model card, in this order; the first non-trivial one is the card.
const (
	// TagModelCard is the model-version tag holding the card's Markdown itself.
	TagModelCard = "model_card"
	// ArtifactModelCard is the card file at the root of the model's artifacts (beside MLmodel).
	ArtifactModelCard = "model_card.md"
	// ArtifactReadme is accepted as the card when there is no model_card.md.
	ArtifactReadme = "README.md"
)

// placeholders are texts that hold a place for a card rather than being one (compared lower-cased).
var placeholders = []string{"todo", "tbd", "n/a", "na", "none", "null", "-", "...", "…"}

// ModelCardArtifact returns the card file among the model's artifacts: model_card.md, else
// README.md, at the model's root (a leading "./" or "/" is ignored; names are case-sensitive).
// The caller reads it into Evidence.ModelCardText.
func ModelCardArtifact(artifacts []string) (string, bool) {
	for _, want := range []string{ArtifactModelCard, ArtifactReadme} {
		for _, a := range artifacts {
			if strings.TrimPrefix(path.Clean("/"+strings.TrimSpace(a)), "/") == want {
				return want, true
			}
		}
	}
	return "", false
}

// CheckModelCard is R10: the version has a model card, in the tag model_card or in the artifact
// model_card.md / README.md (whose text the caller put in Evidence.ModelCardText), and the card
// is not empty, whitespace or a placeholder. The finding names every place looked at and why
// each did not count.
func CheckModelCard(e Evidence) Finding {
	tag, tagSet := e.Tags[TagModelCard]
	art, artSet := ModelCardArtifact(e.Artifacts)
	in := map[string]any{"tag": TagModelCard, "tag_present": tagSet, "artifact": art}
	if tagSet && trivial(tag) == "" {
		return passed(RuleModelCard, "model card in tag "+TagModelCard, cardInputs(in, "tag:"+TagModelCard, tag))
	}
	if artSet && trivial(e.ModelCardText) == "" {
		return passed(RuleModelCard, "model card in artifact "+art, cardInputs(in, "artifact:"+art, e.ModelCardText))
	}
	probs := []string{"no model card"}
	if tagSet {
		probs = append(probs, fmt.Sprintf("tag %s is %s", TagModelCard, trivial(tag)))
	} else {
		probs = append(probs, fmt.Sprintf("tag %s is missing", TagModelCard))
	}
	if artSet {
		probs = append(probs, fmt.Sprintf("artifact %s is %s", art, trivial(e.ModelCardText)))
	} else {
		probs = append(probs, fmt.Sprintf("no %s or %s artifact under the model", ArtifactModelCard, ArtifactReadme))
	}
	return failed(RuleModelCard, probs, in)
}

// trivial says why a card text does not count ("" when it does).
func trivial(text string) string {
	t := strings.TrimSpace(text)
	switch {
	case text == "":
		return "empty"
	case t == "":
		return "whitespace only"
	case isPlaceholder(t):
		return "a placeholder " + quote(t)
	}
	return ""
}

func isPlaceholder(t string) bool {
	for _, p := range placeholders {
		if strings.EqualFold(t, p) {
			return true
		}
	}
	return false
}

func cardInputs(in map[string]any, source, text string) map[string]any {
	in["source"] = source
	in["chars"] = utf8.RuneCountInString(text)
	in["sha256"] = digest(text)
	return in
}
