package kube

import (
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	asv2ac "k8s.io/client-go/applyconfigurations/autoscaling/v2"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	policyv1ac "k8s.io/client-go/applyconfigurations/policy/v1"
)

// DefaultProgressDeadline is how long a rollout may make no progress before Kubernetes marks it
// failed (Argo Rollouts' and Kubernetes' default).
const DefaultProgressDeadline = 600 * time.Second

// Objects are what one workload needs, as server-side apply configurations.
type Objects struct {
	Deployment *appsv1ac.DeploymentApplyConfiguration
	Service    *corev1ac.ServiceApplyConfiguration // the environment's Service (stable and canary)
	RoleSvc    *corev1ac.ServiceApplyConfiguration // this role's own Service (a weighted route backend)
	HPA        *asv2ac.HorizontalPodAutoscalerApplyConfiguration
	PDB        *policyv1ac.PodDisruptionBudgetApplyConfiguration
}

// Build turns a checked spec into its objects in namespace ns. replicas is the Deployment's size
// (the router decides it for a canary); progressDeadline is the Deployment's. The stable and
// shadow workloads get an HPA and a PDB.
func Build(s Spec, ns string, replicas int32, progressDeadline time.Duration) (Objects, error) {
	if err := Check(s); err != nil {
		return Objects{}, err
	}
	res, err := resourceList(s.Resources)
	if err != nil {
		return Objects{}, err
	}
	specJSON, err := json.Marshal(s)
	if err != nil {
		return Objects{}, err
	}
	name := WorkloadName(s.DeploymentName, s.Environment, s.Role)
	lbl, ann := labels(s), annotations(s, string(specJSON))
	o := Objects{
		Deployment: appsv1ac.Deployment(name, ns).WithLabels(lbl).WithAnnotations(ann).WithSpec(
			appsv1ac.DeploymentSpec().
				WithReplicas(replicas).
				WithRevisionHistoryLimit(5).
				WithProgressDeadlineSeconds(int32(progressDeadline.Seconds())).
				WithSelector(metav1ac.LabelSelector().WithMatchLabels(selector(s))).
				WithStrategy(appsv1ac.DeploymentStrategy().WithType("RollingUpdate").WithRollingUpdate(
					appsv1ac.RollingUpdateDeployment().WithMaxUnavailable(intstr.FromInt32(0)).WithMaxSurge(intstr.FromInt32(1)))).
				WithTemplate(podTemplate(s, lbl, ann, res))),
		Service: service(ServiceName(s.DeploymentName, s.Environment), ns, envLabels(s), envSelector(s.DeploymentName, s.Environment)),
		RoleSvc: service(RoleServiceName(s.DeploymentName, s.Environment, s.Role), ns, lbl, selector(s)),
	}
	if s.Role != RoleCanary {
		sc := s.Scaling
		o.HPA = asv2ac.HorizontalPodAutoscaler(name, ns).WithLabels(lbl).WithSpec(asv2ac.HorizontalPodAutoscalerSpec().
			WithScaleTargetRef(asv2ac.CrossVersionObjectReference().WithAPIVersion("apps/v1").WithKind("Deployment").WithName(name)).
			WithMinReplicas(int32(sc.MinReplicas)).WithMaxReplicas(int32(sc.MaxReplicas)).
			WithMetrics(asv2ac.MetricSpec().WithType("Resource").WithResource(asv2ac.ResourceMetricSource().
				WithName(corev1.ResourceCPU).WithTarget(asv2ac.MetricTarget().WithType("Utilization").
				WithAverageUtilization(int32(sc.TargetCPUPercent))))))
		o.PDB = policyv1ac.PodDisruptionBudget(name, ns).WithLabels(lbl).WithSpec(policyv1ac.PodDisruptionBudgetSpec().
			WithMaxUnavailable(intstr.FromInt32(1)).WithSelector(metav1ac.LabelSelector().WithMatchLabels(selector(s))))
	}
	return o, nil
}

// StartupBudget is how long a model server may take to load before its liveness probe counts:
// the startupProbe holds the liveness probe back until /livez first answers (a big model loading
// for minutes was killed by its liveness probe and never came up).
const StartupBudget = 10 * time.Minute

const startupPeriod = 5 // seconds

// TmpSizeLimit bounds the model server's writable /tmp (an emptyDir).
const TmpSizeLimit = "1Gi"

func podTemplate(s Spec, lbl, ann map[string]string, res corev1.ResourceList) *corev1ac.PodTemplateSpecApplyConfiguration {
	probe := func(path string, period int32) *corev1ac.ProbeApplyConfiguration {
		return corev1ac.Probe().WithHTTPGet(corev1ac.HTTPGetAction().WithPath(path).WithPort(intstr.FromString("http"))).
			WithPeriodSeconds(period).WithTimeoutSeconds(2).WithFailureThreshold(3)
	}
	podAnn := map[string]string{AnnotationDeploymentID: ann[AnnotationDeploymentID], AnnotationWorkflowID: ann[AnnotationWorkflowID]}
	container := corev1ac.Container().WithName("model-server").WithImage(s.Image).
		WithArgs(s.Args...).
		WithPorts(corev1ac.ContainerPort().WithName("http").WithContainerPort(ServerPort).WithProtocol(corev1.ProtocolTCP)).
		WithEnv(envVars(s)...).
		WithResources(corev1ac.ResourceRequirements().WithRequests(res).WithLimits(res)).
		WithReadinessProbe(probe("/readyz", 5)).
		WithStartupProbe(probe("/livez", startupPeriod).WithFailureThreshold(int32(StartupBudget/time.Second) / startupPeriod)).
		WithLivenessProbe(probe("/livez", 10)).
		WithSecurityContext(corev1ac.SecurityContext().WithAllowPrivilegeEscalation(false).WithRunAsNonRoot(true).
			WithReadOnlyRootFilesystem(true).WithCapabilities(corev1ac.Capabilities().WithDrop("ALL"))).
		WithVolumeMounts(corev1ac.VolumeMount().WithName("tmp").WithMountPath("/tmp"))
	return corev1ac.PodTemplateSpec().WithLabels(lbl).WithAnnotations(podAnn).WithSpec(corev1ac.PodSpec().
		WithServiceAccountName(ModelServiceAccount).WithAutomountServiceAccountToken(false).
		// The root filesystem is read-only: the server writes only to /tmp (BentoML's Prometheus
		// multiprocess directory, Python's temporary files), a size-bounded emptyDir.
		WithVolumes(corev1ac.Volume().WithName("tmp").WithEmptyDir(corev1ac.EmptyDirVolumeSource().
			WithSizeLimit(resource.MustParse(TmpSizeLimit)))).
		WithSecurityContext(corev1ac.PodSecurityContext().WithRunAsNonRoot(true).WithRunAsUser(1000).WithRunAsGroup(1000).
			WithSeccompProfile(corev1ac.SeccompProfile().WithType(corev1.SeccompProfileTypeRuntimeDefault))).
		WithContainers(container))
}

func envVars(s Spec) []*corev1ac.EnvVarApplyConfiguration {
	out := []*corev1ac.EnvVarApplyConfiguration{
		corev1ac.EnvVar().WithName("TD_MAX_BATCH_SIZE").WithValue(fmt.Sprint(s.MaxBatchSize)),
		corev1ac.EnvVar().WithName("TD_MAX_LATENCY_MS").WithValue(fmt.Sprint(s.MaxLatencyMS)),
		corev1ac.EnvVar().WithName("TD_MODEL_VERSION").WithValue(s.ModelVersion),
	}
	for _, e := range s.Env {
		v := corev1ac.EnvVar().WithName(e.Name)
		if e.SecretName != "" {
			v.WithValueFrom(corev1ac.EnvVarSource().WithSecretKeyRef(corev1ac.SecretKeySelector().WithName(e.SecretName).WithKey(e.SecretKey)))
		} else {
			v.WithValue(e.Value)
		}
		out = append(out, v)
	}
	return out
}

// service is a ClusterIP Service: endpoints are not public by default (seed 003).
func service(name, ns string, lbl, sel map[string]string) *corev1ac.ServiceApplyConfiguration {
	return corev1ac.Service(name, ns).WithLabels(lbl).WithSpec(corev1ac.ServiceSpec().
		WithType(corev1.ServiceTypeClusterIP).WithSelector(sel).
		WithPorts(corev1ac.ServicePort().WithName("http").WithPort(80).WithTargetPort(intstr.FromString("http")).WithProtocol(corev1.ProtocolTCP)))
}

func resourceList(r map[string]string) (corev1.ResourceList, error) {
	out := corev1.ResourceList{}
	for k, v := range r {
		q, err := resource.ParseQuantity(v)
		if err != nil {
			return nil, &RefusedError{Rule: "resources", Reason: fmt.Sprintf("resources.%s=%q: %v", k, v, err)}
		}
		out[corev1.ResourceName(k)] = q
	}
	return out, nil
}
