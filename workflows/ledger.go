package workflows

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/temporaldeployer/temporaldeployer/store"
)

// ledger numbers this run's evidence-ledger entries: keys are unique within the run (run ID +
// sequence), so a retried write is a no-op.
type ledger struct {
	seq int
}

func (l *ledger) key(info *workflow.Info, gate string) string {
	l.seq++
	return fmt.Sprintf("%s/%s/%03d-%s", info.WorkflowExecution.ID, info.WorkflowExecution.RunID, l.seq, gate)
}

// decision builds a ledger entry with a key unique within this run, so a retried write is a no-op.
func (w *run) decision(ctx workflow.Context, gate, verdict, reason, source, actor string, inputs map[string]any) store.Decision {
	return store.Decision{
		Key:        w.ledger.key(w.info, gate),
		WorkflowID: w.info.WorkflowExecution.ID,
		RunID:      w.info.WorkflowExecution.RunID,
		Deployment: w.req.DeploymentName,
		Gate:       gate, Verdict: verdict, Reason: reason, Source: source, Actor: actor,
		Inputs:    inputs,
		DecidedAt: workflow.Now(ctx).UTC(),
		ModelName: w.version.Name, ModelVersion: w.version.Version,
	}
}

// record writes ledger decisions (and optionally rows) in one transaction.
func (w *run) record(ctx workflow.Context, c store.Change) error {
	return w.exec(ctx, short(recordSummary(c)), a.Record, c, nil)
}

// recordSummary names what a record writes, for the Web UI: "record: stage_ladder allowed; …".
func recordSummary(c store.Change) string {
	var parts []string
	for _, d := range c.Decisions {
		parts = append(parts, d.Gate+" "+d.Verdict)
	}
	if c.Deployment != nil {
		parts = append(parts, "deployment "+c.Deployment.Status)
	}
	if c.Registry != nil {
		parts = append(parts, "registry "+c.Registry.Stage)
	}
	return "record: " + strings.Join(parts, "; ")
}
