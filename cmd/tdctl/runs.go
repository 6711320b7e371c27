package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	"go.temporal.io/sdk/temporal"

	"github.com/temporaldeployer/temporaldeployer/approval"
	"github.com/temporaldeployer/temporaldeployer/config"
	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/host"
	"github.com/temporaldeployer/temporaldeployer/telemetry"
)

// The commands that talk to a run through Temporal. They connect as the worker does (host.Dial:
// the SDK's environment configuration, TEMPORAL_* variables and temporal.toml profiles), and trace
// their calls as it does when OTEL_EXPORTER_OTLP_ENDPOINT is set, so an approval or an abort joins
// the run's trace.

// dial connects to Temporal with the worker's configuration; stop flushes the spans and closes.
func dial(ctx context.Context, stderr io.Writer) (c client.Client, stop func(), ok bool) {
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		fmt.Fprintln(stderr, "tdctl: configuration:", err)
		return nil, nil, false
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	tel, err := telemetry.Start(ctx, cfg.Telemetry, telemetry.Options{Service: telemetry.ServiceTDCtl, Log: log})
	if err != nil {
		fmt.Fprintln(stderr, "tdctl: telemetry:", err)
		return nil, nil, false
	}
	flush := func() {
		fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tel.Shutdown(fctx); err != nil {
			fmt.Fprintln(stderr, "tdctl: telemetry:", err)
		}
	}
	c, err = host.Dial(ctx, cfg, envconfig.EnvLookupOS, log, tel)
	if err != nil {
		flush()
		fmt.Fprintln(stderr, "tdctl:", err)
		return nil, nil, false
	}
	return c, func() { c.Close(); flush() }, true
}

// withClient connects and runs fn with a context bounded by timeout; a failure to connect is exit 1.
func withClient(stderr io.Writer, timeout time.Duration, fn func(ctx context.Context, c client.Client) int) int {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, stop, ok := dial(ctx, stderr)
	if !ok {
		return 1
	}
	defer stop()
	return fn(ctx, c)
}

// runStatus asks a run for its status query.
func runStatus(ctx context.Context, c client.Client, id string) (contract.Status, error) {
	var st contract.Status
	v, err := c.QueryWorkflow(ctx, id, "", contract.QueryStatus)
	if err != nil {
		return st, err
	}
	return st, v.Get(&st)
}

// approve signs the approval claims for what the run awaits now and sends them as the `approve`
// Update (or, with -signal, the signal), printing accepted or why it was rejected.
func approve(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("approve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	keyPath := fs.String("key", "", "the approver's private JWK file (tdctl keygen)")
	approver := fs.String("approver", "", "the approver's identity, as the worker's approver policy names it")
	comment := fs.String("comment", "", "why, for the evidence ledger")
	ttl := fs.Duration("ttl", 10*time.Minute, "how long the approval is valid (at most the policy's max_age)")
	asSignal := fs.Bool("signal", false, "send the `approve` signal (no answer) instead of the Update")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 || *keyPath == "" || *approver == "" {
		fmt.Fprintln(stderr, "tdctl approve: want -key FILE -approver ID and exactly one WORKFLOW_ID")
		return 2
	}
	key, err := approval.ReadKey(*keyPath)
	if err != nil {
		fmt.Fprintln(stderr, "tdctl approve: -key:", err)
		return 2
	}
	claims := approval.Claims{Approver: *approver, Comment: *comment}
	return withClient(stderr, time.Minute, func(ctx context.Context, c client.Client) int {
		id := fs.Arg(0)
		st, err := runStatus(ctx, c, id)
		if err != nil {
			fmt.Fprintf(stderr, "tdctl approve: status of %s: %v\n", id, err)
			return 1
		}
		if st.WaitingFor != contract.WaitingForApproval || st.ApprovalRequest == nil {
			fmt.Fprintf(stderr, "tdctl approve: %s is not waiting for an approval (node %s, waiting for %q)\n", id, st.Node, st.WaitingFor)
			return 1
		}
		b, now := *st.ApprovalRequest, time.Now()
		claims.Binding, claims.IssuedAt, claims.Expiry = b, now.Unix(), now.Add(*ttl).Unix()
		tok, err := approval.Sign(key, claims)
		if err != nil {
			fmt.Fprintln(stderr, "tdctl approve: sign:", err)
			return 1
		}
		fmt.Fprintf(stdout, "approving %s %s v%s for %s (%s of %s, run %s) as %s\n", b.Action, b.ModelName, b.ModelVersion,
			b.Environment, b.DeploymentName, b.WorkflowID, b.RunID, *approver)
		payload := contract.ApproveSignal{Token: tok, Approver: *approver, Comment: *comment}
		if *asSignal {
			if err := c.SignalWorkflow(ctx, id, b.RunID, contract.SignalApprove, payload); err != nil {
				fmt.Fprintln(stderr, "tdctl approve: signal:", err)
				return 1
			}
			fmt.Fprintln(stdout, "sent as a signal: see `tdctl status` for whether it counted")
			return 0
		}
		return sendApproval(ctx, c, id, b.RunID, payload, stdout, stderr)
	})
}

// sendApproval sends the `approve` Update and prints its answer: 0 accepted, 1 rejected or failed.
func sendApproval(ctx context.Context, c client.Client, id, runID string, payload contract.ApproveSignal, stdout, stderr io.Writer) int {
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: id, RunID: runID,
		UpdateName: contract.UpdateApprove, Args: []any{payload}, WaitForStage: client.WorkflowUpdateStageCompleted})
	var res contract.ApprovalResult
	if err == nil {
		err = h.Get(ctx, &res)
	}
	var app *temporal.ApplicationError
	switch {
	case errors.As(err, &app) && app.Type() == contract.ErrApprovalRejected:
		fmt.Fprintln(stdout, "rejected:", app.Message())
		return 1
	case err != nil:
		fmt.Fprintln(stderr, "tdctl approve: update:", err)
		return 1
	}
	fmt.Fprintf(stdout, "accepted: approvals %d of %d\n", res.Approvals, res.Required)
	return 0
}

// abort sends the `abort` signal: open to anyone who can signal, recording who asked.
func abort(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("abort", flag.ContinueOnError)
	fs.SetOutput(stderr)
	by := fs.String("by", os.Getenv("USER"), "who asks (recorded)")
	reason := fs.String("reason", "", "why (recorded)")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 || *reason == "" || *by == "" {
		fmt.Fprintln(stderr, "tdctl abort: want -reason TEXT [-by WHO] and exactly one WORKFLOW_ID")
		return 2
	}
	return withClient(stderr, 30*time.Second, func(ctx context.Context, c client.Client) int {
		if err := c.SignalWorkflow(ctx, fs.Arg(0), "", contract.SignalAbort, contract.AbortSignal{Reason: *reason, RequestedBy: *by}); err != nil {
			fmt.Fprintln(stderr, "tdctl abort:", err)
			return 1
		}
		fmt.Fprintf(stdout, "abort sent to %s by %s: %s\n", fs.Arg(0), *by, *reason)
		return 0
	})
}

// status prints a run's status query, readable (or as JSON).
func status(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the status query's JSON")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		fmt.Fprintln(stderr, "tdctl status: want exactly one WORKFLOW_ID")
		return 2
	}
	return withClient(stderr, 30*time.Second, func(ctx context.Context, c client.Client) int {
		st, err := runStatus(ctx, c, fs.Arg(0))
		if err != nil {
			fmt.Fprintln(stderr, "tdctl status:", err)
			return 1
		}
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return boolExit(enc.Encode(st) == nil)
		}
		printStatus(stdout, st)
		return 0
	})
}

func printStatus(w io.Writer, st contract.Status) {
	fmt.Fprintf(w, "%s: %s to %s, node %s, stage %s, version %s, canary %d%%\n", st.WorkflowID, st.Action, st.Environment,
		st.Node, st.Stage, st.ModelVersion, st.CanaryWeight)
	if st.WaitingFor != "" && st.WaitingUntil != nil {
		fmt.Fprintf(w, "waiting for %s until %s\n", st.WaitingFor, st.WaitingUntil.Format(time.RFC3339))
	}
	if r := st.ApprovalRequest; r != nil {
		fmt.Fprintf(w, "approval request: %s %s v%s for %s, %d approval(s) needed; run %s\n", r.Action, r.ModelName,
			r.ModelVersion, r.Environment, st.ApprovalsRequired, r.RunID)
	}
	for _, a := range st.Approvals {
		fmt.Fprintf(w, "approved for %s by %s via %s at %s: %s\n", a.Environment, a.Approver, a.Via, a.At.Format(time.RFC3339), a.Comment)
	}
	if st.RejectedApprovals > 0 || st.IgnoredSignals > 0 {
		fmt.Fprintf(w, "rejected approvals %d, ignored signals %d\n", st.RejectedApprovals, st.IgnoredSignals)
	}
	if st.Abort != nil {
		fmt.Fprintf(w, "abort by %s: %s\n", st.Abort.RequestedBy, st.Abort.Reason)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "AT\tNODE\tRUNG\tOUTCOME\tDETAIL")
	for _, n := range st.Nodes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", n.At.Format("15:04:05"), n.Node, n.Rung, n.Outcome, clip(n.Detail, 100))
	}
	tw.Flush()
}

// list lists deployment runs by the search attributes the workflow keeps.
func list(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("deployment", "", "only this deployment_name")
	env := fs.String("environment", "", "only this target environment")
	open := fs.Bool("open", false, "only runs still running")
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "tdctl list: takes only flags")
		return 2
	}
	q := listQuery(*name, *env, *open)
	return withClient(stderr, 30*time.Second, func(ctx context.Context, c client.Client) int {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q, PageSize: 100})
		if err != nil {
			fmt.Fprintf(stderr, "tdctl list: %s: %v\n", q, err)
			return 1
		}
		printRuns(stdout, resp.GetExecutions())
		return 0
	})
}

// printRuns prints one line a run, with the search attributes the workflow keeps.
func printRuns(w io.Writer, runs []*workflowpb.WorkflowExecutionInfo) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WORKFLOW ID\tSTATUS\tDEPLOYMENT\tTARGET\tVERSION\tSTAGE\tSTARTED")
	for _, e := range runs {
		sa := e.GetSearchAttributes().GetIndexedFields()
		kw := func(k string) string {
			var s string
			if p, ok := sa[k]; ok {
				_ = json.Unmarshal(p.GetData(), &s)
			}
			return s
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.GetExecution().GetWorkflowId(), statusWord(e.GetStatus()),
			kw("DeploymentName"), kw("TargetEnvironment"), kw("ModelVersion"), kw("DeploymentStage"),
			e.GetStartTime().AsTime().Format(time.RFC3339))
	}
	tw.Flush()
}

// listQuery is the visibility query for list's flags.
func listQuery(name, env string, open bool) string {
	parts := []string{fmt.Sprintf("WorkflowType = '%s'", contract.WorkflowType)}
	if name != "" {
		parts = append(parts, fmt.Sprintf("DeploymentName = '%s'", strings.ReplaceAll(name, "'", "")))
	}
	if env != "" {
		parts = append(parts, fmt.Sprintf("TargetEnvironment = '%s'", strings.ReplaceAll(env, "'", "")))
	}
	if open {
		parts = append(parts, "ExecutionStatus = 'Running'")
	}
	return strings.Join(parts, " AND ")
}

func statusWord(s enums.WorkflowExecutionStatus) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "WORKFLOW_EXECUTION_STATUS_"))
}

func boolExit(ok bool) int {
	if ok {
		return 0
	}
	return 1
}
