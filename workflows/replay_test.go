package workflows

import (
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/temporaldeployer/temporaldeployer/contract"
)

// TestReplayRecordedHistories replays histories recorded on a real dev server (tests/, with
// RECORD_HISTORY_DIR set) through the current code: a change that breaks determinism for runs
// already in flight fails here. Regenerate only on purpose, with a workflow.GetVersion guard.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no recorded histories in testdata/: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(ModelDeployment, workflow.RegisterOptions{Name: contract.WorkflowType})
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatal(err)
			}
		})
	}
}
