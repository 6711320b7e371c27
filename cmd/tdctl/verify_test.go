package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/temporaldeployer/temporaldeployer/seal"
)

// TestVerifyOne: a ledger verifies only when it has sealed entries that all match; no entries (a
// mistyped deployment) or only entries recorded before sealing fail.
func TestVerifyOne(t *testing.T) {
	k, err := seal.GenerateKey("w")
	if err != nil {
		t.Fatal(err)
	}
	kr, _ := seal.NewKeyring(k.Public())
	entry := seal.Entry{Key: "k1", Deployment: "fraud", Gate: "approval", Verdict: "approved", DecidedAt: time.Unix(1e9, 0)}
	link, err := seal.Seal(seal.Link{}, entry, k)
	if err != nil {
		t.Fatal(err)
	}
	entry.Seq = link.Seq
	for _, c := range []struct {
		name  string
		chain []seal.SealedEntry
		ok    bool
		says  string
	}{
		{"sealed", []seal.SealedEntry{{Entry: entry, Link: link}}, true, "1 verified"},
		{"no entries", nil, false, "no ledger entries; FAILED"},
		{"only unsealed", []seal.SealedEntry{{Entry: seal.Entry{Key: "old", Deployment: "fraud", DecidedAt: time.Unix(1e9, 0)}}}, false,
			"nothing is verified; FAILED"},
	} {
		var out bytes.Buffer
		if got := verifyOne(&out, "fraud", c.chain, kr); got != c.ok || !strings.Contains(out.String(), c.says) {
			t.Errorf("%s: %v\n%s", c.name, got, out.String())
		}
	}
}
