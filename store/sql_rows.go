package store

import (
	"fmt"
	"slices"
	"strings"
)

// Column lists, in the order the args and scan functions below use. ml_deployments keeps seed
// 000's column names: model_version_id holds Deployment.ModelVersion, target_stage holds Stage.
var (
	deploymentColumns = []string{
		"deployment_id", "deployment_name", "environment", "model_name", "model_version_id",
		"experiment_id", "target_stage", "endpoint_name", "endpoint_url", "status", "replicas",
		"cpu_limit", "memory_limit", "autoscaling", "bento_tag", "image", "manifest", "workflow_id",
		"run_id", "deployed_by", "deployed_at", "deployment_duration_seconds", "health_passed",
	}
	registryColumns = []string{
		"registered_model_name", "version", "experiment_id", "model_uri", "stage", "deployment_id",
		"deployed_at", "updated_at",
	}
	decisionColumns = []string{
		"key", "workflow_id", "run_id", "deployment_name", "gate", "verdict", "reason", "inputs",
		"source", "actor", "decided_at", "model_name", "model_version",
	}
)

// rowScanner is *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

func (d dialect) deploymentArgs(dep Deployment) ([]any, error) {
	autoscaling, err := jsonArg(dep.Autoscaling)
	if err != nil {
		return nil, fmt.Errorf("autoscaling: %w", err)
	}
	manifest, err := jsonArg(dep.Manifest)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	return []any{
		dep.DeploymentID, dep.DeploymentName, dep.Environment, dep.ModelName, dep.ModelVersion,
		dep.ExperimentID, dep.Stage, dep.EndpointName, dep.EndpointURL, dep.Status, dep.Replicas,
		dep.CPULimit, dep.MemoryLimit, autoscaling, dep.BentoTag, dep.Image, manifest, dep.WorkflowID,
		dep.RunID, dep.DeployedBy, d.timeArg(dep.DeployedAt), dep.DurationSeconds, dep.HealthPassed,
	}, nil
}

func scanDeployment(r rowScanner) (Deployment, error) {
	var dep Deployment
	err := r.Scan(
		&dep.DeploymentID, &dep.DeploymentName, &dep.Environment, &dep.ModelName, &dep.ModelVersion,
		&dep.ExperimentID, &dep.Stage, &dep.EndpointName, &dep.EndpointURL, &dep.Status, &dep.Replicas,
		&dep.CPULimit, &dep.MemoryLimit, jsonCol[map[string]any]{&dep.Autoscaling}, &dep.BentoTag,
		&dep.Image, jsonCol[map[string]string]{&dep.Manifest}, &dep.WorkflowID, &dep.RunID,
		&dep.DeployedBy, timeCol{&dep.DeployedAt}, &dep.DurationSeconds, &dep.HealthPassed,
	)
	return dep, err
}

func (d dialect) registryArgs(e RegistryEntry) []any {
	return []any{
		e.RegisteredModelName, e.Version, e.ExperimentID, e.ModelURI, e.Stage,
		nullString(e.DeploymentID), d.nullTimeArg(e.DeployedAt), d.timeArg(e.UpdatedAt),
	}
}

func scanRegistryEntry(r rowScanner) (RegistryEntry, error) {
	var e RegistryEntry
	err := r.Scan(
		&e.RegisteredModelName, &e.Version, &e.ExperimentID, &e.ModelURI, &e.Stage,
		nullStringCol{&e.DeploymentID}, nullTimeCol{&e.DeployedAt}, timeCol{&e.UpdatedAt},
	)
	return e, err
}

func (d dialect) decisionArgs(dec Decision) ([]any, error) {
	inputs, err := jsonArg(dec.Inputs)
	if err != nil {
		return nil, fmt.Errorf("inputs: %w", err)
	}
	return []any{
		dec.Key, dec.WorkflowID, dec.RunID, dec.Deployment, dec.Gate, dec.Verdict, dec.Reason,
		inputs, dec.Source, dec.Actor, d.timeArg(dec.DecidedAt), dec.ModelName, dec.ModelVersion,
	}, nil
}

func scanDecision(r rowScanner) (Decision, error) {
	var dec Decision
	err := r.Scan(
		&dec.Key, &dec.WorkflowID, &dec.RunID, &dec.Deployment, &dec.Gate, &dec.Verdict, &dec.Reason,
		jsonCol[map[string]any]{&dec.Inputs}, &dec.Source, &dec.Actor, timeCol{&dec.DecidedAt}, &dec.ModelName, &dec.ModelVersion,
	)
	return dec, err
}

// SQL text, shared by both dialects (? placeholders, rebound for PostgreSQL).
var (
	upsertDeploymentSQL = upsertSQL("ml_deployments",
		slices.Concat(deploymentColumns, []string{"created_at", "updated_at"}), []string{"deployment_id"}, "created_at")
	upsertRegistrySQL = upsertSQL("ml_model_registry", registryColumns,
		[]string{"registered_model_name", "version"})
	insertDecisionSQL = insertSQL("evidence_ledger", slices.Concat(decisionColumns, sealColumns)) + " ON CONFLICT (key) DO NOTHING"

	selectDeploymentSQL = "SELECT " + strings.Join(deploymentColumns, ", ") + " FROM ml_deployments"
	selectRegistrySQL   = "SELECT " + strings.Join(registryColumns, ", ") + " FROM ml_model_registry"
	selectDecisionSQL   = "SELECT " + strings.Join(decisionColumns, ", ") + " FROM evidence_ledger"
)

func insertSQL(table string, cols []string) string {
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ")
	return "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES (" + marks + ")"
}

// upsertSQL inserts a row or, on a key conflict, overwrites every column but the key and keep.
func upsertSQL(table string, cols, key []string, keep ...string) string {
	fixed := map[string]bool{}
	for _, c := range append(append([]string{}, key...), keep...) {
		fixed[c] = true
	}
	var sets []string
	for _, c := range cols {
		if !fixed[c] {
			sets = append(sets, c+" = excluded."+c)
		}
	}
	return insertSQL(table, cols) + " ON CONFLICT (" + strings.Join(key, ", ") + ") DO UPDATE SET " +
		strings.Join(sets, ", ")
}
