package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/temporaldeployer/temporaldeployer/config"
	"github.com/temporaldeployer/temporaldeployer/seal"
	"github.com/temporaldeployer/temporaldeployer/store"
)

// openStore opens the store the worker writes (DATABASE_URL); on failure it says why and returns
// the exit status.
func openStore(ctx context.Context, stderr io.Writer) (*store.SQL, config.Config, int) {
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		fmt.Fprintln(stderr, "tdctl: configuration:", err)
		return nil, cfg, 2
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		fmt.Fprintf(stderr, "tdctl: open store %s: %v\n", store.Redact(cfg.DatabaseURL), err)
		return nil, cfg, 1
	}
	return st, cfg, 0
}

// verify recomputes the evidence ledger's chains and signatures: every deployment's, or one's.
func verify(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	keyring := fs.String("keyring", "", "public keys that verify the ledger (default DEPLOYER_LEDGER_KEYRING)")
	deployment := fs.String("deployment", "", "only this deployment's ledger")
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "usage: tdctl verify [-keyring FILE] [-deployment D]")
		return 2
	}
	ctx := context.Background()
	st, cfg, code := openStore(ctx, stderr)
	if st == nil {
		return code
	}
	defer st.Close()
	if *keyring == "" {
		*keyring = cfg.LedgerKeyring
	}
	kr, err := seal.ReadKeyring(*keyring)
	if err != nil {
		fmt.Fprintln(stderr, "tdctl verify:", err)
		return 1
	}
	names := []string{*deployment}
	if *deployment == "" {
		if names, err = st.LedgerDeployments(ctx); err != nil {
			fmt.Fprintln(stderr, "tdctl verify:", err)
			return 1
		}
	}
	failed := 0
	for _, name := range names {
		chain, err := st.Chain(ctx, name)
		if err != nil {
			fmt.Fprintln(stderr, "tdctl verify:", err)
			return 1
		}
		r := seal.Verify(chain, kr)
		if r.Deployment == "" {
			r.Deployment = name
		}
		fmt.Fprintln(stdout, r)
		if !r.OK() {
			failed++
		}
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "tdctl verify: %d of %d ledgers do not verify\n", failed, len(names))
		return 1
	}
	return 0
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
	ctx := context.Background()
	st, _, code := openStore(ctx, stderr)
	if st == nil {
		return code
	}
	defer st.Close()
	chain, err := st.Chain(ctx, *deployment)
	if err == nil {
		err = seal.ExportJSONL(stdout, chain)
	}
	if err != nil {
		fmt.Fprintln(stderr, "tdctl export:", err)
		return 1
	}
	return 0
}
