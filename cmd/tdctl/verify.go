package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/temporaldeployer/temporaldeployer/config"
	"github.com/temporaldeployer/temporaldeployer/redact"
	"github.com/temporaldeployer/temporaldeployer/seal"
	"github.com/temporaldeployer/temporaldeployer/store"
)

// openStore opens the store the worker writes (DATABASE_URL); on failure it says why and returns
// the exit status.
func openStore(ctx context.Context, stderr io.Writer) (*store.SQL, int) {
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		fmt.Fprintln(stderr, "tdctl: configuration:", err)
		return nil, 2
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		fmt.Fprintf(stderr, "tdctl: open store %s: %v\n", redact.URL(cfg.DatabaseURL), err)
		return nil, 1
	}
	return st, 0
}

// fromStore opens the store, reads from it with read and closes it. code is non-zero, and said
// on stderr, when the store cannot be opened (2: bad configuration) or read (1).
func fromStore[T any](stderr io.Writer, read func(context.Context, *store.SQL) (T, error)) (v T, code int) {
	ctx := context.Background()
	st, code := openStore(ctx, stderr)
	if st == nil {
		return v, code
	}
	defer st.Close()
	v, err := read(ctx, st)
	if err != nil {
		fmt.Fprintln(stderr, "tdctl:", err)
		return v, 1
	}
	return v, 0
}

// Exit statuses of verify: a ledger that does not verify, or that could not be read.
const (
	exitUnverified = 1
	exitUnreadable = 3
)

// verify recomputes the evidence ledger's chains and signatures: every deployment's, or one's.
// A chain verifies when every sealed entry matches and at least one is sealed.
func verify(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	keyring := fs.String("keyring", "", "public keys that verify the ledger (default DEPLOYER_LEDGER_KEYRING)")
	deployment := fs.String("deployment", "", "only this deployment's ledger")
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "usage: tdctl verify [-keyring FILE] [-deployment D]")
		return 2
	}
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		fmt.Fprintln(stderr, "tdctl: configuration:", err)
		return 2
	}
	if *keyring == "" {
		*keyring = cfg.LedgerKeyring
	}
	kr, err := seal.ReadKeyring(*keyring)
	if err != nil {
		fmt.Fprintf(stderr, "tdctl verify: %v (set -keyring or DEPLOYER_LEDGER_KEYRING)\n", err)
		return exitUnreadable
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, code := openStore(ctx, stderr)
	if st == nil {
		return max(code, exitUnreadable)
	}
	defer st.Close()
	names := []string{*deployment}
	if *deployment == "" {
		if names, err = st.LedgerDeployments(ctx); err != nil {
			fmt.Fprintln(stderr, "tdctl verify:", err)
			return exitUnreadable
		}
		if len(names) == 0 {
			fmt.Fprintln(stderr, "tdctl verify: the ledger is empty: nothing to verify")
			return exitUnverified
		}
	}
	failed := 0
	for _, name := range names {
		chain, err := st.Chain(ctx, name)
		if err != nil {
			fmt.Fprintln(stderr, "tdctl verify:", err)
			return exitUnreadable
		}
		if !verifyOne(stdout, name, chain, kr) {
			failed++
		}
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "tdctl verify: %d of %d ledgers do not verify\n", failed, len(names))
		return exitUnverified
	}
	return 0
}

// verifyOne prints one deployment's report and says whether its chain verifies.
func verifyOne(stdout io.Writer, name string, chain []seal.SealedEntry, kr seal.Keyring) bool {
	if len(chain) == 0 {
		fmt.Fprintf(stdout, "deployment %q: no ledger entries; FAILED\n", name)
		return false
	}
	r := seal.Verify(chain, kr)
	fmt.Fprintln(stdout, r)
	if r.OK() && r.Verified == 0 {
		fmt.Fprintf(stdout, "deployment %q: every entry was recorded before sealing: nothing is verified; FAILED\n", name)
		return false
	}
	return r.OK()
}

// export writes one deployment's ledger with its seals as JSON lines, for CI.
func export(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	deployment := fs.String("deployment", "", "the deployment whose ledger to export")
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 || *deployment == "" {
		fmt.Fprintln(stderr, "usage: tdctl export -deployment D")
		return 2
	}
	chain, code := fromStore(stderr, func(ctx context.Context, st *store.SQL) ([]seal.SealedEntry, error) {
		return st.Chain(ctx, *deployment)
	})
	if code != 0 {
		return code
	}
	if err := seal.ExportJSONL(stdout, chain); err != nil {
		fmt.Fprintln(stderr, "tdctl export:", err)
		return 1
	}
	return 0
}
