package registry

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

var (
	loggedModelID = regexp.MustCompile(`^m-[0-9a-f]{32}$`)
	runIDSegment  = regexp.MustCompile(`^[0-9a-f]{32}$`)
	errUnquotable = errors.New("value holds both quote characters")
)

// registeredRef is a models:/<name>/<version> or models:/<name>@<alias> URI.
type registeredRef struct{ name, version, alias string }

// parseRegisteredRef parses a URI naming a registered model version. The legacy stage form
// models:/<name>/<Stage> is read as the stage's alias. models:/m-<id> (a logged model) is not one.
func parseRegisteredRef(uri string) (registeredRef, bool) {
	rest, ok := strings.CutPrefix(uri, "models:/")
	parts := strings.Split(rest, "/")
	switch {
	case !ok:
	case len(parts) == 2 && parts[0] != "" && parts[1] != "":
		for _, alias := range stageAliases {
			if strings.EqualFold(parts[1], alias) {
				return registeredRef{name: parts[0], alias: alias}, true
			}
		}
		return registeredRef{name: parts[0], version: parts[1]}, true
	case len(parts) == 1:
		if i := strings.LastIndex(rest, "@"); i > 0 && i < len(rest)-1 {
			return registeredRef{name: rest[:i], alias: rest[i+1:]}, true
		}
	}
	return registeredRef{}, false
}

// parseRunsURI splits runs:/<run_id>/<path>.
func parseRunsURI(uri string) (runID, path string, ok bool) {
	rest, ok := strings.CutPrefix(uri, "runs:/")
	if !ok {
		return "", "", false
	}
	runID, path, _ = strings.Cut(rest, "/")
	return runID, strings.Trim(path, "/"), runID != ""
}

// sourceIDs finds the logged model or run another URI belongs to, which MLflow needs to accept
// it: models:/m-<id>, and local or mlflow-artifacts paths inside a logged model's or run's
// artifact directory.
func sourceIDs(uri string) (runID, modelID string) {
	if rest, ok := strings.CutPrefix(uri, "models:/"); ok {
		if rest != "" && !strings.ContainsAny(rest, "/@") {
			return "", rest // models:/<logged model id>
		}
		return "", ""
	}
	if !strings.HasPrefix(uri, "/") && !strings.HasPrefix(uri, "file:") &&
		!strings.HasPrefix(uri, "mlflow-artifacts:") {
		return "", "" // s3://, gs://, http(s)://... are taken as they are
	}
	for _, seg := range strings.Split(uri, "/") {
		if loggedModelID.MatchString(seg) {
			return "", seg
		}
		if runID == "" && runIDSegment.MatchString(seg) {
			runID = seg
		}
	}
	return runID, ""
}

// searchFilter filters on the model name and, when it can be quoted, on the URI tag.
func searchFilter(name, uri string) (string, error) {
	qname, err := quoteFilter(name)
	if err != nil {
		return "", fmt.Errorf("model name %q: %w", name, err)
	}
	filter := "name = " + qname
	if quri, err := quoteFilter(uri); err == nil {
		filter += " AND tags.`" + TagModelURI + "` = " + quri
	}
	return filter, nil
}

// quoteFilter quotes a string for an MLflow search filter, which has no escape character.
func quoteFilter(s string) (string, error) {
	switch {
	case !strings.Contains(s, "'"):
		return "'" + s + "'", nil
	case !strings.Contains(s, `"`):
		return `"` + s + `"`, nil
	}
	return "", errUnquotable
}
