package workflows

import "go.temporal.io/sdk/workflow"

// Workflow changes that runs already in flight may replay are patched with workflow.GetVersion;
// the replay tests keep a recorded history of the paths before and after each.
const (
	// changeGates: the shadow hold measures the shadow workload (HoldShadow), Production needs
	// measured evidence (FindShadowEvidence), canary steps are judged on metrics (MeasureCanary),
	// compensation cannot be aborted. Runs started earlier keep the caller-supplied evidence, the
	// timer hold and the probe-only canary analysis (legacy.go).
	changeGates   = "gates-measured"
	gatesMeasured = workflow.Version(1)
	// gatesCanaryWatched: a canary step probes its canary as soon as the weight is set, and its
	// hold is one activity (WatchCanary) that samples on the way and ends the step at the first
	// sample breaking a hard limit. Runs at gatesMeasured keep the timer hold (analyseTimedStep).
	gatesCanaryWatched = workflow.Version(2)
	// gatesOwnedOnly: before it changes an environment, a run reads what the cluster runs there.
	// With no known-good row in the store, a stable the cluster runs is canaried against (not
	// overwritten), and compensation puts back what ran before the run instead of removing the
	// environment: a run only ever removes what it created. A step's p99 is judged at the end of
	// its hold only over rules.P99MinRequests canary requests, as during it (fewer: inconclusive).
	gatesOwnedOnly = workflow.Version(3)
	// gatesP99Tail: the p99 at the end of a hold is judged only over rules.P99MinRequests (200)
	// canary requests, so one slow request cannot fail a step; runs at gatesOwnedOnly keep 100.
	gatesP99Tail = workflow.Version(4)
	// gatesRungLocks: a deploy also holds the lock of each environment below its target while it
	// changes it (locks.go); runs before it hold only the target's. And the relative p99 bar needs
	// the canary's p99 also rules.AnalysisCriteria.P99ToleranceMS above stable's (0 before).
	gatesRungLocks = workflow.Version(5)
	// gatesApprovalsSigned: an approval is a signed token verified against the worker's approver
	// policy (approvals.go), by Update or signal; every environment the policy names waits for its
	// approvals, a production rollback too, and rejected approvals go to the ledger. Runs before it
	// take the approver's name as sent (onApprove). And a failed run's compensation retries only
	// until the policy's compensation timeout, then ends the run with CompensationFailed, recorded
	// (before: unbounded, and a refused step ended it with no outcome recorded).
	gatesApprovalsSigned = workflow.Version(6)
	// gatesGovernance: before anything moves, validate_promotion reads the version's registry
	// evidence and judges it with seed 003's R1, R10 and R12 where the governance policy applies,
	// and R11's drift reference profile where the drift policy needs it (governance.go);
	// package_model judges the bento's requirements (R12); the shadow hold judges input drift (PSI
	// per feature) at its end and a drifted shadow stops the run with DriftDetected (drift.go).
	// Every finding goes to the ledger. Runs before it deploy without them.
	gatesGovernance = workflow.Version(7)
	// gatesFastAbort: an abort during a measured hold (the shadow's, a canary step's) goes to the
	// compensation without waiting for the cancelled hold, which only reads, to stop; and the
	// compensation restores what the cluster ran before the run first, without reading the store
	// first when it knows that already. Runs before it wait for the hold's next heartbeat (up to
	// 10 s) and read the last known-good row before every restore.
	gatesFastAbort = workflow.Version(8)
	// gatesInputReach: a run's model_uri must use a scheme of the worker's policy (by default the
	// registry's own: runs, models, mlflow-artifacts) and carry no credentials, query or fragment
	// (request_reach.go). Runs before it accepted file://, bare paths, http(s):// and buckets.
	gatesInputReach = workflow.Version(9)
	// gatesLatest is what new runs get.
	gatesLatest = gatesInputReach
)

// changeAbortUndecodable: an abort whose payload does not decode aborts the run (asked for only
// when one arrives). Before, the SDK dropped it and the run went on.
const (
	changeAbortUndecodable   = "abort-undecodable"
	abortUndecodableHonoured = workflow.Version(1)
)

// gatesVersion records (or replays) which gates this run uses.
func gatesVersion(ctx workflow.Context) workflow.Version {
	return workflow.GetVersion(ctx, changeGates, workflow.DefaultVersion, gatesLatest)
}
