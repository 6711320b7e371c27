package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/temporaldeployer/temporaldeployer/approval"
)

// keygen makes an approver's key pair, offline: it writes the private JWK to -out (mode 0600,
// never overwriting a file) and prints the public JWK to stdout, then, with -approver, a policy
// `approvers` entry ready to paste into the worker's DEPLOYER_APPROVERS_FILE. Notes for the
// human go to stderr, so stdout stays JSON. Exit 0 ok, 1 failure, 2 bad usage.
//
//	tdctl keygen [-alg EdDSA|ES256] -kid KID -out PRIVATE.jwk [-approver ID]
func keygen(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	alg := fs.String("alg", approval.AlgEdDSA, "signature algorithm: EdDSA (Ed25519) or ES256 (P-256)")
	kid := fs.String("kid", "", "key ID, unique across the approver policy (required)")
	out := fs.String("out", "", "file for the PRIVATE key, created with mode 0600, never overwritten (required)")
	approver := fs.String("approver", "", "also print a policy approvers entry for this approver ID")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if msg := keygenUsage(fs.Args(), *alg, *kid, *out); msg != "" {
		fmt.Fprintln(stderr, "tdctl keygen:", msg)
		fmt.Fprintln(stderr, "usage: tdctl keygen [-alg EdDSA|ES256] -kid KID -out PRIVATE.jwk [-approver ID]")
		return 2
	}
	key, err := approval.GenerateKey(*alg, *kid)
	if err != nil {
		fmt.Fprintln(stderr, "tdctl keygen:", err)
		return 1
	}
	if err := approval.WriteKey(*out, key); err != nil {
		fmt.Fprintln(stderr, "tdctl keygen:", err)
		return 1
	}
	public := approval.Public(key)
	docs := []any{public}
	if *approver != "" {
		docs = append(docs, approval.Approver{ID: *approver, Keys: []jose.JSONWebKey{public}})
	}
	for _, doc := range docs {
		b, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			fmt.Fprintln(stderr, "tdctl keygen: encode:", err)
			return 1
		}
		fmt.Fprintln(stdout, string(b))
	}
	fmt.Fprintf(stderr, "tdctl keygen: private key %q written to %s (keep it secret); public key on stdout\n", *kid, *out)
	return 0
}

// keygenUsage checks keygen's flags and arguments; it returns what is wrong, or "".
func keygenUsage(args []string, alg, kid, out string) string {
	switch {
	case len(args) > 0:
		return fmt.Sprintf("unexpected argument %q (keygen takes flags only)", args[0])
	case !slices.Contains([]string{approval.AlgEdDSA, approval.AlgES256}, alg):
		return fmt.Sprintf("-alg %q: want %s or %s", alg, approval.AlgEdDSA, approval.AlgES256)
	case kid == "":
		return "-kid is required (the key ID the approver policy will know the key by)"
	case out == "":
		return "-out is required (the file for the private key)"
	}
	return ""
}
