package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/temporaldeployer/temporaldeployer/codec"
)

// codecKey adds a new random AES-256 key to a payload keyring (creating it): the key that seals
// from then on, the older ones still open what they sealed.
func codecKey(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("codec-key", flag.ContinueOnError)
	fs.SetOutput(stderr)
	keyring := fs.String("keyring", "", "the keyring file (DEPLOYER_CODEC_KEYS); created, mode 0600, when absent")
	id := fs.String("id", "", "the new key's ID, written in the clear into every payload it seals (e.g. 2026-12)")
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 || *keyring == "" || *id == "" {
		fmt.Fprintln(stderr, "tdctl codec-key: want -keyring FILE -id ID")
		return 2
	}
	if err := codec.AddKey(*keyring, *id); err != nil {
		fmt.Fprintln(stderr, "tdctl codec-key:", err)
		return 1
	}
	fmt.Fprintf(stdout, "added key %s to %s: it seals from the next start of the worker, its clients and the codec server\n", *id, *keyring)
	return 0
}
