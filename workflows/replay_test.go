package workflows

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/temporaldeployer/temporaldeployer/contract"
)

// TestReplayRecordedHistories replays histories recorded on a real dev server (tests/, with
// RECORD_HISTORY_DIR set) through the current code: a change that breaks determinism for runs
// already in flight fails here. Regenerate only on purpose, with a workflow.GetVersion guard.
//
// A history recorded with its execution beside it (<name>.execution: the workflow and run ID)
// replays as that execution: a signed approval is bound to them, and the replayer would otherwise
// give the run an ID of its own.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no recorded histories in testdata/: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(ModelDeployment, workflow.RegisterOptions{Name: contract.WorkflowType})
			in, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			h, err := client.HistoryFromJSON(in, client.HistoryJSONOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var opts worker.ReplayWorkflowHistoryOptions
			if b, err := os.ReadFile(strings.TrimSuffix(f, ".json") + ".execution"); err == nil {
				if err := json.Unmarshal(b, &opts.OriginalExecution); err != nil {
					t.Fatalf("%s.execution: %v", f, err)
				}
			}
			if err := r.ReplayWorkflowHistoryWithOptions(nil, h, opts); err != nil {
				t.Fatal(err)
			}
		})
	}
}
