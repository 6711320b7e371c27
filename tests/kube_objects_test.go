package tests

import (
	"strconv"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/temporaldeployer/temporaldeployer/kube"
)

// kubeWant is what seed 000 specifies for an environment's workload.
type kubeWant struct {
	env, stage       string
	role             kube.Role
	replicas         int32
	min, max, target int32
}

var kubeEnvironments = []kubeWant{
	{env: "staging", stage: "Staging", role: kube.RoleStable, replicas: 1, min: 1, max: 3, target: 80},
	{env: "shadow", stage: "Staging", role: kube.RoleShadow, replicas: 2, min: 1, max: 5, target: 80},
	{env: "production", stage: "Production", role: kube.RoleStable, replicas: 3, min: 2, max: 10, target: 70},
}

// TestKubeEnvironmentObjects deploys each environment's workload and reads every object back from
// the API server: Deployment, Services, HPA (autoscaling/v2) and PDB exactly as specified, pods
// Running and Ready on KWOK's nodes; then Restore(nil) removes every object of each environment.
func TestKubeEnvironmentObjects(t *testing.T) {
	t.Parallel()
	e := newKubeEnv(t, "objects", 4*time.Minute)
	opt := e.options(60 * time.Second)
	k := e.backend("replica", true, opt) // a shadow needs the mirror
	const name = "iris"
	for _, w := range kubeEnvironments {
		began := time.Now()
		s := kubeSpec(t, name, w.env, w.role, "1")
		ro, err := k.Deploy(e.ctx, s)
		if err != nil {
			t.Fatalf("deploy %s: %v", w.env, err)
		}
		t.Logf("%-10s deployed and rolled out in %s", w.env, time.Since(began).Round(time.Millisecond))
		e.checkObjects(t, s, w, opt)
		svc := name + "-" + w.env
		if w.role == kube.RoleShadow {
			svc += "-shadow"
		}
		if want := "http://" + svc + "." + e.ns + ".endpoints.invalid"; ro.EndpointURL != want || ro.HealthURL != want+"/readyz" ||
			ro.EndpointName != svc || ro.Replicas != int(w.replicas) {
			t.Errorf("%s rollout %+v; want endpoint %s, %d replicas", w.env, ro, want, w.replicas)
		}
		if w.role == kube.RoleStable {
			cur, found, err := k.Current(e.ctx, name, w.env)
			if err != nil || !found || cur.ModelVersion != "1" || cur.Image != kubeImageV1 || cur.DeploymentID != s.DeploymentID {
				t.Errorf("%s Current = %+v, %v, %v; want the deployed spec", w.env, cur, found, err)
			}
		}
	}

	// Restore with no known-good removes everything the deployment has in the environment.
	for _, w := range kubeEnvironments {
		if _, err := k.Restore(e.ctx, name, w.env, nil); err != nil {
			t.Fatalf("restore(nil) %s: %v", w.env, err)
		}
	}
	e.poll("every object, ReplicaSet and pod removed", time.Minute, func() (bool, error) {
		inv := e.inventory()
		return len(inv) == 0 && len(e.pods(map[string]string{kube.LabelName: name})) == 0, nil
	})
	if inv := e.inventory(); len(inv) != 0 {
		t.Fatalf("left after Restore(nil): %s", fmtInventory(inv))
	}
}

// checkObjects reads an environment's objects back and compares them with the specification.
func (e *kubeEnv) checkObjects(t *testing.T, s kube.Spec, w kubeWant, opt kube.Options) {
	t.Helper()
	name := kube.WorkloadName(s.DeploymentName, s.Environment, s.Role)
	d := e.deployment(name)
	sp := d.Spec
	if *sp.Replicas != w.replicas {
		t.Errorf("%s replicas %d, want %d", name, *sp.Replicas, w.replicas)
	}
	st := sp.Strategy
	if st.Type != appsv1.RollingUpdateDeploymentStrategyType || st.RollingUpdate == nil ||
		*st.RollingUpdate.MaxUnavailable != intstr.FromInt32(0) || *st.RollingUpdate.MaxSurge != intstr.FromInt32(1) {
		t.Errorf("%s strategy %+v; want RollingUpdate maxUnavailable 0 maxSurge 1", name, st)
	}
	if got := *sp.ProgressDeadlineSeconds; got != int32(opt.ProgressDeadline.Seconds()) {
		t.Errorf("%s progressDeadlineSeconds %d, want %v", name, got, opt.ProgressDeadline)
	}
	wantLabels := map[string]string{
		kube.LabelName: s.DeploymentName, kube.LabelInstance: s.DeploymentName + "-" + s.Environment,
		kube.LabelComponent: "model-server", kube.LabelPartOf: "temporaldeployer", kube.LabelManagedBy: "temporaldeployer",
		kube.LabelVersion: s.ModelVersion, kube.LabelModel: s.ModelName, kube.LabelModelVer: s.ModelVersion,
		kube.LabelStage: w.stage, kube.LabelEnv: s.Environment, kube.LabelRole: string(w.role),
	}
	for _, obj := range []struct {
		what   string
		labels map[string]string
	}{{"deployment", d.Labels}, {"pod template", sp.Template.Labels}} {
		for k, v := range wantLabels {
			if obj.labels[k] != v {
				t.Errorf("%s %s label %s=%q, want %q", name, obj.what, k, obj.labels[k], v)
			}
		}
	}
	for _, ann := range []map[string]string{d.Annotations, sp.Template.Annotations} {
		if ann[kube.AnnotationDeploymentID] != s.DeploymentID || ann[kube.AnnotationWorkflowID] != s.WorkflowID {
			t.Errorf("%s annotations %v; want deployment-id %s and workflow-id %s", name, ann, s.DeploymentID, s.WorkflowID)
		}
	}
	for k, v := range sp.Selector.MatchLabels {
		if sp.Template.Labels[k] != v {
			t.Errorf("%s selector %v does not match its template", name, sp.Selector.MatchLabels)
		}
	}
	if sp.Selector.MatchLabels[kube.LabelRole] != string(w.role) {
		t.Errorf("%s selector %v does not pick role %s", name, sp.Selector.MatchLabels, w.role)
	}
	pod := sp.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%s has %d containers", name, len(pod.Containers))
	}
	c := pod.Containers[0]
	if c.Image != s.Image {
		t.Errorf("%s image %s, want %s", name, c.Image, s.Image)
	}
	want := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("256Mi")}
	for _, rl := range []corev1.ResourceList{c.Resources.Requests, c.Resources.Limits} {
		if len(rl) != len(want) || !rl.Cpu().Equal(*want.Cpu()) || !rl.Memory().Equal(*want.Memory()) {
			t.Errorf("%s resources %+v; want requests = limits = %v", name, c.Resources, want)
		}
	}
	for _, p := range []struct {
		what  string
		probe *corev1.Probe
		path  string
	}{{"readiness", c.ReadinessProbe, "/readyz"}, {"liveness", c.LivenessProbe, "/livez"}} {
		if p.probe == nil || p.probe.HTTPGet == nil || p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port != intstr.FromString("http") {
			t.Errorf("%s %s probe %+v; want GET %s on port http", name, p.what, p.probe, p.path)
		}
	}
	if len(c.Ports) != 1 || c.Ports[0].Name != "http" || c.Ports[0].ContainerPort != kube.ServerPort {
		t.Errorf("%s ports %+v", name, c.Ports)
	}
	psc, csc := pod.SecurityContext, c.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Errorf("%s pod security context %+v; want non-root", name, psc)
	}
	if csc == nil || csc.RunAsNonRoot == nil || !*csc.RunAsNonRoot || csc.AllowPrivilegeEscalation == nil ||
		*csc.AllowPrivilegeEscalation || csc.Capabilities == nil || len(csc.Capabilities.Drop) != 1 || csc.Capabilities.Drop[0] != "ALL" {
		t.Errorf("%s container security context %+v; want non-root, no privilege escalation, all capabilities dropped", name, csc)
	}
	env := map[string]corev1.EnvVar{}
	for _, v := range c.Env {
		env[v.Name] = v
	}
	if env["TD_MODEL_VERSION"].Value != s.ModelVersion || env["TD_MAX_BATCH_SIZE"].Value != strconv.Itoa(s.MaxBatchSize) ||
		env["LOG_LEVEL"].Value != "info" {
		t.Errorf("%s env %+v", name, c.Env)
	}
	if ref := env["MLFLOW_TRACKING_TOKEN"].ValueFrom; ref == nil || ref.SecretKeyRef == nil || ref.SecretKeyRef.Name != "mlflow" ||
		env["MLFLOW_TRACKING_TOKEN"].Value != "" {
		t.Errorf("%s credential env %+v; want a Secret reference only", name, env["MLFLOW_TRACKING_TOKEN"])
	}
	// The controllers' side: the rollout is complete and every pod Running and Ready on a KWOK node.
	if ds := d.Status; ds.ObservedGeneration != d.Generation || ds.AvailableReplicas != w.replicas ||
		ds.UpdatedReplicas != w.replicas || ds.ReadyReplicas != w.replicas {
		t.Errorf("%s status %+v; want %d available at generation %d", name, ds, w.replicas, d.Generation)
	}
	pods := e.waitPods(rolePods(s.DeploymentName, s.Environment, w.role), int(w.replicas), s.Image)
	for _, p := range pods {
		if p.Labels[kube.LabelModelVer] != s.ModelVersion || p.Annotations[kube.AnnotationDeploymentID] != s.DeploymentID {
			t.Errorf("pod %s labels %v annotations %v", p.Name, p.Labels, p.Annotations)
		}
	}

	e.checkServices(t, s, w)
	hpa, err := e.cs.AutoscalingV2().HorizontalPodAutoscalers(e.ns).Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("hpa %s: %v", name, err)
	}
	hs := hpa.Spec
	if hs.ScaleTargetRef.Kind != "Deployment" || hs.ScaleTargetRef.Name != name || hs.ScaleTargetRef.APIVersion != "apps/v1" ||
		hs.MinReplicas == nil || *hs.MinReplicas != w.min || hs.MaxReplicas != w.max || len(hs.Metrics) != 1 ||
		hs.Metrics[0].Resource == nil || hs.Metrics[0].Resource.Name != corev1.ResourceCPU ||
		hs.Metrics[0].Resource.Target.AverageUtilization == nil || *hs.Metrics[0].Resource.Target.AverageUtilization != w.target {
		t.Errorf("hpa %s spec %+v; want %d-%d at %d %% CPU", name, hs, w.min, w.max, w.target)
	}
	pdb, err := e.cs.PolicyV1().PodDisruptionBudgets(e.ns).Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("pdb %s: %v", name, err)
	}
	if pdb.Spec.MaxUnavailable == nil || *pdb.Spec.MaxUnavailable != intstr.FromInt32(1) ||
		pdb.Spec.Selector.MatchLabels[kube.LabelRole] != string(w.role) {
		t.Errorf("pdb %s spec %+v", name, pdb.Spec)
	}
	// The disruption controller counts the pods the PDB covers.
	e.poll("pdb "+name+" observed by the disruption controller", 30*time.Second, func() (bool, error) {
		p, err := e.cs.PolicyV1().PodDisruptionBudgets(e.ns).Get(e.ctx, name, metav1.GetOptions{})
		return err == nil && p.Status.ExpectedPods == w.replicas && p.Status.CurrentHealthy == w.replicas, err
	})
}

// checkServices checks the environment's ClusterIP Service (every role's pods) and the role's own.
func (e *kubeEnv) checkServices(t *testing.T, s kube.Spec, w kubeWant) {
	t.Helper()
	inst := s.DeploymentName + "-" + s.Environment
	for _, sv := range []struct {
		name string
		sel  map[string]string
	}{
		{kube.ServiceName(s.DeploymentName, s.Environment), map[string]string{kube.LabelName: s.DeploymentName, kube.LabelInstance: inst}},
		{kube.RoleServiceName(s.DeploymentName, s.Environment, w.role),
			map[string]string{kube.LabelName: s.DeploymentName, kube.LabelInstance: inst, kube.LabelRole: string(w.role)}},
	} {
		svc, err := e.cs.CoreV1().Services(e.ns).Get(e.ctx, sv.name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("service %s: %v", sv.name, err)
		}
		if svc.Spec.Type != corev1.ServiceTypeClusterIP || svc.Spec.ClusterIP == "" || svc.Spec.ClusterIP == corev1.ClusterIPNone {
			t.Errorf("service %s type %s clusterIP %q; want an allocated ClusterIP", sv.name, svc.Spec.Type, svc.Spec.ClusterIP)
		}
		if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 80 || svc.Spec.Ports[0].TargetPort != intstr.FromString("http") {
			t.Errorf("service %s ports %+v; want 80 → http", sv.name, svc.Spec.Ports)
		}
		if len(svc.Spec.Selector) != len(sv.sel) {
			t.Errorf("service %s selector %v, want %v", sv.name, svc.Spec.Selector, sv.sel)
		}
		for k, v := range sv.sel {
			if svc.Spec.Selector[k] != v {
				t.Errorf("service %s selector %v, want %v", sv.name, svc.Spec.Selector, sv.sel)
			}
		}
	}
}
