package contract

// The evidence ledger's public words: every decision names its gate, its verdict and where its
// numbers came from. Auditors and CI read them, so they are as stable as the error types.

// Ledger gates.
const (
	GateSuccessCriteria  = "success_criteria"
	GateStageLadder      = "stage_ladder"
	GateStageChange      = "stage_change"
	GateShadowCriteria   = "shadow_criteria"
	GateShadowEvidence   = "shadow_evidence" // which shadow evidence the Production rung used
	GateApproval         = "approval"
	GateArtifact         = "artifact"
	GateHealthCheck      = "health_check"
	GateCanaryPolicy     = "canary_policy"
	GateCanaryAnalysis   = "canary_analysis"
	GateRollback         = "rollback"
	GateRollbackVerified = "rollback_verified"
	GateRunOutcome       = "run_outcome"
	// GateDrift: the shadow hold's input drift judgement (PSI per feature against the model's
	// reference profile); verdict passed, blocked (seed 004's annotation: the rollout stops),
	// inconclusive or skipped (no profile, where the policy allows that).
	GateDrift = "drift"
)

// Ledger verdicts.
const (
	VerdictAllowed      = "allowed"
	VerdictDenied       = "denied"
	VerdictPassed       = "passed"
	VerdictFailed       = "failed"
	VerdictInconclusive = "inconclusive"
	VerdictApproved     = "approved"
	VerdictTimedOut     = "timed_out"
	VerdictWaived       = "waived"
	VerdictPublished    = "published"
	VerdictPromoted     = "promoted"
	VerdictReverted     = "reverted"
	VerdictRestored     = "restored"
	VerdictArchived     = "archived" // a stage_change: the predecessor left Production for Archived
	VerdictAborted      = "aborted"
	VerdictFound        = "found"
	VerdictRejected     = "rejected" // an approval that did not verify or did not fit what the run awaited
	VerdictExpired      = "expired"  // an approval that verified but expired before the wait ended; it did not count
	// VerdictCompensationFailed: a run_outcome whose compensation gave up (CompensationFailed).
	VerdictCompensationFailed = "compensation_failed"
	VerdictBlocked            = "blocked" // a drift judgement that stopped the rollout
	VerdictSkipped            = "skipped" // a gate that did not run, with the reason
)

// Evidence sources (DESIGN: "every gate decision records where its numbers came from").
const (
	SourceMeasured       = "measured" // the project's own metrics: Prometheus over the real model servers
	SourceCallerSupplied = "caller-supplied"
	SourceRegistry       = "registry"
	SourceRecords        = "records" // the deployer's own store (known-good rows, earlier ledger entries)
	SourceSignal         = "signal"
	SourceSigned         = "signed" // an approval verified against the worker's approver policy
	SourcePolicy         = "policy"
	SourcePackager       = "packager"
	SourceWorkflow       = "workflow"
	SourceProbe          = "probe" // an HTTP probe of the workload (readiness, synthetic inference)
)
