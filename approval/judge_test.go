package approval

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// judgeCase is one approval presented to Judge; it runs once per signer (EdDSA and ES256).
type judgeCase struct {
	name     string
	claims   func(c *Claims, s signer)                                // changes the signed claims
	token    func(t testing.TB, f fixture, s signer, c Claims) string // replaces Sign(s.key, c)
	req      func(r *Request, s signer)                               // changes the expectation
	approver func(s signer) string                                    // the payload's approver field
	now      time.Duration                                            // added to testNow
	want     string                                                   // Reject* code, "" to accept
	detail   string                                                   // a substring of the detail
}

// other is the eligible production signer that is not s.
func other(s signer) string {
	if s.id == alice {
		return bob
	}
	return alice
}

// otherAlg is the signature algorithm s's key does not use.
func otherAlg(s signer) string {
	if s.key.Algorithm == AlgEdDSA {
		return AlgES256
	}
	return AlgEdDSA
}

// judgeCases covers every rejection code, the accepting paths and the clock edges.
var judgeCases = []judgeCase{
	{name: "accept", want: ""},
	{name: "accept with approver field", approver: func(s signer) string { return s.id }},
	{name: "accept second of two", req: func(r *Request, s signer) { r.Have = []string{carol} }},
	{name: "accept in allowed list", req: func(r *Request, s signer) { r.Allowed = []string{carol, s.id} }},
	{name: "accept iat exactly at the skew limit", now: -ClockSkew - time.Minute},
	{name: "accept exp-iat exactly max_age", claims: func(c *Claims, s signer) { c.Expiry = c.IssuedAt + 3600 }},
	{name: "accept one second before exp", now: 1799 * time.Second},
	{name: "accept without comment", claims: func(c *Claims, s signer) { c.Comment = "" }},
	{name: "accept token with surrounding whitespace",
		token: func(t testing.TB, f fixture, s signer, c Claims) string { return " " + mustSign(t, s.key, c) + "\n" }},

	{name: "unsigned: empty", token: constToken(""), want: RejectUnsigned},
	{name: "unsigned: blank", token: constToken("  \n"), want: RejectUnsigned},

	{name: "malformed: one part", token: constToken("abc"), want: RejectMalformed, detail: "got 1 part"},
	{name: "malformed: four parts", token: constToken("a.b.c.d"), want: RejectMalformed, detail: "got 4 part"},
	{name: "malformed: header not base64", token: constToken("!!.e30.AA"), want: RejectMalformed, detail: "base64url"},
	{name: "malformed: alg none", want: RejectMalformed, detail: `alg "none"`,
		token: func(t testing.TB, f fixture, s signer, c Claims) string {
			enc := base64.RawURLEncoding
			return enc.EncodeToString([]byte(`{"alg":"none","kid":"`+s.key.KeyID+`"}`)) + "." +
				enc.EncodeToString(mustJSON(t, c)) + "."
		}},
	{name: "malformed: alg HS256", token: hs256, want: RejectMalformed, detail: `alg "HS256"`},
	{name: "malformed: no kid", want: RejectMalformed, detail: "no kid",
		token: raw(func(s signer, c string) (string, string) { return `{"alg":"` + s.key.Algorithm + `"}`, c })},
	{name: "malformed: typ JOSE", want: RejectMalformed, detail: `typ "JOSE"`,
		token: raw(func(s signer, c string) (string, string) {
			return strings.Replace(header(s.key), `"JWT"`, `"JOSE"`, 1), c
		})},
	{name: "malformed: embedded jwk header", want: RejectMalformed, detail: `header member "jwk"`,
		token: raw(func(s signer, c string) (string, string) {
			return strings.Replace(header(s.key), `{`, `{"jwk":{},`, 1), c
		})},
	{name: "malformed: repeated header kid", want: RejectMalformed, detail: `duplicate field "kid"`,
		token: raw(func(s signer, c string) (string, string) {
			return strings.Replace(header(s.key), `{`, `{"kid":"carol-1",`, 1), c
		})},
	{name: "malformed: payload not JSON", want: RejectMalformed, detail: "payload",
		token: raw(func(s signer, c string) (string, string) { return header(s.key), "approved!" })},
	{name: "malformed: payload an array", want: RejectMalformed, detail: "want a JSON object",
		token: raw(func(s signer, c string) (string, string) { return header(s.key), "[" + c + "]" })},
	{name: "malformed: unknown claim", want: RejectMalformed, detail: `unknown claim "role"`,
		token: raw(func(s signer, c string) (string, string) { return header(s.key), `{"role":"admin",` + c[1:] })},
	{name: "malformed: claim differing in case", want: RejectMalformed, detail: `unknown claim "SUB"`,
		token: raw(func(s signer, c string) (string, string) { return header(s.key), `{"SUB":"x",` + c[1:] })},
	{name: "malformed: repeated claim", want: RejectMalformed, detail: `duplicate field "sub"`,
		token: raw(func(s signer, c string) (string, string) { return header(s.key), `{"sub":"carol@example.com",` + c[1:] })},
	{name: "malformed: missing exp", want: RejectMalformed, detail: `missing claim "exp"`,
		token: raw(func(s signer, c string) (string, string) { return header(s.key), dropClaim(c, "exp") })},
	{name: "malformed: missing model_version", want: RejectMalformed, detail: `missing claim "model_version"`,
		token: raw(func(s signer, c string) (string, string) { return header(s.key), dropClaim(c, "model_version") })},
	{name: "malformed: iat a string", want: RejectMalformed, detail: `claim "iat": want an integer`,
		token: raw(func(s signer, c string) (string, string) {
			return header(s.key), `{"iat":"1",` + dropClaim(c, "iat")[1:]
		})},
	{name: "malformed: iat fractional", want: RejectMalformed, detail: `claim "iat": want an integer, got 1.5`,
		token: raw(func(s signer, c string) (string, string) {
			return header(s.key), `{"iat":1.5,` + dropClaim(c, "iat")[1:]
		})},
	{name: "malformed: sub null", want: RejectMalformed, detail: `claim "sub": want a string, got null`,
		token: raw(func(s signer, c string) (string, string) {
			return header(s.key), `{"sub":null,` + dropClaim(c, "sub")[1:]
		})},
	{name: "malformed: model_version a number", want: RejectMalformed, detail: `"model_version": want a string, got 3`,
		token: raw(func(s signer, c string) (string, string) {
			return header(s.key), `{"model_version":3,` + dropClaim(c, "model_version")[1:]
		})},
	{name: "malformed: exp beyond year 9999", want: RejectMalformed, detail: `claim "exp"`,
		claims: func(c *Claims, s signer) { c.Expiry = 1 << 62 }},
	{name: "malformed: iat zero", want: RejectMalformed, detail: `claim "iat"`,
		claims: func(c *Claims, s signer) { c.IssuedAt = 0 }},
	{name: "malformed beats unknown key", want: RejectMalformed,
		token: raw(func(s signer, c string) (string, string) {
			return strings.Replace(header(s.key), s.key.KeyID, "nobody-1", 1), `{"role":"admin",` + c[1:]
		})},

	{name: "unknown key", want: RejectUnknownKey, detail: `kid "stranger-1"`,
		token: func(t testing.TB, f fixture, s signer, c Claims) string {
			return mustSign(t, mustKey(t, s.key.Algorithm, "stranger-1"), c)
		}},
	{name: "bad signature: forged with a key of the same kid", want: RejectBadSignature, detail: "does not verify",
		token: func(t testing.TB, f fixture, s signer, c Claims) string {
			return mustSign(t, mustKey(t, s.key.Algorithm, s.key.KeyID), c)
		}},
	{name: "bad signature: forged for another run", want: RejectBadSignature,
		claims: func(c *Claims, s signer) { c.RunID = "run-2" },
		token: func(t testing.TB, f fixture, s signer, c Claims) string {
			return mustSign(t, mustKey(t, s.key.Algorithm, s.key.KeyID), c)
		}},
	{name: "bad signature: tampered payload", want: RejectBadSignature, token: tampered},
	{name: "bad signature: alg not the key's", want: RejectBadSignature, detail: "does not fit key",
		token: func(t testing.TB, f fixture, s signer, c Claims) string {
			return mustSign(t, mustKey(t, otherAlg(s), s.key.KeyID), c)
		}},
	{name: "bad signature: truncated signature", want: RejectBadSignature,
		token: func(t testing.TB, f fixture, s signer, c Claims) string {
			tok := mustSign(t, s.key, c)
			return tok[:len(tok)-4]
		}},

	{name: "approver mismatch: own key, another's sub", want: RejectApproverMismatch, detail: "belongs to",
		claims: func(c *Claims, s signer) { c.Approver = other(s) }},
	{name: "approver mismatch: approver field", want: RejectApproverMismatch,
		approver: func(s signer) string { return other(s) }},
	{name: "approver mismatch beats wrong run", want: RejectApproverMismatch,
		claims: func(c *Claims, s signer) { c.Approver = other(s); c.RunID = "run-2" }},

	{name: "wrong run: run_id", want: RejectWrongRun, detail: `run_id: expected "run-1", got "run-2"`,
		claims: func(c *Claims, s signer) { c.RunID = "run-2" }},
	{name: "wrong run: workflow_id", want: RejectWrongRun, detail: `workflow_id: expected "deploy-fraud-3", got "deploy-fraud-4"`,
		claims: func(c *Claims, s signer) { c.WorkflowID = "deploy-fraud-4" }},
	{name: "wrong run beats expired", want: RejectWrongRun, now: time.Hour,
		claims: func(c *Claims, s signer) { c.RunID = "run-2" }},
	{name: "wrong version: model_version", want: RejectWrongVersion, detail: `model_version: expected "3", got "4"`,
		claims: func(c *Claims, s signer) { c.ModelVersion = "4" }},
	{name: "wrong version: model and deployment", want: RejectWrongVersion,
		detail: `deployment_name: expected "fraud", got "churn"; model_name: expected "fraud-model", got "churn-model"`,
		claims: func(c *Claims, s signer) { c.DeploymentName = "churn"; c.ModelName = "churn-model" }},
	{name: "wrong environment", want: RejectWrongEnvironment, detail: `environment: expected "production", got "staging"`,
		claims: func(c *Claims, s signer) { c.Environment = "staging" }},
	{name: "wrong action", want: RejectWrongAction, detail: `action: expected "promote", got "rollback"`,
		claims: func(c *Claims, s signer) { c.Action = "rollback" }},

	{name: "not eligible for staging", want: RejectNotEligible, detail: "not an eligible approver for staging",
		claims: func(c *Claims, s signer) { c.Environment = "staging" },
		req:    func(r *Request, s signer) { r.Environment = "staging" }},
	{name: "not eligible: environment without a rule", want: RejectNotEligible,
		detail: "environment shadow needs no approval under this policy",
		claims: func(c *Claims, s signer) { c.Environment = "shadow" },
		req:    func(r *Request, s signer) { r.Environment = "shadow" }},
	{name: "not eligible: not in allowed_approvers", want: RejectNotEligible, detail: "allowed_approvers (carol@example.com)",
		req: func(r *Request, s signer) { r.Allowed = []string{carol} }},
	{name: "not eligible beats expired", want: RejectNotEligible, now: time.Hour,
		req: func(r *Request, s signer) { r.Allowed = []string{carol} }},
	{name: "self approval", want: RejectSelfApproval, req: func(r *Request, s signer) { r.Requester = s.id }},
	{name: "self approval beats expired", want: RejectSelfApproval, now: time.Hour,
		req: func(r *Request, s signer) { r.Requester = s.id }},

	{name: "not yet valid: past the skew", want: RejectNotYetValid,
		claims: func(c *Claims, s signer) { c.IssuedAt = testNow.Add(ClockSkew).Unix() + 1 }},
	{name: "expired: exactly at exp", want: RejectExpired, now: 1800 * time.Second},
	{name: "expired: after exp", want: RejectExpired, now: 1801 * time.Second},
	{name: "expired beats duplicate", want: RejectExpired, now: time.Hour,
		req: func(r *Request, s signer) { r.Have = []string{s.id} }},
	{name: "too old: exp before iat", want: RejectTooOld, detail: "not after iat",
		claims: func(c *Claims, s signer) { c.IssuedAt = testNow.Unix() + 120; c.Expiry = testNow.Unix() + 60 }},
	{name: "too old: exp equals iat", want: RejectTooOld,
		claims: func(c *Claims, s signer) { c.IssuedAt = testNow.Unix() + 60; c.Expiry = c.IssuedAt }},
	{name: "too old: exp-iat one second over max_age", want: RejectTooOld, detail: "over max_age 1h0m0s",
		claims: func(c *Claims, s signer) { c.Expiry = c.IssuedAt + 3601 }},
	{name: "too old: issued over max_age ago (caught as exp-iat)", want: RejectTooOld,
		claims: func(c *Claims, s signer) { c.IssuedAt = testNow.Unix() - 3601; c.Expiry = testNow.Unix() + 60 }},
	{name: "duplicate", want: RejectDuplicate, detail: "already approved",
		req: func(r *Request, s signer) { r.Have = []string{carol, s.id} }},
}

// TestJudge runs every case with an EdDSA signer (alice) and an ES256 signer (bob).
func TestJudge(t *testing.T) {
	f := newFixture(t)
	for _, s := range f.signers() {
		for _, tc := range judgeCases {
			t.Run(s.key.Algorithm+"/"+tc.name, func(t *testing.T) {
				c := claims(s.id)
				if tc.claims != nil {
					tc.claims(&c, s)
				}
				var tok string
				if tc.token != nil {
					tok = tc.token(t, f, s, c)
				} else {
					tok = mustSign(t, s.key, c)
				}
				req := request()
				if tc.req != nil {
					tc.req(&req, s)
				}
				approverField := ""
				if tc.approver != nil {
					approverField = tc.approver(s)
				}
				got, rej := Judge(f.policy, req, tok, approverField, testNow.Add(tc.now))
				checkVerdict(t, got, rej, tc.want, tc.detail, c)
			})
		}
	}
}

// checkVerdict compares Judge's result with the expected code (and detail substring); an
// accepted approval must come back with exactly the signed claims.
func checkVerdict(t *testing.T, got Claims, rej *Rejection, want, detail string, signed Claims) {
	t.Helper()
	if want == "" {
		if rej != nil {
			t.Fatalf("rejected: %v", rej)
		}
		if got != signed {
			t.Fatalf("claims = %+v, want %+v", got, signed)
		}
		return
	}
	if rej == nil {
		t.Fatalf("accepted, want %s", want)
	}
	if rej.Code != want || !strings.Contains(rej.Detail, detail) {
		t.Fatalf("rejection %q, want code %s with detail containing %q", rej.Error(), want, detail)
	}
	if rej.Error() != rej.Code+": "+rej.Detail {
		t.Fatalf("Error() = %q", rej.Error())
	}
}

// TestJudgeCoversEveryCode: the table rejects with every code Judge can give.
func TestJudgeCoversEveryCode(t *testing.T) {
	for _, code := range []string{RejectUnsigned, RejectMalformed, RejectUnknownKey, RejectBadSignature,
		RejectApproverMismatch, RejectWrongRun, RejectWrongVersion, RejectWrongEnvironment, RejectWrongAction,
		RejectNotEligible, RejectSelfApproval, RejectNotYetValid, RejectExpired, RejectTooOld, RejectDuplicate} {
		if !slices.ContainsFunc(judgeCases, func(c judgeCase) bool { return c.want == code }) {
			t.Errorf("no case rejects with %s", code)
		}
	}
}

// TestJudgeSelfApprovalAllowed: staging allows self-approval, so dave may approve his own run,
// under staging's 10m max_age.
func TestJudgeSelfApprovalAllowed(t *testing.T) {
	f := newFixture(t)
	req := request()
	req.Environment, req.Requester = "staging", dave
	for _, tc := range []struct {
		name     string
		lifetime int64
		want     string
	}{
		{"within max_age", 600, ""},
		{"over max_age", 601, RejectTooOld},
	} {
		c := claims(dave)
		c.Environment = "staging"
		c.Expiry = c.IssuedAt + tc.lifetime
		got, rej := Judge(f.policy, req, mustSign(t, f.keys[dave], c), "", testNow)
		t.Run(tc.name, func(t *testing.T) { checkVerdict(t, got, rej, tc.want, "", c) })
	}
}

// TestJudgeTwoOfThree walks a production approval to its quorum: alice, then a repeat of alice,
// then bob.
func TestJudgeTwoOfThree(t *testing.T) {
	f := newFixture(t)
	req := request()
	for _, step := range []struct {
		who  string
		want string
	}{{alice, ""}, {alice, RejectDuplicate}, {bob, ""}} {
		c := claims(step.who)
		got, rej := Judge(f.policy, req, mustSign(t, f.keys[step.who], c), "", testNow)
		checkVerdict(t, got, rej, step.want, "", c)
		if rej == nil {
			req.Have = append(req.Have, got.Approver)
		}
	}
	if want := []string{alice, bob}; !slices.Equal(req.Have, want) {
		t.Fatalf("Have = %v, want %v", req.Have, want)
	}
}

// TestJudgeZeroPolicy: with no policy every token's key is unknown.
func TestJudgeZeroPolicy(t *testing.T) {
	f := newFixture(t)
	_, rej := Judge(Policy{}, request(), mustSign(t, f.keys[alice], claims(alice)), "", testNow)
	if rej == nil || rej.Code != RejectUnknownKey {
		t.Fatalf("rejection %v, want %s", rej, RejectUnknownKey)
	}
}

func BenchmarkJudge(b *testing.B) {
	f := newFixture(b)
	for _, s := range f.signers() {
		tok := mustSign(b, s.key, claims(s.id))
		b.Run(s.key.Algorithm, func(b *testing.B) {
			for b.Loop() {
				if _, rej := Judge(f.policy, request(), tok, "", testNow); rej != nil {
					b.Fatal(rej)
				}
			}
		})
	}
}

// constToken is a token maker that ignores the signer.
func constToken(tok string) func(testing.TB, fixture, signer, Claims) string {
	return func(testing.TB, fixture, signer, Claims) string { return tok }
}

// raw makes a hand-signed token from a header and payload edited from s's header and the claims JSON.
func raw(edit func(s signer, claimsJSON string) (header, payload string)) func(testing.TB, fixture, signer, Claims) string {
	return func(t testing.TB, f fixture, s signer, c Claims) string {
		h, p := edit(s, string(mustJSON(t, c)))
		return handSigned(t, s.key, h, p)
	}
}

// dropClaim removes one claim from a claims JSON object.
func dropClaim(claimsJSON, name string) string {
	var m map[string]any
	if err := json.Unmarshal([]byte(claimsJSON), &m); err != nil {
		panic(err)
	}
	delete(m, name)
	out, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(out)
}

// hs256 is a token MACed with HS256 under the signer's kid (the classic key-confusion attempt).
func hs256(t testing.TB, f fixture, s signer, c Claims) string {
	enc := base64.RawURLEncoding
	input := enc.EncodeToString([]byte(`{"alg":"HS256","kid":"`+s.key.KeyID+`","typ":"JWT"}`)) + "." +
		enc.EncodeToString(mustJSON(t, c))
	mac := hmac.New(sha256.New, mustJSON(t, Public(s.key)))
	mac.Write([]byte(input))
	return input + "." + enc.EncodeToString(mac.Sum(nil))
}

// tampered signs good claims, then swaps in the payload of the same claims for another version.
func tampered(t testing.TB, f fixture, s signer, c Claims) string {
	good := strings.Split(mustSign(t, s.key, c), ".")
	c.ModelVersion = "4"
	good[1] = base64.RawURLEncoding.EncodeToString(mustJSON(t, c))
	return strings.Join(good, ".")
}
