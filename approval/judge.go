package approval

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/temporaldeployer/temporaldeployer/contract"
)

// Binding is what ties an approval to one run of one version for one environment; the workflow
// shows it in its status as "approval_request", and an approver signs it. It is the contract's.
type Binding = contract.ApprovalBinding

// Claims are the signed approval claims (the JWS payload): the binding plus who approved, when,
// until when and why. Judge decodes them strictly: unknown claims, repeated claims and missing
// required ones (all but comment) are refused.
type Claims struct {
	Binding
	Approver string `json:"sub"`
	IssuedAt int64  `json:"iat"` // Unix seconds
	Expiry   int64  `json:"exp"` // Unix seconds
	Comment  string `json:"comment,omitempty"`
}

// Request is what the workflow expects of an approval now.
type Request struct {
	Binding
	// Requester is the run's requested_by; self-approval is refused unless the rule allows it.
	Requester string
	// Allowed is the run's allowed_approvers (already checked by Narrow); empty means every
	// eligible approver.
	Allowed []string
	// Have are the approvers already accepted for this request; another approval by one of them
	// is a duplicate.
	Have []string
}

// Rejection codes: why Judge (or the workflow) refused an approval. They are public words of the
// audit trail.
const (
	RejectUnsigned         = "unsigned"
	RejectMalformed        = "malformed"
	RejectUnknownKey       = "unknown_key"
	RejectBadSignature     = "bad_signature"
	RejectApproverMismatch = "approver_mismatch"
	RejectWrongRun         = "wrong_run"
	RejectWrongVersion     = "wrong_version"
	RejectWrongEnvironment = "wrong_environment"
	RejectWrongAction      = "wrong_action"
	RejectNotEligible      = "not_eligible"
	RejectSelfApproval     = "self_approval"
	RejectNotYetValid      = "not_yet_valid"
	RejectExpired          = "expired"
	RejectTooOld           = "too_old"
	RejectDuplicate        = "duplicate"
	RejectNotAwaited       = "not_awaited" // used by the workflow: no approval is awaited now
)

// Rejection is why an approval was refused: a Reject* code and a detail naming the values at fault.
type Rejection struct {
	Code   string
	Detail string
}

// Error is Code + ": " + Detail.
func (r *Rejection) Error() string { return r.Code + ": " + r.Detail }

// reject builds a Rejection with a formatted detail.
func reject(code, format string, args ...any) *Rejection {
	return &Rejection{Code: code, Detail: fmt.Sprintf(format, args...)}
}

// Judge verifies token against the policy's keys and checks it against want at now, in a fixed
// order (the first failing check decides the code): unsigned, malformed, unknown_key,
// bad_signature, approver_mismatch, wrong_run, wrong_version, wrong_environment, wrong_action,
// not_eligible, self_approval, not_yet_valid, expired, too_old, duplicate. approverField is the
// optional "approver" of the approve payload; when set it must equal sub.
//
// It returns the verified claims and nil, or a rejection. Once the signature has verified, the
// (authentic but unacceptable) claims come back with the rejection too; before that, zero Claims.
// Judge is deterministic: workflow code may call it.
func Judge(p Policy, want Request, token, approverField string, now time.Time) (Claims, *Rejection) {
	token = strings.TrimSpace(token)
	if token == "" {
		return Claims{}, reject(RejectUnsigned, "no token: an approval must be a JWS signed with the approver's key")
	}
	jws, h, c, err := parseToken(token)
	if err != nil {
		return Claims{}, reject(RejectMalformed, "%v", err)
	}
	key, owner, ok := p.keyOwner(h.Kid)
	if !ok {
		return Claims{}, reject(RejectUnknownKey, "kid %q is not in the approver policy", h.Kid)
	}
	alg, err := keyAlg(key)
	if err != nil {
		return Claims{}, reject(RejectBadSignature, "%v", err)
	}
	if alg != h.Alg {
		return Claims{}, reject(RejectBadSignature, "token alg %s does not fit key %q (%s) of %s", h.Alg, h.Kid, alg, owner)
	}
	if _, err := jws.Verify(Public(key).Key); err != nil {
		return Claims{}, reject(RejectBadSignature, "signature does not verify with key %q of %s", h.Kid, owner)
	}
	for _, check := range []func() *Rejection{
		func() *Rejection { return checkApprover(c, owner, h.Kid, approverField) },
		func() *Rejection { return checkBinding(want.Binding, c.Binding) },
		func() *Rejection { return p.checkEligible(want, c.Approver) },
		func() *Rejection { return checkTimes(p.Environments[want.Environment], c, now) },
		func() *Rejection { return checkDuplicate(want.Have, c.Approver) },
	} {
		if rej := check(); rej != nil {
			return c, rej
		}
	}
	return c, nil
}

// checkApprover: sub must be the owner of the signing key, and the payload's approver, when
// given, must be sub.
func checkApprover(c Claims, owner, kid, approverField string) *Rejection {
	if c.Approver != owner {
		return reject(RejectApproverMismatch, "sub %q, but key %q belongs to %q", c.Approver, kid, owner)
	}
	if approverField != "" && approverField != c.Approver {
		return reject(RejectApproverMismatch, "approver %q, but the token's sub is %q", approverField, c.Approver)
	}
	return nil
}

// checkBinding compares the signed binding with the run's, one group of claims per code.
func checkBinding(want, got Binding) *Rejection {
	type pair struct{ name, want, got string }
	for _, g := range []struct {
		code  string
		pairs []pair
	}{
		{RejectWrongRun, []pair{{"workflow_id", want.WorkflowID, got.WorkflowID}, {"run_id", want.RunID, got.RunID}}},
		{RejectWrongVersion, []pair{{"deployment_name", want.DeploymentName, got.DeploymentName},
			{"model_name", want.ModelName, got.ModelName}, {"model_version", want.ModelVersion, got.ModelVersion}}},
		{RejectWrongEnvironment, []pair{{"environment", want.Environment, got.Environment}}},
		{RejectWrongAction, []pair{{"action", want.Action, got.Action}}},
	} {
		var diffs []string
		for _, p := range g.pairs {
			if p.want != p.got {
				diffs = append(diffs, fmt.Sprintf("%s: expected %q, got %q", p.name, p.want, p.got))
			}
		}
		if len(diffs) > 0 {
			return reject(g.code, "the approval is for something else: %s", strings.Join(diffs, "; "))
		}
	}
	return nil
}

// checkEligible: sub must be eligible for the environment under the policy and, when the run
// narrows it, among its allowed approvers; and may not be the requester unless the rule says so.
func (p Policy) checkEligible(want Request, sub string) *Rejection {
	env := want.Environment
	r, ok := p.Rule(env)
	if !ok {
		return reject(RejectNotEligible, "environment %s needs no approval under this policy", env)
	}
	eligible := p.Eligible(env)
	if !slices.Contains(eligible, sub) {
		return reject(RejectNotEligible, "%q is not an eligible approver for %s (eligible: %s)", sub, env, strings.Join(eligible, ", "))
	}
	if len(want.Allowed) > 0 && !slices.Contains(want.Allowed, sub) {
		return reject(RejectNotEligible, "%q is not among this run's allowed_approvers (%s)", sub, strings.Join(want.Allowed, ", "))
	}
	if sub == want.Requester && !r.AllowSelfApproval {
		return reject(RejectSelfApproval, "%q requested this run and may not approve it (allow_self_approval is false for %s)", sub, env)
	}
	return nil
}

// checkTimes: iat at most ClockSkew ahead of now, exp after now, exp after iat, and neither
// exp-iat nor now-iat over the rule's max_age. (Once exp > now and exp-iat <= max_age, now-iat
// cannot exceed max_age; the contract states both, so both are checked.)
func checkTimes(r Rule, c Claims, now time.Time) *Rejection {
	iat, exp, maxAge := time.Unix(c.IssuedAt, 0).UTC(), time.Unix(c.Expiry, 0).UTC(), r.maxAge()
	switch {
	case iat.After(now.Add(ClockSkew)):
		return reject(RejectNotYetValid, "iat %s is more than %s after now (%s)", iat.Format(time.RFC3339), ClockSkew, stamp(now))
	case !exp.After(now):
		return reject(RejectExpired, "exp %s is not after now (%s)", exp.Format(time.RFC3339), stamp(now))
	case !exp.After(iat):
		return reject(RejectTooOld, "exp %s is not after iat %s", exp.Format(time.RFC3339), iat.Format(time.RFC3339))
	case exp.Sub(iat) > maxAge:
		return reject(RejectTooOld, "exp - iat is %s, over max_age %s", exp.Sub(iat), maxAge)
	case now.Sub(iat) > maxAge:
		return reject(RejectTooOld, "issued %s ago (iat %s), over max_age %s", now.Sub(iat), iat.Format(time.RFC3339), maxAge)
	}
	return nil
}

// checkDuplicate: each approver counts once per request.
func checkDuplicate(have []string, sub string) *Rejection {
	if slices.Contains(have, sub) {
		return reject(RejectDuplicate, "%q has already approved this request (approvals so far: %s)", sub, strings.Join(have, ", "))
	}
	return nil
}

// stamp formats now for a message, to the second, in UTC.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
