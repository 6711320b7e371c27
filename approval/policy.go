// Package approval holds the pure rules for signed approvals: the worker's approver policy, the
// approval claims an approver signs as a compact JWS (EdDSA or ES256), and Judge, which verifies a
// token against the policy and checks it against what a run expects.
//
// Everything on the verifying side (Policy's methods and Judge) is deterministic, so Temporal
// workflow code may call it: no wall clock (the caller passes now), no randomness, no goroutines,
// no map iteration that shapes a result or a message. The signing side (GenerateKey, Sign,
// ReadKey, WriteKey) is for the operator CLI, tests and the demo, never for workflow code.
package approval

import (
	"fmt"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// DefaultMaxAge is a rule's max_age when the policy file leaves it out.
const DefaultMaxAge = time.Hour

// ClockSkew is how far in the future an approval's iat may be and still be accepted.
const ClockSkew = 5 * time.Minute

// maxMaxAge is the longest max_age a policy may set.
const maxMaxAge = 7 * 24 * time.Hour

// environments are the environment names a policy may give rules for, in ladder order.
var environments = []string{"staging", "shadow", "production"}

// Approver is one person who may approve, with the public keys their approvals verify against.
type Approver struct {
	ID     string            `json:"id"`
	Groups []string          `json:"groups,omitempty"`
	Keys   []jose.JSONWebKey `json:"keys"`
}

// Rule is what an environment's approval takes.
type Rule struct {
	// Approvers are eligible by ID.
	Approvers []string `json:"approvers,omitempty"`
	// Groups make their members eligible.
	Groups []string `json:"groups,omitempty"`
	// Required is the number of distinct approvers needed. Defaults to 1.
	Required int `json:"required"`
	// AllowSelfApproval lets the run's requester approve it. Defaults to false.
	AllowSelfApproval bool `json:"allow_self_approval"`
	// MaxAge bounds exp-iat and now-iat of an approval. Defaults to DefaultMaxAge (also when a
	// hand-built Rule leaves it zero).
	MaxAge time.Duration `json:"max_age"`
}

// Policy is the worker's approver policy. It travels inside Temporal history as JSON (this
// struct's own encoding, MaxAge in nanoseconds; Parse reads the different file format), and a
// policy from Parse round-trips through that encoding exactly.
type Policy struct {
	Approvers    []Approver      `json:"approvers"`
	Environments map[string]Rule `json:"environments"`
}

// Configured reports whether p has at least one approver.
func (p Policy) Configured() bool { return len(p.Approvers) > 0 }

// Rule returns env's rule; env needs approval iff it has one.
func (p Policy) Rule(env string) (Rule, bool) {
	r, ok := p.Environments[env]
	return r, ok
}

// Eligible returns the sorted, distinct IDs of the approvers eligible for env: those its rule
// lists plus the members of the groups it lists. An environment without a rule has none.
func (p Policy) Eligible(env string) []string {
	r, ok := p.Rule(env)
	if !ok {
		return nil
	}
	var ids []string
	for _, a := range p.Approvers {
		if slices.Contains(r.Approvers, a.ID) || memberOfAny(a, r.Groups) {
			ids = append(ids, a.ID)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// Narrow checks a run's allowed_approvers, which may only narrow the policy: it returns the index
// of the first entry not eligible for env and a message naming it, or -1, "". An empty list
// narrows nothing; under an environment without a rule, entry 0 is already out of place.
// It does not check that the list leaves enough approvers for the rule's required count.
func (p Policy) Narrow(env string, allowed []string) (int, string) {
	if len(allowed) == 0 {
		return -1, ""
	}
	if _, ok := p.Rule(env); !ok {
		return 0, fmt.Sprintf("allowed_approvers[0]: environment %s needs no approval under this policy", env)
	}
	eligible := p.Eligible(env)
	for i, id := range allowed {
		if !slices.Contains(eligible, id) {
			return i, fmt.Sprintf("allowed_approvers[%d]: %q is not an eligible approver for %s (eligible: %s)",
				i, id, env, strings.Join(eligible, ", "))
		}
	}
	return -1, ""
}

// Left returns who may still approve env in a run requested by requester with the allowed list
// (empty: no narrowing): the eligible approvers, narrowed, less the requester unless the rule lets
// them approve their own run. Fewer than the rule's Required means the run can never be approved.
func (p Policy) Left(env, requester string, allowed []string) []string {
	r, ok := p.Rule(env)
	if !ok {
		return nil
	}
	var left []string
	for _, id := range p.Eligible(env) {
		if (len(allowed) == 0 || slices.Contains(allowed, id)) && (id != requester || r.AllowSelfApproval) {
			left = append(left, id)
		}
	}
	return left
}

// keyOwner finds the policy key with kid and its owner's ID.
func (p Policy) keyOwner(kid string) (jose.JSONWebKey, string, bool) {
	for _, a := range p.Approvers {
		for _, k := range a.Keys {
			if k.KeyID == kid {
				return k, a.ID, true
			}
		}
	}
	return jose.JSONWebKey{}, "", false
}

// maxAge is r's MaxAge, DefaultMaxAge when unset.
func (r Rule) maxAge() time.Duration {
	if r.MaxAge <= 0 {
		return DefaultMaxAge
	}
	return r.MaxAge
}

// memberOfAny reports whether a is in one of groups.
func memberOfAny(a Approver, groups []string) bool {
	for _, g := range groups {
		if slices.Contains(a.Groups, g) {
			return true
		}
	}
	return false
}
