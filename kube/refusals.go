package kube

import (
	"fmt"
	"regexp"
)

// RefusedError is a manifest the backend will not apply, naming the rule it breaks. Permanent:
// retrying cannot help.
type RefusedError struct {
	Rule   string // R2 (credentials), R5 (digest pinning), resources
	Reason string
}

func (e *RefusedError) Error() string   { return fmt.Sprintf("refused (%s): %s", e.Rule, e.Reason) }
func (e *RefusedError) Permanent() bool { return true }

var (
	digestRef = regexp.MustCompile(`^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*@sha256:[a-f0-9]{64}$`)
	// secretName matches variable names that hold credentials.
	secretName = regexp.MustCompile(`(?i)(passw(or)?d|secret|token|api[-_]?key|access[-_]?key|private[-_]?key|credential|auth)`)
	// secretArg matches a credential passed on the command line: --password=…, token=…
	secretArg = regexp.MustCompile(`(?i)(passw(or)?d|secret|token|api[-_]?key|access[-_]?key|private[-_]?key|credential)[a-z_-]*=\S+`)
)

// Check refuses a spec that breaks the deployment rules of seed 003: an image not pinned by digest
// (R5), a plaintext credential in env or args (R2), missing resources.
func Check(s Spec) error {
	if !digestRef.MatchString(s.Image) {
		return &RefusedError{Rule: "R5", Reason: fmt.Sprintf("image %q is not pinned by digest (repository@sha256:<64 hex>); a mutable tag can change what runs", s.Image)}
	}
	for _, e := range s.Env {
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
	for i, a := range s.Args {
		if secretArg.MatchString(a) {
			return &RefusedError{Rule: "R2", Reason: fmt.Sprintf("args[%d] carries a plaintext credential; reference a Secret instead", i)}
		}
	}
	for _, k := range []string{"cpu", "memory"} {
		if s.Resources[k] == "" {
			return &RefusedError{Rule: "resources", Reason: fmt.Sprintf("resources.%s is missing; every workload sets requests and limits", k)}
		}
	}
	if s.Scaling.Replicas < 1 || s.Scaling.MinReplicas < 1 || s.Scaling.MaxReplicas < s.Scaling.MinReplicas {
		return &RefusedError{Rule: "resources", Reason: fmt.Sprintf("scaling %+v is not a valid replica range", s.Scaling)}
	}
	return nil
}
