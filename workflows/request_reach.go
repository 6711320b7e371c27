package workflows

import (
	"fmt"
	"slices"
	"strings"

	"github.com/temporaldeployer/temporaldeployer/config"
)

// checkModelReach keeps a run's model_uri within the worker's policy (gates version 9): its scheme
// is one the policy lists ("file" also admits a bare absolute path; a policy without the list, as
// recorded before it, means the default), and it carries no credentials (user:secret@, or a user
// on http(s)) and no query or fragment, which would end up in summaries, tags, labels and rows.
// Azure's container@account is not a credential.
func checkModelReach(uri string, schemes []string) (field, msg string) {
	if len(schemes) == 0 {
		schemes = config.DefaultModelURISchemes()
	}
	scheme, rest, ok := strings.Cut(uri, ":")
	switch {
	case strings.HasPrefix(uri, "/"):
		scheme, rest = "file", "//"+uri
	case !ok:
		return "model_uri", fmt.Sprintf("%q has no scheme", uri)
	}
	scheme = strings.ToLower(scheme)
	if !slices.Contains(schemes, scheme) {
		return "model_uri", fmt.Sprintf("scheme %q is not allowed by the worker's policy (DEPLOYER_MODEL_URI_SCHEMES: %s)",
			scheme, strings.Join(schemes, ", "))
	}
	if strings.ContainsAny(rest, "?#") {
		return "model_uri", "may not carry a query or a fragment"
	}
	if authority, ok := strings.CutPrefix(rest, "//"); ok {
		host, _, _ := strings.Cut(authority, "/")
		if user, _, ok := strings.Cut(host, "@"); ok && (strings.Contains(user, ":") || scheme == "http" || scheme == "https") {
			return "model_uri", "may not carry credentials (user:secret@, or a user on http(s)): give the worker its own"
		}
	}
	return "", ""
}
