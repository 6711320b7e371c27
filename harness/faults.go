package harness

import (
	"fmt"
	"strings"

	"github.com/temporaldeployer/temporaldeployer/kube"
)

// Fault switches the bento's fault injection on for one model version in one role: the harness's
// way to make, say, a canary fail on demand in tests and the demo. Env is one of the model
// server's fault switches (TD_FAULT=error, TD_FAULT_LATENCY_MS=N; see infra/bento/service.py).
type Fault struct {
	ModelVersion string
	Role         kube.Role
	Env          string
}

// ParseFaults reads "<version>/<role>:<VAR>=<value>" entries, comma-separated, e.g.
// "3/canary:TD_FAULT_LATENCY_MS=300". Only the TD_FAULT switches may be set.
func ParseFaults(s string) ([]Fault, error) {
	var out []Fault
	for _, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		who, env, ok := strings.Cut(entry, ":")
		version, role, ok2 := strings.Cut(who, "/")
		name, _, ok3 := strings.Cut(env, "=")
		switch {
		case !ok || !ok2 || !ok3 || version == "":
			return nil, fmt.Errorf("harness fault %q: want <version>/<role>:<VAR>=<value>", entry)
		case role != string(kube.RoleStable) && role != string(kube.RoleCanary) && role != string(kube.RoleShadow):
			return nil, fmt.Errorf("harness fault %q: role %q is not stable, canary or shadow", entry, role)
		case name != "TD_FAULT" && name != "TD_FAULT_LATENCY_MS":
			return nil, fmt.Errorf("harness fault %q: %s is not a fault switch (TD_FAULT, TD_FAULT_LATENCY_MS)", entry, name)
		}
		out = append(out, Fault{ModelVersion: version, Role: kube.Role(role), Env: env})
	}
	return out, nil
}

// faultEnv is the fault switches that apply to a workload.
func faultEnv(faults []Fault, s kube.Spec) []string {
	var env []string
	for _, f := range faults {
		if f.ModelVersion == s.ModelVersion && f.Role == s.Role {
			env = append(env, f.Env)
		}
	}
	return env
}
