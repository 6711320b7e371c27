package seal_test

import (
	"encoding/hex"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/temporaldeployer/temporaldeployer/seal"
)

const chainLen = 12

func TestVerifyChain(t *testing.T) {
	k := testKey(t, "worker-1")
	chain := sealChain(t, entries(chainLen), k)
	r := seal.Verify(chain, keyring(t, k))
	if !r.OK() || r.Verified != chainLen || r.Unsealed != 0 || r.Entries != chainLen {
		t.Fatalf("Verify = %v", r)
	}
	if r.HeadSeq != chainLen || r.HeadHash != chain[chainLen-1].Link.Hash || r.Deployment != "fraud-detector" {
		t.Fatalf("head = %d %s, deployment %q", r.HeadSeq, r.HeadHash, r.Deployment)
	}
	if chain[0].Link.PrevHash != seal.Genesis("fraud-detector") || chain[0].Link.Seq != 1 {
		t.Fatalf("first link = %+v, want seq 1 after the genesis", chain[0].Link)
	}
	for i := 1; i < chainLen; i++ {
		if l := chain[i].Link; l.PrevHash != chain[i-1].Link.Hash || l.Seq != int64(i+1) || l.KeyID != "worker-1" || l.Algorithm != "EdDSA" {
			t.Fatalf("link %d = %+v", i, l)
		}
	}
	if r := seal.Verify(nil, keyring(t, k)); !r.OK() || r.Entries != 0 || r.Verified != 0 {
		t.Fatalf("Verify(nil) = %v", r)
	}
}

func TestGenesisDiffersByDeployment(t *testing.T) {
	if seal.Genesis("a") == seal.Genesis("b") || len(seal.Genesis("")) != 64 {
		t.Fatal("genesis values must be distinct hex SHA-256 digests")
	}
}

// Editing any one field of any one entry, as an UPDATE of its row would, fails at that entry.
func TestVerifyDetectsAnEditedField(t *testing.T) {
	edits := []struct {
		field string
		edit  func(*seal.Entry)
	}{
		{"reason", func(e *seal.Entry) { e.Reason += "." }},
		{"inputs value", func(e *seal.Entry) { e.Inputs["error_rate"] = 0.5 }},
		{"nested inputs value", func(e *seal.Entry) { e.Inputs["psi"] = map[string]any{"amount": 0.04, "merchant_category": 0.1} }},
		{"inputs member added", func(e *seal.Entry) { e.Inputs["override"] = true }},
		{"inputs removed", func(e *seal.Entry) { e.Inputs = nil }},
		{"actor", func(e *seal.Entry) { e.Actor = "mallory" }},
		{"decided_at", func(e *seal.Entry) { e.DecidedAt = e.DecidedAt.Add(time.Microsecond) }},
		{"verdict", func(e *seal.Entry) { e.Verdict = "overridden" }},
		{"gate", func(e *seal.Entry) { e.Gate = "stage_ladder" }},
		{"source", func(e *seal.Entry) { e.Source = "caller-supplied" }},
		{"key", func(e *seal.Entry) { e.Key += "x" }},
		{"workflow_id", func(e *seal.Entry) { e.WorkflowID = "wf-2" }},
		{"run_id", func(e *seal.Entry) { e.RunID = "run-2" }},
		{"deployment_name", func(e *seal.Entry) { e.Deployment = "other" }},
		{"model_name", func(e *seal.Entry) { e.ModelName = "other" }},
		{"model_version", func(e *seal.Entry) { e.ModelVersion = "99" }},
	}
	k := testKey(t, "worker-1")
	kr := keyring(t, k)
	for _, ed := range edits {
		for _, at := range []int{0, chainLen / 2, chainLen - 1} {
			chain := sealChain(t, entries(chainLen), k)
			ed.edit(&chain[at].Entry)
			wantFailure(t, ed.field, seal.Verify(chain, kr), at, seal.KindContentEdited)
		}
	}
}

// tamperCase is a change to a sealed chain of chainLen entries and the failure Verify must report:
// at the entry with index at, naming the key of the original row keyOfRow (-1: a new row).
type tamperCase struct {
	name     string
	tamper   func(t *testing.T, c []seal.SealedEntry) []seal.SealedEntry
	at       int
	kind     string
	keyOfRow int
}

// tamperCases are the changes an attacker without the worker's key (k) could make; other is
// another key of the keyring.
func tamperCases(k, other *seal.PrivateKey) []tamperCase {
	return []tamperCase{
		{"middle entry deleted", func(t *testing.T, c []seal.SealedEntry) []seal.SealedEntry { return slices.Delete(c, 5, 6) },
			5, seal.KindSeqGap, 6},
		{"first entry deleted", func(t *testing.T, c []seal.SealedEntry) []seal.SealedEntry { return c[1:] },
			0, seal.KindSeqGap, 1},
		{"two entries swapped", func(t *testing.T, c []seal.SealedEntry) []seal.SealedEntry {
			c[3], c[7] = c[7], c[3]
			return c
		}, 3, seal.KindSeqGap, 7},
		{"two entries' contents swapped, seals in place", func(t *testing.T, c []seal.SealedEntry) []seal.SealedEntry {
			c[3].Entry, c[7].Entry = c[7].Entry, c[3].Entry
			c[3].Entry.Seq, c[7].Entry.Seq = 4, 8
			return c
		}, 3, seal.KindContentEdited, 7},
		{"seq of a row edited", func(t *testing.T, c []seal.SealedEntry) []seal.SealedEntry {
			c[4].Entry.Seq, c[4].Link.Seq = 40, 40
			return c
		}, 4, seal.KindContentEdited, 4},
		{"signature changed", func(t *testing.T, c []seal.SealedEntry) []seal.SealedEntry {
			c[2].Link.Signature = flipHex(c[2].Link.Signature)
			return c
		}, 2, seal.KindBadSignature, 2},
		{"entry edited and its hash recomputed", func(t *testing.T, c []seal.SealedEntry) []seal.SealedEntry {
			c[6].Entry.Verdict = "overridden"
			c[6].Link.Hash = rehash(t, c[6])
			return c
		}, 6, seal.KindBadSignature, 6},
		{"signed by another known key under this key's ID", func(t *testing.T, c []seal.SealedEntry) []seal.SealedEntry {
			c[1].Link.Signature = signHex(t, other, c[1].Link.Hash)
			return c
		}, 1, seal.KindBadSignature, 1},
		{"chain re-sealed with a key not in the keyring", func(t *testing.T, c []seal.SealedEntry) []seal.SealedEntry {
			return sealChain(t, entriesOf(c), testKey(t, "mallory"))
		}, 0, seal.KindUnknownKey, 0},
		{"chain re-sealed with a forged key under the worker's key ID", func(t *testing.T, c []seal.SealedEntry) []seal.SealedEntry {
			return sealChain(t, entriesOf(c), forged(t, "worker-1"))
		}, 0, seal.KindBadSignature, 0},
		{"prev hash edited", func(t *testing.T, c []seal.SealedEntry) []seal.SealedEntry {
			c[8].Link.PrevHash = c[6].Link.Hash
			return c
		}, 8, seal.KindContentEdited, 8},
		{"seal removed from a middle entry", func(t *testing.T, c []seal.SealedEntry) []seal.SealedEntry {
			c[4].Link, c[4].Entry.Seq = seal.Link{}, 0
			return c
		}, 4, seal.KindUnsealedAfterSealed, 4},
		{"algorithm changed", func(t *testing.T, c []seal.SealedEntry) []seal.SealedEntry {
			c[3].Link.Algorithm = "ES256"
			return c
		}, 3, seal.KindMalformed, 3},
		{"hash in upper case", func(t *testing.T, c []seal.SealedEntry) []seal.SealedEntry {
			c[3].Link.Hash = strings.ToUpper(c[3].Link.Hash)
			return c
		}, 3, seal.KindMalformed, 3},
		{"a valid entry of another deployment appended", func(t *testing.T, c []seal.SealedEntry) []seal.SealedEntry {
			es := entriesOf(c)
			for i := range es {
				es[i].Deployment = "other"
			}
			return append(c, sealChain(t, es, k)[len(c)-1])
		}, chainLen, seal.KindOtherDeployment, chainLen - 1},
		{"fork: two entries sealed after the same one", func(t *testing.T, c []seal.SealedEntry) []seal.SealedEntry {
			e := entry(99)
			l, err := seal.Seal(c[4].Link, e, k)
			if err != nil {
				t.Fatal(err)
			}
			e.Seq = l.Seq
			return slices.Insert(c, 6, seal.SealedEntry{Entry: e, Link: l})
		}, 6, seal.KindSeqGap, -1},
	}
}

func TestVerifyDetectsTampering(t *testing.T) {
	k, other := testKey(t, "worker-1"), testKey(t, "worker-2")
	kr := keyring(t, k, other)
	for _, tc := range tamperCases(k, other) {
		t.Run(tc.name, func(t *testing.T) {
			chain := tc.tamper(t, sealChain(t, entries(chainLen), k))
			r := wantFailure(t, tc.name, seal.Verify(chain, kr), tc.at, tc.kind)
			if tc.keyOfRow >= 0 && r.Failure.Key != entry(tc.keyOfRow).Key {
				t.Errorf("failure names key %q, want %q", r.Failure.Key, entry(tc.keyOfRow).Key)
			}
			if r.Verified != tc.at {
				t.Errorf("verified %d entries before the failure, want %d", r.Verified, tc.at)
			}
		})
	}
}

// Removing the newest entries leaves a chain that verifies: only its head shows it.
func TestVerifyTruncatedTailShowsInTheHead(t *testing.T) {
	k := testKey(t, "worker-1")
	chain := sealChain(t, entries(chainLen), k)
	full, cut := seal.Verify(chain, keyring(t, k)), seal.Verify(chain[:chainLen-2], keyring(t, k))
	if !cut.OK() || cut.HeadSeq != chainLen-2 || cut.HeadHash == full.HeadHash {
		t.Fatalf("truncated: %v; full: %v", cut, full)
	}
}

func TestVerifyRotatedKeys(t *testing.T) {
	old, cur := testKey(t, "worker-2025"), testKey(t, "worker-2026")
	signers := make([]*seal.PrivateKey, chainLen)
	for i := range signers {
		signers[i] = old
		if i >= chainLen/2 {
			signers[i] = cur
		}
	}
	chain := sealChain(t, entries(chainLen), signers...)
	if r := seal.Verify(chain, keyring(t, old, cur)); !r.OK() || r.Verified != chainLen {
		t.Fatalf("with both keys: %v", r)
	}
	wantFailure(t, "new key only", seal.Verify(chain, keyring(t, cur)), 0, seal.KindUnknownKey)
	wantFailure(t, "old key only", seal.Verify(chain, keyring(t, old)), chainLen/2, seal.KindUnknownKey)
}

// Entries recorded before sealing existed may open a chain; they are counted, not verified.
func TestVerifyUnsealedPrefix(t *testing.T) {
	k := testKey(t, "worker-1")
	legacy := []seal.SealedEntry{{Entry: entry(100)}, {Entry: entry(101)}, {Entry: entry(102)}}
	chain := append(slices.Clone(legacy), sealChain(t, entries(5), k)...)
	r := seal.Verify(chain, keyring(t, k))
	if !r.OK() || r.Unsealed != 3 || r.Verified != 5 || r.HeadSeq != 5 {
		t.Fatalf("legacy prefix: %v", r)
	}
	chain[1].Entry.Reason = "edited: unsealed entries are not verified"
	if r := seal.Verify(chain, keyring(t, k)); !r.OK() {
		t.Fatalf("edited legacy entry: %v", r)
	}
	if r := seal.Verify(legacy, keyring(t, k)); !r.OK() || r.Unsealed != 3 || r.Verified != 0 || r.HeadSeq != 0 {
		t.Fatalf("legacy only: %v", r)
	}
	late := append(slices.Clone(chain), seal.SealedEntry{Entry: entry(103)})
	wantFailure(t, "legacy after sealed", seal.Verify(late, keyring(t, k)), 8, seal.KindUnsealedAfterSealed)
}

func TestSealRefuses(t *testing.T) {
	k := testKey(t, "worker-1")
	first, err := seal.Seal(seal.Link{}, entry(0), k)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		prev   seal.Link
		mutate func(*seal.Entry)
		signer seal.Signer
		want   string
	}{
		{"no signer", seal.Link{}, func(*seal.Entry) {}, nil, "no signer"},
		{"zero decided_at", seal.Link{}, func(e *seal.Entry) { e.DecidedAt = time.Time{} }, k, "decided_at is zero"},
		{"seq not following prev", first, func(e *seal.Entry) { e.Seq = 5 }, k, "its seq is 5 but it follows seq 1"},
		{"prev without a hash", seal.Link{Seq: 3}, func(*seal.Entry) {}, k, "has no hash"},
		{"prev with a bad hash", seal.Link{Seq: 3, Hash: "zz"}, func(*seal.Entry) {}, k, "prev hash"},
		{"unencodable inputs", seal.Link{}, func(e *seal.Entry) { e.Inputs = map[string]any{"f": func() {}} }, k, "inputs"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := entry(1)
			tc.mutate(&e)
			if _, err := seal.Seal(tc.prev, e, tc.signer); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Seal error = %v, want one containing %q", err, tc.want)
			}
		})
	}
	if l, err := seal.Seal(first, entry(1), k); err != nil || l.Seq != 2 || l.PrevHash != first.Hash {
		t.Fatalf("Seal after first = %+v, %v", l, err)
	}
}

// wantFailure checks that r fails at index at with kind, and returns r.
func wantFailure(t *testing.T, what string, r seal.Report, at int, kind string) seal.Report {
	t.Helper()
	if r.OK() {
		t.Fatalf("%s: Verify passed (%v), want %s at entry #%d", what, r, kind, at+1)
	}
	if r.Failure.Index != at || r.Failure.Kind != kind {
		t.Fatalf("%s: Verify failed at #%d with %s (%s), want %s at #%d", what, r.Failure.Index+1, r.Failure.Kind,
			r.Failure.Detail, kind, at+1)
	}
	return r
}

func entriesOf(c []seal.SealedEntry) []seal.Entry {
	out := make([]seal.Entry, len(c))
	for i, se := range c {
		out[i] = se.Entry
		out[i].Seq = 0
	}
	return out
}

// forged is a key of the attacker's under kid.
func forged(t *testing.T, kid string) *seal.PrivateKey {
	t.Helper()
	k, err := seal.GenerateKey(kid)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// rehash recomputes se's hash over its (edited) content, as an attacker without the key can.
func rehash(t *testing.T, se seal.SealedEntry) string {
	t.Helper()
	l, err := seal.Seal(seal.Link{Seq: se.Link.Seq - 1, Hash: se.Link.PrevHash}, se.Entry, forged(t, "x"))
	if err != nil {
		t.Fatal(err)
	}
	return l.Hash
}

func signHex(t *testing.T, k *seal.PrivateKey, hash string) string {
	t.Helper()
	b, err := hex.DecodeString(hash)
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(k.Sign(b))
}

func flipHex(s string) string {
	b, _ := hex.DecodeString(s)
	b[0] ^= 1
	return hex.EncodeToString(b)
}
