package seal

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// genesisDomain prefixes the deployment name in Genesis, so a genesis value is never the hash of
// an entry.
const genesisDomain = "temporaldeployer/evidence-ledger/v1/genesis\x00"

// Genesis is the prev hash of a deployment's first sealed entry: the hex SHA-256 of
// "temporaldeployer/evidence-ledger/v1/genesis", a NUL byte and the deployment name. Each
// deployment's chain starts from its own genesis, so an entry cannot be moved to another chain.
func Genesis(deployment string) string {
	sum := sha256.Sum256([]byte(genesisDomain + deployment))
	return hex.EncodeToString(sum[:])
}

// Seal seals e as the entry after prev in its deployment's chain, signed by s. prev is the Link of
// the deployment's newest sealed entry, or the zero Link for its first (which chains to
// Genesis(e.Deployment) with Seq 1). e.Seq may be 0, and is then taken as prev.Seq+1; any other
// value must equal it. e.DecidedAt must be set (the store would otherwise stamp its own time).
// The hash is hex SHA-256(the 32 bytes of the prev hash || Canonical(e)); s signs its 32 bytes.
func Seal(prev Link, e Entry, s Signer) (Link, error) {
	if s == nil {
		return Link{}, errors.New("seal: no signer")
	}
	seq, prevHash := prev.Seq+1, prev.Hash
	if prev.IsZero() {
		seq, prevHash = 1, Genesis(e.Deployment)
	} else if prev.Hash == "" {
		return Link{}, fmt.Errorf("seal entry %q: prev link (seq %d) has no hash", e.Key, prev.Seq)
	}
	if e.Seq != 0 && e.Seq != seq {
		return Link{}, fmt.Errorf("seal entry %q: its seq is %d but it follows seq %d", e.Key, e.Seq, prev.Seq)
	}
	e.Seq = seq
	sum, err := chainHash(prevHash, e)
	if err != nil {
		return Link{}, fmt.Errorf("seal entry %q: %w", e.Key, err)
	}
	return Link{
		Seq:       seq,
		PrevHash:  prevHash,
		Hash:      hex.EncodeToString(sum),
		KeyID:     s.KeyID(),
		Algorithm: s.Algorithm(),
		Signature: hex.EncodeToString(s.Sign(sum)),
	}, nil
}

// chainHash is SHA-256(prev hash bytes || Canonical(e)).
func chainHash(prevHash string, e Entry) ([]byte, error) {
	prev, err := decodeHash(prevHash)
	if err != nil {
		return nil, fmt.Errorf("prev hash: %w", err)
	}
	c, err := Canonical(e)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	h.Write(prev)
	h.Write(c)
	return h.Sum(nil), nil
}

// decodeHash decodes a lower-case hex SHA-256 digest.
func decodeHash(s string) ([]byte, error) {
	if len(s) != 2*sha256.Size {
		return nil, fmt.Errorf("%q is not a hex SHA-256 digest (%d characters, want %d)", s, len(s), 2*sha256.Size)
	}
	if !isLowerHex(s) {
		return nil, fmt.Errorf("%q is not lower-case hex", s)
	}
	return hex.DecodeString(s)
}

// isLowerHex reports whether s is made of 0-9 and a-f only, so each byte string has one spelling.
func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
