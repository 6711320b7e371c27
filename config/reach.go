package config

import (
	"fmt"
	"regexp"
	"strings"
)

// DefaultModelURISchemes are the registry's own: a run's model comes from MLflow (runs:/,
// models:/, mlflow-artifacts:/), never from wherever its caller points the worker (file://, a bare
// path, http(s)://, a bucket the worker's credentials can read).
func DefaultModelURISchemes() []string { return []string{"runs", "models", "mlflow-artifacts"} }

// schemes reads DEPLOYER_MODEL_URI_SCHEMES: comma-separated schemes a run's model_uri may use
// ("file" also admits a bare absolute path).
func (r *reader) schemes(dst *[]string) {
	v, ok := r.raw("DEPLOYER_MODEL_URI_SCHEMES")
	if !ok {
		return
	}
	*dst = nil
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*dst = append(*dst, strings.ToLower(s))
		}
	}
}

var uriScheme = regexp.MustCompile(`^[a-z][a-z0-9+.-]*$`)

func validateSchemes(schemes []string) error {
	if len(schemes) == 0 {
		return fmt.Errorf("DEPLOYER_MODEL_URI_SCHEMES names no scheme: no run could name its model")
	}
	for _, s := range schemes {
		if !uriScheme.MatchString(s) {
			return fmt.Errorf("DEPLOYER_MODEL_URI_SCHEMES: %q is not a URI scheme (write runs, not runs:/)", s)
		}
	}
	return nil
}
