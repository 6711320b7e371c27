package workflows

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"go.temporal.io/sdk/testsuite"

	"github.com/temporaldeployer/temporaldeployer/approval"
	"github.com/temporaldeployer/temporaldeployer/contract"
)

// The test approvers: alice (EdDSA) and bob (ES256) may approve production; carol has a key but
// approves nothing. Keys are generated once per test binary.
var testKeys = sync.OnceValue(func() map[string]jose.JSONWebKey {
	keys := map[string]jose.JSONWebKey{}
	for id, alg := range map[string]string{"alice@example.com": "EdDSA", "bob@example.com": "ES256", "carol@example.com": "EdDSA"} {
		k, err := approval.GenerateKey(alg, "kid-"+id)
		if err != nil {
			panic(err)
		}
		keys[id] = k
	}
	return keys
})

// testApprovers is the approver policy the fixtures' worker loads: production needs `required`
// approvals from alice or bob (and staging, with stagingToo, one from alice).
func testApprovers(required int, stagingToo bool) approval.Policy {
	type ap struct {
		ID   string            `json:"id"`
		Keys []jose.JSONWebKey `json:"keys"`
	}
	var aps []ap
	for _, id := range []string{"alice@example.com", "bob@example.com", "carol@example.com"} {
		aps = append(aps, ap{ID: id, Keys: []jose.JSONWebKey{approval.Public(testKeys()[id])}})
	}
	envs := map[string]any{"production": map[string]any{"approvers": []string{"alice@example.com", "bob@example.com"}, "required": required}}
	if stagingToo {
		envs["staging"] = map[string]any{"approvers": []string{"alice@example.com"}}
	}
	raw, err := json.Marshal(map[string]any{"approvers": aps, "environments": envs})
	if err != nil {
		panic(err)
	}
	p, err := approval.Parse(raw)
	if err != nil {
		panic(fmt.Sprintf("test approver policy: %v", err))
	}
	return p
}

// signedBy signs approval claims for the binding as approver would, issued now and valid for
// ttl; edit changes the claims before they are signed.
func signedBy(t testing.TB, approver string, b approval.Binding, now time.Time, ttl time.Duration, edit func(*approval.Claims)) string {
	c := approval.Claims{Binding: b, Approver: approver, IssuedAt: now.Unix(), Expiry: now.Add(ttl).Unix(), Comment: "looks good"}
	if edit != nil {
		edit(&c)
	}
	key, ok := testKeys()[approver]
	if !ok {
		key = testKeys()["carol@example.com"]
	}
	tok, err := approval.Sign(key, c)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return tok
}

// pendingRequest reads what the run waits to be approved for, from its status query.
func pendingRequest(t testing.TB, env *testsuite.TestWorkflowEnvironment) (contract.Status, approval.Binding) {
	v, err := env.QueryWorkflow(contract.QueryStatus)
	if err != nil {
		t.Fatalf("status query: %v", err)
	}
	var st contract.Status
	if err := v.Get(&st); err != nil {
		t.Fatalf("status: %v", err)
	}
	if st.ApprovalRequest == nil {
		return st, approval.Binding{}
	}
	return st, *st.ApprovalRequest
}

// signedApproval is an approve payload signed by approver for what the run awaits now.
func signedApproval(t testing.TB, env *testsuite.TestWorkflowEnvironment, approver string) contract.ApproveSignal {
	_, b := pendingRequest(t, env)
	return contract.ApproveSignal{Token: signedBy(t, approver, b, env.Now(), 10*time.Minute, nil)}
}

// updateResult collects an `approve` Update's answer.
type updateResult struct {
	accepted *contract.ApprovalResult
	err      error
	rejected string        // the validator's refusal
	done     chan struct{} // closed once answered
}

// sendUpdate sends an `approve` Update now and returns where its answer will be.
func sendUpdate(env *testsuite.TestWorkflowEnvironment, id string, s contract.ApproveSignal) *updateResult {
	r := &updateResult{done: make(chan struct{})}
	env.UpdateWorkflow(contract.UpdateApprove, id, &testsuite.TestUpdateCallback{
		OnAccept: func() {},
		OnReject: func(err error) { r.rejected = err.Error(); close(r.done) },
		OnComplete: func(v any, err error) {
			defer close(r.done)
			r.err = err
			if res, ok := v.(contract.ApprovalResult); ok && err == nil {
				r.accepted = &res
			}
		},
	}, s)
	return r
}

// sendVia sends an approval as the Update (returning where its answer will be) or as the signal
// (returning nil).
func sendVia(env *testsuite.TestWorkflowEnvironment, via, id string, a contract.ApproveSignal) *updateResult {
	if via == viaUpdate {
		return sendUpdate(env, id, a)
	}
	env.SignalWorkflow(contract.SignalApprove, a)
	return nil
}
