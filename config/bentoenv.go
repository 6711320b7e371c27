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
// name the variable and the entry, never a value.
func (r *reader) bentoEnv(dst *[]string) {
	v, ok := r.raw(bentoEnvKey)
	if !ok {
		return
	}
	var names []string
	seen := map[string]bool{}
	for _, n := range strings.Split(v, ",") {
		n = strings.TrimSpace(n)
		if n == "" || seen[n] {
			continue
		}
		if err := bentoEnvName(n); err != nil {
			r.err = fmt.Errorf("%s: %w", bentoEnvKey, err)
			return
		}
		seen[n] = true
		names = append(names, n)
	}
	if len(names) == 0 {
		r.err = fmt.Errorf("%s=%q names no variable", bentoEnvKey, v)
		return
	}
	*dst = names
}

// bentoEnvName refuses an entry that is not a variable name or is one of the worker's own.
func bentoEnvName(n string) error {
	if name, _, isPair := strings.Cut(n, "="); isPair {
		return fmt.Errorf("entry %q=… is a pair: list names only, the values come from the worker's environment", name)
	}
	if !envName.MatchString(n) {
		return fmt.Errorf("entry %q is not an environment variable name ([A-Za-z_][A-Za-z0-9_]*)", n)
	}
	u := strings.ToUpper(n)
	if u == "DATABASE_URL" || strings.HasPrefix(u, "TEMPORAL_") || strings.HasPrefix(u, "DEPLOYER_") {
		return fmt.Errorf("entry %s is the worker's own (DATABASE_URL, TEMPORAL_*, DEPLOYER_*): the bento build never gets it", n)
	}
	return nil
}
