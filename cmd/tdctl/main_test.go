package main

import (
	"strings"
	"testing"
	"time"

	"github.com/temporaldeployer/temporaldeployer/approval"
	"github.com/temporaldeployer/temporaldeployer/contract"
)

// TestNumbers: the table names which rung judged shadow evidence and never prints a p99 that was
// not measured.
func TestNumbers(t *testing.T) {
	ev := map[string]any{"duration_hours": 24.0, "requests": 1200.0, "error_rate": 0.001, "latency_p99_ms": 42.0}
	for _, tc := range []struct {
		name string
		in   map[string]any
		want string
	}{
		{"shadow rung", map[string]any{"evidence": ev, "hold": "24h0m0s"}, "shadow hold 24h0m0s; 24h 1200 req err 0.001 p99 42ms"},
		{"production rung", map[string]any{"evidence": ev, "rung": "Production"}, "Production rung; 24h 1200 req err 0.001 p99 42ms"},
		{"canary step", map[string]any{"weight": 20.0,
			"canary": map[string]any{"requests": 50.0, "error_rate": 1.0, "no_latency": true},
			"stable": map[string]any{"requests": 0.0, "no_data": true}},
			"at 20%; canary 50 req err 1 no latency data; stable 0 req err 0 no data"},
		{"rollback verified", map[string]any{"canary_weight_read_back": 0.0}, "canary weight read back 0%"},
		{"drift", map[string]any{"verdict": map[string]any{"features": []any{
			map[string]any{"feature": "f0", "psi": 1.9481, "total": 2204.0}, map[string]any{"feature": "f1", "psi": 0.0055, "total": 2204.0}}}},
			"f0 PSI 1.95/2204; f1 PSI 0.0055/2204"},
	} {
		if got := numbers(tc.in); got != tc.want {
			t.Errorf("%s: numbers = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestListQuery: each flag adds one clause; a quote in a value cannot end the string.
func TestListQuery(t *testing.T) {
	for _, tc := range []struct {
		name, env string
		open      bool
		want      string
	}{
		{"", "", false, "WorkflowType = 'ModelDeployment'"},
		{"fraud", "production", true, "WorkflowType = 'ModelDeployment' AND DeploymentName = 'fraud' AND TargetEnvironment = 'production' AND ExecutionStatus = 'Running'"},
		{"x' OR '1'='1", "", false, "WorkflowType = 'ModelDeployment' AND DeploymentName = 'x OR 1=1'"},
	} {
		if got := listQuery(tc.name, tc.env, tc.open); got != tc.want {
			t.Errorf("listQuery(%q, %q, %v) = %q, want %q", tc.name, tc.env, tc.open, got, tc.want)
		}
	}
}

// TestPrintStatus: what an operator reads while a run waits for approvals.
func TestPrintStatus(t *testing.T) {
	until := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	st := contract.Status{WorkflowID: "w1", Action: contract.ActionDeploy, Environment: contract.EnvProduction, Node: "validate_promotion",
		Stage: contract.StageShadow, ModelVersion: "3", WaitingFor: "approval", WaitingUntil: &until, ApprovalsRequired: 2,
		ApprovalRequest:   &approval.Binding{WorkflowID: "w1", RunID: "r1", ModelName: "fraud", ModelVersion: "3", Environment: "production", Action: "deploy"},
		Approvals:         []contract.ApprovalRecord{{Approver: "alice@example.com", Environment: contract.EnvProduction, Via: "update", At: until, Comment: "ok"}},
		RejectedApprovals: 1, IgnoredSignals: 1}
	var b strings.Builder
	printStatus(&b, st)
	for _, want := range []string{"waiting for approval until 2026-12-05T12:00:00Z", "approval request: deploy fraud v3 for production, 2 approval(s) needed; run r1",
		"approved for production by alice@example.com via update", "rejected approvals 1"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, b.String())
		}
	}
}
