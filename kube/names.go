package kube

import (
	"regexp"
	"strings"
)

// Label and annotation keys. The app.kubernetes.io labels are Kubernetes' recommended ones.
const (
	LabelName      = "app.kubernetes.io/name"
	LabelInstance  = "app.kubernetes.io/instance"
	LabelComponent = "app.kubernetes.io/component"
	LabelPartOf    = "app.kubernetes.io/part-of"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelVersion   = "app.kubernetes.io/version"
	LabelEnv       = "temporaldeployer.io/environment"
	LabelRole      = "temporaldeployer.io/role"
	LabelModel     = "temporaldeployer.io/model"
	LabelModelVer  = "temporaldeployer.io/model-version"
	LabelStage     = "temporaldeployer.io/stage"

	AnnotationDeploymentID = "temporaldeployer.io/deployment-id"
	AnnotationWorkflowID   = "temporaldeployer.io/workflow-id"
	AnnotationModelName    = "temporaldeployer.io/model-name"
	AnnotationImage        = "temporaldeployer.io/image"
	AnnotationSpec         = "temporaldeployer.io/spec" // the Spec as JSON, so Current can read it back

	// FieldManager owns every field this backend applies (server-side apply).
	FieldManager = "temporaldeployer"
	// ServerPort is the model server's port in the pod (BentoML's default).
	ServerPort = 3000
)

// instance names an environment's objects: <deployment>-<environment>.
func instance(deploymentName, environment string) string { return deploymentName + "-" + environment }

// WorkloadName is the Deployment of a role: the stable (or shadow) workload carries the instance
// name, the canary gets "-canary".
func WorkloadName(deploymentName, environment string, role Role) string {
	if role == RoleCanary {
		return instance(deploymentName, environment) + "-canary"
	}
	return instance(deploymentName, environment)
}

// ServiceName is the Service in front of an environment (stable and canary pods alike).
func ServiceName(deploymentName, environment string) string {
	return instance(deploymentName, environment)
}

// DefaultRouteDomain is the hostname suffix routes match when none is configured.
const DefaultRouteDomain = "models.internal"

// RouteHostname is the one hostname a deployment's environment route matches.
func RouteHostname(deploymentName, environment, domain string) string {
	return deploymentName + "." + environment + "." + domain
}

// RoleServiceName is the Service of one role, the backend a Gateway API route weights.
func RoleServiceName(deploymentName, environment string, role Role) string {
	return instance(deploymentName, environment) + "-" + string(role)
}

var labelUnsafe = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// labelValue makes s a valid label value: allowed characters, at most 63, alnum at both ends.
func labelValue(s string) string {
	v := labelUnsafe.ReplaceAllString(s, "-")
	if len(v) > 63 {
		v = v[:63]
	}
	return strings.Trim(v, "-_.")
}

// selector picks an environment's pods of one role.
func selector(s Spec) map[string]string {
	return map[string]string{
		LabelName: s.DeploymentName, LabelInstance: instance(s.DeploymentName, s.Environment), LabelRole: string(s.Role),
	}
}

// envSelector picks every pod of an environment, whatever its role.
func envSelector(deploymentName, environment string) map[string]string {
	return map[string]string{LabelName: deploymentName, LabelInstance: instance(deploymentName, environment)}
}

func labels(s Spec) map[string]string {
	return map[string]string{
		LabelName: s.DeploymentName, LabelInstance: instance(s.DeploymentName, s.Environment),
		LabelComponent: "model-server", LabelPartOf: "temporaldeployer", LabelManagedBy: FieldManager,
		LabelVersion: labelValue(s.ModelVersion), LabelEnv: s.Environment, LabelRole: string(s.Role),
		LabelModel: labelValue(s.ModelName), LabelModelVer: labelValue(s.ModelVersion), LabelStage: labelValue(s.Stage),
	}
}

// envLabels label what an environment shares between roles (its Service, its route).
func envLabels(s Spec) map[string]string {
	return map[string]string{
		LabelName: s.DeploymentName, LabelInstance: instance(s.DeploymentName, s.Environment),
		LabelComponent: "model-server", LabelPartOf: "temporaldeployer", LabelManagedBy: FieldManager, LabelEnv: s.Environment,
	}
}

func annotations(s Spec, specJSON string) map[string]string {
	return map[string]string{
		AnnotationDeploymentID: s.DeploymentID, AnnotationWorkflowID: s.WorkflowID,
		AnnotationModelName: s.ModelName, AnnotationImage: s.Image, AnnotationSpec: specJSON,
	}
}
