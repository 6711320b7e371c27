// Command tdctl is TemporalDeployer's operator CLI. It reaches Temporal as the worker does
// (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE) and reads the evidence ledger from the store the worker
// writes (DATABASE_URL):
//
//	tdctl keygen [-alg EdDSA|ES256] -kid KID -out KEY.jwk [-approver ID]   an approver key pair
//	tdctl start [-id ID] [-wait 10m] INPUT.json|-   start a run (its trace begins here when OTLP is on)
//	tdctl approve -key KEY.jwk -approver ID [-comment C] [-ttl 10m] [-signal] WORKFLOW_ID
//	tdctl abort -reason R [-by WHO] WORKFLOW_ID
//	tdctl status [-json] WORKFLOW_ID
//	tdctl list [-deployment D] [-environment E] [-open]
//	tdctl ledger [-json] [-gate G] WORKFLOW_ID   every gate decision of one run, oldest first
//	tdctl verify [-keyring FILE] [-deployment D]   recompute the ledger's chains and signatures (exit 1: a ledger
//	                                               does not verify or is empty; 3: it could not be read)
//	tdctl export -deployment D                     one deployment's sealed ledger as JSON lines
//	tdctl codec-key -keyring FILE -id ID           add a new payload key (DEPLOYER_CODEC_KEYS): it seals from then on
//
// Exit status: 0 ok, 1 a failure (or a rejected approval), 2 bad usage.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/temporaldeployer/temporaldeployer/store"
)

var commands = map[string]func(args []string, stdout, stderr io.Writer) int{
	"keygen": keygen, "start": start, "approve": approve, "abort": abort, "status": status, "list": list, "ledger": ledger,
	"verify": verify, "export": export, "codec-key": codecKey,
}

func main() {
	if len(os.Args) < 2 {
		usage(os.Stderr)
		os.Exit(2)
	}
	if cmd, ok := commands[os.Args[1]]; ok {
		os.Exit(cmd(os.Args[2:], os.Stdout, os.Stderr))
	}
	switch os.Args[1] {
	case "-h", "--help", "help":
		usage(os.Stdout)
	default:
		fmt.Fprintf(os.Stderr, "tdctl: unknown command %q\n", os.Args[1])
		usage(os.Stderr)
		os.Exit(2)
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  tdctl keygen [-alg EdDSA|ES256] -kid KID -out KEY.jwk [-approver ID]
  tdctl start [-id ID] [-wait DURATION] INPUT.json|-
  tdctl approve -key KEY.jwk -approver ID [-comment C] [-ttl 10m] [-signal] WORKFLOW_ID
  tdctl abort -reason R [-by WHO] WORKFLOW_ID
  tdctl status [-json] WORKFLOW_ID
  tdctl list [-deployment D] [-environment E] [-open]
  tdctl ledger [-json] [-gate G] WORKFLOW_ID
  tdctl verify [-keyring FILE] [-deployment D]
  tdctl export -deployment D
  tdctl codec-key -keyring FILE -id ID
Temporal from TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE (payloads sealed with DEPLOYER_CODEC_KEYS), the ledger
from DATABASE_URL, as the worker reads them; traces over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set.
`)
}

func ledger(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ledger", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print JSON lines, one decision each")
	gate := fs.String("gate", "", "only this gate (e.g. canary_analysis)")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		fmt.Fprintln(stderr, "tdctl ledger: want exactly one WORKFLOW_ID")
		return 2
	}
	decisions, code := fromStore(stderr, func(ctx context.Context, st *store.SQL) ([]store.Decision, error) {
		return st.Decisions(ctx, fs.Arg(0))
	})
	if code != 0 {
		return code
	}
	var out []store.Decision
	for _, d := range decisions {
		if *gate == "" || d.Gate == *gate {
			out = append(out, d)
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, d := range out {
			if err := enc.Encode(d); err != nil {
				return 1
			}
		}
		return 0
	}
	printTable(stdout, out)
	return 0
}

// printTable prints one line a decision, with the numbers a reader looks for first.
func printTable(w io.Writer, ds []store.Decision) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DECIDED\tGATE\tVERDICT\tSOURCE\tNUMBERS\tREASON")
	for _, d := range ds {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.DecidedAt.Format("15:04:05"), d.Gate, d.Verdict, d.Source,
			numbers(d.Inputs), clip(d.Reason, 90))
	}
	tw.Flush()
}

// numbers picks the measured numbers out of a decision's inputs: the shadow evidence, or a canary
// step's weight and both samples.
func numbers(in map[string]any) string {
	var parts []string
	switch {
	case in["rung"] != nil: // the Production rung judging recorded evidence
		parts = append(parts, fmt.Sprintf("%v rung", in["rung"]))
	case in["hold"] != nil: // the Shadow rung's own hold
		parts = append(parts, fmt.Sprintf("shadow hold %v", in["hold"]))
	}
	if ev, ok := in["evidence"].(map[string]any); ok {
		parts = append(parts, fmt.Sprintf("%.3gh %v req err %.3g p99 %.4gms", f(ev["duration_hours"]), ev["requests"],
			f(ev["error_rate"]), f(ev["latency_p99_ms"])))
	}
	if wt, ok := in["weight"]; ok {
		parts = append(parts, fmt.Sprintf("at %v%%", wt))
	}
	for _, role := range []string{"canary", "stable"} {
		if s, ok := in[role].(map[string]any); ok {
			p99 := fmt.Sprintf("p99 %.4gms", f(s["p99_ms"]))
			switch {
			case s["no_data"] == true:
				p99 = "no data"
			case s["no_latency"] == true:
				p99 = "no latency data"
			}
			parts = append(parts, fmt.Sprintf("%s %.0f req err %.3g %s", role, f(s["requests"]), f(s["error_rate"]), p99))
		}
	}
	if v, ok := in["canary_weight_read_back"]; ok {
		parts = append(parts, fmt.Sprintf("canary weight read back %v%%", v))
	}
	if v, ok := in["verdict"].(map[string]any); ok { // a drift judgement: each feature's PSI over its inputs
		fs, _ := v["features"].([]any)
		for _, x := range fs {
			if fr, ok := x.(map[string]any); ok {
				parts = append(parts, fmt.Sprintf("%v PSI %.3g/%.0f", fr["feature"], f(fr["psi"]), f(fr["total"])))
			}
		}
	}
	return strings.Join(parts, "; ")
}

func f(v any) float64 {
	x, _ := v.(float64)
	return x
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
