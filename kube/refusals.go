package kube

import (
	"fmt"
	"regexp"
	"strings"
)

// RefusedError is a manifest the backend will not apply, naming the rule it breaks. Permanent:
// retrying cannot help.
type RefusedError struct {
	Rule   string // R2 (credentials), R5 (digest pinning), resources, model-pods
	Reason string
}

func (e *RefusedError) Error() string   { return fmt.Sprintf("refused (%s): %s", e.Rule, e.Reason) }
func (e *RefusedError) Permanent() bool { return true }

var (
	// digestRef is a reference pinned by digest, with or without a tag before the digest.
	digestRef = regexp.MustCompile(`^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?@sha256:[a-f0-9]{64}$`)
	// secretWord is in the names of variables and flags that hold credentials.
	secretWord = `(passw(or)?d|secret|token|api[-_]?key|access[-_]?key|private[-_]?key|credential)`
	secretName = regexp.MustCompile(`(?i)` + secretWord)
	// secretArg is a credential on the command line: --password=…, token=…; a $(VAR) reference
	// (a Secret-fed variable) and a …-file= path are not credentials themselves.
	secretArg  = regexp.MustCompile(`(?i)^-{0,2}[a-z_-]*` + secretWord + `[a-z_-]*=(.+)$`)
	secretFlag = regexp.MustCompile(`(?i)^-{1,2}[a-z_-]*` + secretWord + `[a-z_-]*$`)
	varRef     = regexp.MustCompile(`^\$\([A-Za-z_][A-Za-z0-9_]*\)$`)
	// reservedEnv are set by the backend itself.
	reservedEnv = map[string]bool{"TD_MAX_BATCH_SIZE": true, "TD_MAX_LATENCY_MS": true, "TD_MODEL_VERSION": true}
)

// Check refuses a spec that breaks the deployment rules of seed 003: an image not pinned by digest
// (R5), a plaintext credential in env or args (R2), missing resources.
func Check(s Spec) error {
	if !digestRef.MatchString(s.Image) {
		return &RefusedError{Rule: "R5", Reason: fmt.Sprintf("image %q is not pinned by digest (repository@sha256:<64 hex>); a mutable tag can change what runs", s.Image)}
	}
	seen := map[string]bool{}
	for _, e := range s.Env {
		if reservedEnv[e.Name] || seen[e.Name] || e.Name == "" {
			return &RefusedError{Rule: "env", Reason: fmt.Sprintf("env %q is empty, reserved or given twice", e.Name)}
		}
		seen[e.Name] = true
		if e.SecretName != "" || e.SecretKey != "" {
			if e.SecretName == "" || e.SecretKey == "" || e.Value != "" {
				return &RefusedError{Rule: "R2", Reason: fmt.Sprintf("env %s: a Secret reference needs secret_name and secret_key and no value", e.Name)}
			}
			continue
		}
		if secretName.MatchString(e.Name) && e.Value != "" {
			return &RefusedError{Rule: "R2", Reason: fmt.Sprintf("env %s carries a plaintext credential; reference a Secret instead", e.Name)}
		}
	}
	if err := checkArgs(s.Args); err != nil {
		return err
	}
	for k := range s.Resources {
		if !strings.Contains(k, "/") && k != "cpu" && k != "memory" && k != "ephemeral-storage" {
			return &RefusedError{Rule: "resources", Reason: fmt.Sprintf("resources.%s is not a resource name (cpu, memory, ephemeral-storage or vendor/name)", k)}
		}
	}
	for _, k := range []string{"cpu", "memory"} {
		if s.Resources[k] == "" {
			return &RefusedError{Rule: "resources", Reason: fmt.Sprintf("resources.%s is missing; every workload sets requests and limits", k)}
		}
	}
	sc := s.Scaling
	if sc.MinReplicas < 1 || sc.MaxReplicas < sc.MinReplicas || sc.Replicas < sc.MinReplicas || sc.Replicas > sc.MaxReplicas ||
		sc.TargetCPUPercent < 1 || sc.TargetCPUPercent > 100 {
		return &RefusedError{Rule: "resources", Reason: fmt.Sprintf("scaling %+v: replicas must lie in min..max (min ≥ 1) and the CPU target in 1..100 %%", sc)}
	}
	return nil
}

// checkArgs refuses credentials in args: --password=x, or --password followed by its value.
func checkArgs(args []string) error {
	for i, a := range args {
		if m := secretArg.FindStringSubmatch(a); m != nil && !strings.HasSuffix(strings.SplitN(a, "=", 2)[0], "-file") &&
			!varRef.MatchString(m[len(m)-1]) {
			return &RefusedError{Rule: "R2", Reason: fmt.Sprintf("args[%d] carries a plaintext credential; reference a Secret instead", i)}
		}
		if secretFlag.MatchString(a) && !strings.HasSuffix(a, "-file") && i+1 < len(args) && !varRef.MatchString(args[i+1]) {
			return &RefusedError{Rule: "R2", Reason: fmt.Sprintf("args[%d..%d] pass a plaintext credential; reference a Secret instead", i, i+1)}
		}
	}
	return nil
}
