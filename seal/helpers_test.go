package seal_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/temporaldeployer/temporaldeployer/seal"
)

// base is the time of the first test entry.
var base = time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)

// testKey is a deterministic Ed25519 key, its seed derived from kid.
func testKey(t testing.TB, kid string) *seal.PrivateKey {
	t.Helper()
	seed := sha256.Sum256([]byte("seal test key " + kid))
	k, err := seal.NewPrivateKey(kid, ed25519.NewKeyFromSeed(seed[:]))
	if err != nil {
		t.Fatalf("NewPrivateKey: %v", err)
	}
	return k
}

// keyring holds the public halves of keys.
func keyring(t testing.TB, keys ...*seal.PrivateKey) seal.Keyring {
	t.Helper()
	var pubs []seal.PublicKey
	for _, k := range keys {
		pubs = append(pubs, k.Public())
	}
	kr, err := seal.NewKeyring(pubs...)
	if err != nil {
		t.Fatalf("NewKeyring: %v", err)
	}
	return kr
}

// entry is the i-th test entry of deployment "fraud-detector", with inputs of every JSON kind.
func entry(i int) seal.Entry {
	verdicts := []string{"allowed", "denied", "approved"}
	return seal.Entry{
		Key:        fmt.Sprintf("wf-1/run-1/%d", i),
		WorkflowID: "wf-1",
		RunID:      "run-1",
		Deployment: "fraud-detector",
		Gate:       "shadow_criteria",
		Verdict:    verdicts[i%len(verdicts)],
		Reason:     fmt.Sprintf("p99 %d ms under the 150 ms bar — ok", 90+i),
		Inputs: map[string]any{
			"error_rate": 0.0025 * float64(i),
			"requests":   1000 + i,
			"psi":        map[string]any{"amount": 0.04, "merchant_category": 0.19},
			"bins":       []any{1, 2.5, "three", nil, true},
			"window":     base.Add(time.Duration(i) * time.Minute),
			"note":       "naïve → ✓",
		},
		Source:       "measured",
		Actor:        "worker",
		DecidedAt:    base.Add(time.Duration(i) * time.Second),
		ModelName:    "fraud",
		ModelVersion: strconv.Itoa(7 + i%2),
	}
}

// sealChain seals entries in order with signer (or the signer of signers[i] when given).
func sealChain(t testing.TB, entries []seal.Entry, signers ...*seal.PrivateKey) []seal.SealedEntry {
	t.Helper()
	out := make([]seal.SealedEntry, 0, len(entries))
	var prev seal.Link
	for i, e := range entries {
		s := signers[0]
		if len(signers) == len(entries) {
			s = signers[i]
		}
		l, err := seal.Seal(prev, e, s)
		if err != nil {
			t.Fatalf("Seal entry %d: %v", i, err)
		}
		e.Seq = l.Seq
		out = append(out, seal.SealedEntry{Entry: e, Link: l})
		prev = l
	}
	return out
}

// entries is n test entries.
func entries(n int) []seal.Entry {
	out := make([]seal.Entry, n)
	for i := range out {
		out[i] = entry(i)
	}
	return out
}

// sqliteRoundTrip is e as the SQLite store gives it back: strings with NUL replaced by U+FFFD,
// decided_at in UTC truncated to microseconds, inputs through encoding/json into map[string]any.
func sqliteRoundTrip(t testing.TB, e seal.Entry) seal.Entry {
	t.Helper()
	return storeRoundTrip(t, e, func(raw []byte) []byte { return raw })
}

// postgresRoundTrip is sqliteRoundTrip with the JSONB column's rewriting of the document: keys
// reordered, numbers written as plain decimals (1e+21 → 1000000000000000000000, -0 → 0).
func postgresRoundTrip(t testing.TB, e seal.Entry) seal.Entry {
	t.Helper()
	return storeRoundTrip(t, e, func(raw []byte) []byte { return jsonbRewrite(t, raw) })
}

func storeRoundTrip(t testing.TB, e seal.Entry, column func([]byte) []byte) seal.Entry {
	t.Helper()
	nul := func(s string) string { return strings.ReplaceAll(s, "\x00", "\uFFFD") }
	out := e
	for _, s := range []*string{&out.Key, &out.WorkflowID, &out.RunID, &out.Deployment, &out.Gate, &out.Verdict,
		&out.Reason, &out.Source, &out.Actor, &out.ModelName, &out.ModelVersion} {
		*s = nul(*s)
	}
	out.DecidedAt = e.DecidedAt.UTC().Truncate(time.Microsecond)
	out.Inputs = nil
	if e.Inputs == nil {
		return out
	}
	raw, err := json.Marshal(e.Inputs)
	if err != nil {
		t.Fatalf("store round trip: marshal inputs: %v", err)
	}
	raw = []byte(strings.ReplaceAll(string(raw), `\u0000`, `\ufffd`)) // what store.jsonArg does, simply
	if err := json.Unmarshal(column(raw), &out.Inputs); err != nil {
		t.Fatalf("store round trip: unmarshal inputs: %v", err)
	}
	return out
}

// jsonbRewrite mimics PostgreSQL's JSONB output of a document: members reordered (JSONB sorts by
// length, then bytes; reversed order is as good a test), numbers as plain decimals.
func jsonbRewrite(t testing.TB, raw []byte) []byte {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("jsonb: %v", err)
	}
	var b strings.Builder
	writeJSONB(t, &b, v)
	return []byte(b.String())
}

func writeJSONB(t testing.TB, b *strings.Builder, v any) {
	switch x := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			t.Fatalf("jsonb number %s: %v", x, err)
		}
		if f == 0 {
			f = math.Abs(f) // numeric has no -0
		}
		b.WriteString(strconv.FormatFloat(f, 'f', -1, 64))
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeJSONB(t, b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		slices.Reverse(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			kb, _ := json.Marshal(k)
			b.Write(kb)
			b.WriteString(": ")
			writeJSONB(t, b, x[k])
		}
		b.WriteByte('}')
	default:
		vb, err := json.Marshal(x)
		if err != nil {
			t.Fatalf("jsonb: %v", err)
		}
		b.Write(vb)
	}
}

// mustCanonical is seal.Canonical or a fatal error.
func mustCanonical(t testing.TB, e seal.Entry) string {
	t.Helper()
	c, err := seal.Canonical(e)
	if err != nil {
		t.Fatalf("Canonical: %v", err)
	}
	return string(c)
}
