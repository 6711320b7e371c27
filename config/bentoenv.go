package config

import (
	"fmt"
	"regexp"
	"strings"
)

// bentoEnvKey is the variable naming what else of the worker's environment the bento build gets.
const bentoEnvKey = "DEPLOYER_BENTO_ENV"

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// bentoEnv reads DEPLOYER_BENTO_ENV: comma-separated names of the worker's variables the bento
// build also gets as they are (an artifact store's credentials when MLflow does not proxy its
// artifacts). Names only, each once (a repeat is dropped); the worker's own variables are refused:
// DATABASE_URL, TEMPORAL_* and DEPLOYER_* are nothing a build has any business with. The messages
// name the variable and the entry's position, and quote only entries that are variable names.
func (r *reader) bentoEnv(dst *[]string) {
	v, ok := r.raw(bentoEnvKey)
	if !ok {
		return
	}
	var names []string
	seen := map[string]bool{}
	for i, n := range strings.Split(v, ",") {
		n = strings.TrimSpace(n)
		if n == "" || seen[n] {
			continue
		}
		if err := bentoEnvName(n); err != nil {
			r.err = fmt.Errorf("%s, entry %d: %w", bentoEnvKey, i+1, err)
			return
		}
		seen[n] = true
		names = append(names, n)
	}
	if len(names) == 0 {
		r.err = fmt.Errorf("%s names no variable", bentoEnvKey)
		return
	}
	*dst = names
}

// bentoEnvName refuses an entry that is not a variable name or is one of the worker's own. An
// entry that is not a name may be a pasted value: it is never quoted.
func bentoEnvName(n string) error {
	if strings.Contains(n, "=") {
		return fmt.Errorf("a NAME=value pair: list names only, the values come from the worker's environment")
	}
	if !envName.MatchString(n) {
		return fmt.Errorf("not an environment variable name ([A-Za-z_][A-Za-z0-9_]*)")
	}
	u := strings.ToUpper(n)
	if u == "DATABASE_URL" || strings.HasPrefix(u, "TEMPORAL_") || strings.HasPrefix(u, "DEPLOYER_") {
		return fmt.Errorf("%s is the worker's own (DATABASE_URL, TEMPORAL_*, DEPLOYER_*): the bento build never gets it", n)
	}
	return nil
}
