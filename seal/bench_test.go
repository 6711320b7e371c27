package seal_test

import (
	"testing"

	"github.com/temporaldeployer/temporaldeployer/seal"
)

func BenchmarkSeal(b *testing.B) {
	k := testKey(b, "worker-1")
	e := entry(1)
	var prev seal.Link
	for b.Loop() {
		l, err := seal.Seal(prev, e, k)
		if err != nil {
			b.Fatal(err)
		}
		prev = l
		e.Seq = 0
	}
}

func BenchmarkVerify10k(b *testing.B) {
	k := testKey(b, "worker-1")
	chain := sealChain(b, entries(10_000), k)
	kr := keyring(b, k)
	for b.Loop() {
		if r := seal.Verify(chain, kr); !r.OK() || r.Verified != 10_000 {
			b.Fatal(r)
		}
	}
}
