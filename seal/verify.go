package seal

import (
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
)

// The kinds of Failure: what is wrong with the first entry that does not match. They are part of
// the audit trail's vocabulary (the verify command prints them).
const (
	// KindContentEdited: the entry's content does not hash to its recorded hash: a field was edited.
	KindContentEdited = "content_edited"
	// KindBadSignature: the recorded hash is not signed by the recorded key: the hash was rewritten.
	KindBadSignature = "bad_signature"
	// KindUnknownKey: the keyring has no key with the entry's key ID.
	KindUnknownKey = "unknown_key"
	// KindSeqGap: the entry's seq does not follow the previous one: entries removed or reordered.
	KindSeqGap = "seq_gap"
	// KindChainBroken: the entry's prev hash is not the previous entry's hash (or the genesis of
	// the first): an entry was replaced, or the chain forked.
	KindChainBroken = "chain_broken"
	// KindUnsealedAfterSealed: an unsealed entry after a sealed one: its seal was removed, or it
	// was written around the sealer.
	KindUnsealedAfterSealed = "unsealed_after_sealed"
	// KindOtherDeployment: the entry belongs to another deployment than the first entry given.
	KindOtherDeployment = "other_deployment"
	// KindMalformed: the seal cannot be read (bad hex, unsupported algorithm, seal and entry seq
	// disagree) or the entry cannot be encoded.
	KindMalformed = "malformed"
)

// Failure names the first entry that does not match and what is wrong with it.
type Failure struct {
	Index  int    `json:"index"` // position in the entries given to Verify
	Seq    int64  `json:"seq"`   // the entry's seq (0 if unsealed)
	Key    string `json:"key"`   // the entry's idempotency key
	Kind   string `json:"kind"`  // a Kind* constant
	Detail string `json:"detail"`
}

// String reads "entry seq 4 (key K): content_edited: ...".
func (f Failure) String() string {
	return fmt.Sprintf("entry seq %d (key %q, #%d): %s: %s", f.Seq, f.Key, f.Index+1, f.Kind, f.Detail)
}

// Report is what Verify found about one deployment's chain.
type Report struct {
	Deployment string   `json:"deployment_name"`
	Entries    int      `json:"entries"`   // entries given
	Unsealed   int      `json:"unsealed"`  // entries recorded before sealing existed: not verified
	Verified   int      `json:"verified"`  // sealed entries verified (before Failure, if any)
	HeadSeq    int64    `json:"head_seq"`  // seq of the last verified entry (0: none)
	HeadHash   string   `json:"head_hash"` // its hash: compare with one recorded elsewhere to see truncation
	Failure    *Failure `json:"failure,omitempty"`
}

// OK reports whether every entry given verified or was an unsealed entry before the first sealed.
func (r Report) OK() bool { return r.Failure == nil }

// String summarises r in one line.
func (r Report) String() string {
	s := fmt.Sprintf("deployment %q: %d entries, %d unsealed, %d verified, head seq %d %s",
		r.Deployment, r.Entries, r.Unsealed, r.Verified, r.HeadSeq, r.HeadHash)
	if r.Failure != nil {
		s += "; FAILED at " + r.Failure.String()
	}
	return s
}

// Verify recomputes the chain of one deployment, entries in the order the store keeps them (seq
// order, entries without a seal first), and checks the signatures against kr. It stops at the
// first entry that does not match and names it in Report.Failure. The deployment is the first
// entry's.
//
// Entries recorded before sealing existed (a zero Link) are allowed at the start of the chain
// only: they are counted as Unsealed, not verified; the first sealed entry has seq 1 and chains to
// Genesis. An unsealed entry after a sealed one is a failure (KindUnsealedAfterSealed). A chain of
// only unsealed entries is OK with Verified 0: a caller that knows sealing was on should check
// Unsealed. Removing the newest entries is not detectable from the entries alone: compare HeadHash.
//
// For each sealed entry the checks run in this order, the first failing one naming the kind: the
// seal is readable; the content hashes to the recorded hash with the recorded prev hash
// (KindContentEdited); the key is known (KindUnknownKey) and signed that hash (KindBadSignature);
// the entry is of this deployment; its seq follows the previous entry's (KindSeqGap); its prev hash
// is the previous entry's hash (KindChainBroken).
func Verify(entries []SealedEntry, kr Keyring) Report {
	r := Report{Entries: len(entries)}
	if len(entries) > 0 {
		r.Deployment = entries[0].Entry.Deployment
	}
	var prev Link
	for i, se := range entries {
		if kind, detail := r.check(se, prev, kr); kind != "" {
			r.Failure = &Failure{Index: i, Seq: se.Entry.Seq, Key: se.Entry.Key, Kind: kind, Detail: detail}
			return r
		}
		if se.Link.IsZero() {
			r.Unsealed++
			continue
		}
		prev = se.Link
		r.Verified++
		r.HeadSeq, r.HeadHash = se.Link.Seq, se.Link.Hash
	}
	return r
}

// check verifies one entry after prev (the zero Link before the first sealed entry); it returns
// the failure kind and detail, or "".
func (r *Report) check(se SealedEntry, prev Link, kr Keyring) (kind, detail string) {
	e, l := se.Entry, se.Link
	if l.IsZero() {
		if !prev.IsZero() {
			return KindUnsealedAfterSealed, fmt.Sprintf("no seal, after sealed seq %d: its seal was removed", prev.Seq)
		}
		return r.checkDeployment(e)
	}
	sig, err := readSeal(e, l)
	if err != nil {
		return KindMalformed, err.Error()
	}
	sum, err := chainHash(l.PrevHash, e)
	if err != nil {
		return KindMalformed, err.Error()
	}
	if got := hex.EncodeToString(sum); got != l.Hash {
		return KindContentEdited, fmt.Sprintf("its content hashes to %s, its seal says %s: a field was edited", got, l.Hash)
	}
	pub, ok := kr.Lookup(l.KeyID)
	if !ok {
		return KindUnknownKey, fmt.Sprintf("key ID %q is not in the keyring (%d keys)", l.KeyID, kr.Len())
	}
	if !ed25519.Verify(pub, sum, sig) {
		return KindBadSignature, fmt.Sprintf("the signature is not key %q's over hash %s", l.KeyID, l.Hash)
	}
	if kind, detail := r.checkDeployment(e); kind != "" {
		return kind, detail
	}
	return checkLink(l, prev, r.Deployment)
}

// checkDeployment refuses an entry of another deployment.
func (r *Report) checkDeployment(e Entry) (kind, detail string) {
	if e.Deployment != r.Deployment {
		return KindOtherDeployment, fmt.Sprintf("deployment %q in the chain of %q", e.Deployment, r.Deployment)
	}
	return "", ""
}

// checkLink checks that l follows prev: the next seq, prev's hash (or the genesis of deployment).
func checkLink(l, prev Link, deployment string) (kind, detail string) {
	wantPrev := prev.Hash
	if prev.IsZero() {
		wantPrev = Genesis(deployment)
	}
	switch {
	case prev.IsZero() && l.Seq != 1:
		return KindSeqGap, fmt.Sprintf("the first sealed entry has seq %d, want 1: earlier entries were removed", l.Seq)
	case l.Seq != prev.Seq+1:
		return KindSeqGap, fmt.Sprintf("seq %d follows seq %d: entries were removed or reordered", l.Seq, prev.Seq)
	case l.PrevHash != wantPrev:
		return KindChainBroken, fmt.Sprintf("prev hash %s, want %s (the previous entry's hash)", l.PrevHash, wantPrev)
	}
	return "", ""
}

// readSeal checks l's form and returns its signature bytes.
func readSeal(e Entry, l Link) ([]byte, error) {
	if l.Algorithm != AlgEdDSA {
		return nil, fmt.Errorf("algorithm %q, want %s", l.Algorithm, AlgEdDSA)
	}
	if l.Seq != e.Seq {
		return nil, fmt.Errorf("the seal's seq %d is not the entry's %d", l.Seq, e.Seq)
	}
	if _, err := decodeHash(l.Hash); err != nil {
		return nil, fmt.Errorf("hash: %w", err)
	}
	sig, err := hex.DecodeString(l.Signature)
	if err != nil || len(sig) != ed25519.SignatureSize || !isLowerHex(l.Signature) {
		return nil, fmt.Errorf("signature is not %d bytes of lower-case hex", ed25519.SignatureSize)
	}
	return sig, nil
}
