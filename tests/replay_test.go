package tests

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/tests/realparts"
	"github.com/temporaldeployer/temporaldeployer/workflows"
)

// replay runs the current workflow code over a history recorded on the real server (a crash,
// a restart, a signal and all): any non-determinism fails it.
func (e *env) replay(t *testing.T, workflowID string) {
	replayRecorded(t, e.tp, workflowID, "promote_production_crash.json")
}

// replayRecorded replays a run's history from the server through the current code and, with
// RECORD_HISTORY_DIR set (and a name), writes it there as name for workflows/testdata.
func replayRecorded(t *testing.T, tp *realparts.Temporal, workflowID, name string) {
	t.Helper()
	ctx := context.Background()
	it := tp.Client.GetWorkflowHistory(ctx, workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, ev)
	}
	// Replayed as the execution it is (a signed approval is bound to its IDs), and recorded with them.
	exec := workflow.Execution{ID: workflowID,
		RunID: h.Events[0].GetWorkflowExecutionStartedEventAttributes().GetOriginalExecutionRunId()}
	if dir := os.Getenv("RECORD_HISTORY_DIR"); dir != "" && name != "" {
		out := tp.CLI(t, "workflow", "show", "--workflow-id", workflowID, "--output", "json")
		ids, _ := json.Marshal(exec)
		base := filepath.Join(dir, strings.TrimSuffix(name, ".json"))
		if err := errors.Join(os.WriteFile(base+".json", []byte(out), 0o644), os.WriteFile(base+".execution", ids, 0o644)); err != nil {
			t.Fatal(err)
		}
	}
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(workflows.ModelDeployment, workflow.RegisterOptions{Name: contract.WorkflowType})
	if err := r.ReplayWorkflowHistoryWithOptions(nil, h, worker.ReplayWorkflowHistoryOptions{OriginalExecution: exec}); err != nil {
		t.Fatalf("replay of %s (%d events): %v", workflowID, len(h.Events), err)
	}
}
