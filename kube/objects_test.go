package kube

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
)

const testDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// testImage is a digest-pinned reference with a registry host:port and a nested path.
var testImage = "registry.example.com:5000/models/fraud-detector@" + testDigest

// seed000 is seed 000's scaling of each environment.
var seed000 = map[string]Scaling{
	"staging":    {Replicas: 1, MinReplicas: 1, MaxReplicas: 3, TargetCPUPercent: 80},
	"shadow":     {Replicas: 2, MinReplicas: 1, MaxReplicas: 5, TargetCPUPercent: 80},
	"production": {Replicas: 3, MinReplicas: 2, MaxReplicas: 10, TargetCPUPercent: 70},
}

// testSpec is a valid spec of the "fraud" deployment in env, playing role.
func testSpec(env string, role Role) Spec {
	return Spec{
		DeploymentName: "fraud", Environment: env, Role: role, Image: testImage,
		ModelName: "Fraud Detector/v2", ModelVersion: "7", Stage: "Production",
		DeploymentID: "dep-" + env, WorkflowID: "wf-123",
		Resources:    map[string]string{"cpu": "500m", "memory": "1Gi"},
		MaxBatchSize: 32, MaxLatencyMS: 250, Scaling: seed000[env],
		Env: []EnvVar{
			{Name: "LOG_LEVEL", Value: "info"},
			{Name: "DB_PASSWORD", SecretName: "fraud-db", SecretKey: "password"},
		},
		Args: []string{"--model-name=fraud"},
	}
}

func TestBuild(t *testing.T) {
	cases := []struct {
		env           string
		role          Role
		replicas      int32
		deadline      time.Duration
		name, roleSvc string
		hpa           *Scaling // nil: no HPA and no PDB
	}{
		{"staging", RoleStable, 1, DefaultProgressDeadline, "fraud-staging", "fraud-staging-stable", &Scaling{MinReplicas: 1, MaxReplicas: 3, TargetCPUPercent: 80}},
		{"shadow", RoleShadow, 2, DefaultProgressDeadline, "fraud-shadow", "fraud-shadow-shadow", &Scaling{MinReplicas: 1, MaxReplicas: 5, TargetCPUPercent: 80}},
		{"production", RoleStable, 3, 90 * time.Second, "fraud-production", "fraud-production-stable", &Scaling{MinReplicas: 2, MaxReplicas: 10, TargetCPUPercent: 70}},
		{"production", RoleCanary, 1, DefaultProgressDeadline, "fraud-production-canary", "fraud-production-canary", nil},
	}
	for _, tc := range cases {
		t.Run(tc.env+"/"+string(tc.role), func(t *testing.T) {
			s := testSpec(tc.env, tc.role)
			o, err := Build(s, "models", tc.replicas, tc.deadline)
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			inst := "fraud-" + tc.env
			sel := map[string]string{LabelName: "fraud", LabelInstance: inst, LabelRole: string(tc.role)}
			wantLabels := map[string]string{
				LabelName: "fraud", LabelInstance: inst, LabelComponent: "model-server", LabelPartOf: "temporaldeployer",
				LabelManagedBy: "temporaldeployer", LabelVersion: "7", LabelEnv: tc.env, LabelRole: string(tc.role),
				LabelModel: "Fraud-Detector-v2", LabelModelVer: "7", LabelStage: "Production",
			}

			d := o.Deployment
			eq(t, "deployment name", *d.Name, tc.name)
			eq(t, "deployment name = WorkloadName", *d.Name, WorkloadName("fraud", tc.env, tc.role))
			eq(t, "namespace", *d.Namespace, "models")
			eq(t, "labels", d.Labels, wantLabels)
			eq(t, "deployment-id", d.Annotations[AnnotationDeploymentID], "dep-"+tc.env)
			eq(t, "workflow-id", d.Annotations[AnnotationWorkflowID], "wf-123")
			eq(t, "image annotation", d.Annotations[AnnotationImage], testImage)
			var back Spec
			if err := json.Unmarshal([]byte(d.Annotations[AnnotationSpec]), &back); err != nil {
				t.Fatalf("spec annotation: %v", err)
			}
			eq(t, "spec round trip", back, s)

			ds := d.Spec
			eq(t, "replicas", *ds.Replicas, tc.replicas)
			eq(t, "progressDeadlineSeconds", *ds.ProgressDeadlineSeconds, int32(tc.deadline/time.Second))
			eq(t, "strategy", string(*ds.Strategy.Type), "RollingUpdate")
			eq(t, "maxUnavailable", *ds.Strategy.RollingUpdate.MaxUnavailable, intstr.FromInt32(0))
			eq(t, "maxSurge", *ds.Strategy.RollingUpdate.MaxSurge, intstr.FromInt32(1))
			eq(t, "selector", ds.Selector.MatchLabels, sel)

			tpl := ds.Template
			eq(t, "pod labels", tpl.Labels, wantLabels)
			for k, v := range sel {
				eq(t, "selector matches pod label "+k, tpl.Labels[k], v)
			}
			for k, v := range tpl.Labels {
				if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
					t.Errorf("pod label %s=%q is invalid: %v", k, v, errs)
				}
			}
			eq(t, "pod annotations", tpl.Annotations, map[string]string{AnnotationDeploymentID: "dep-" + tc.env, AnnotationWorkflowID: "wf-123"})

			ps := tpl.Spec
			eq(t, "automountServiceAccountToken", *ps.AutomountServiceAccountToken, false)
			eq(t, "serviceAccountName", *ps.ServiceAccountName, ModelServiceAccount)
			if len(ps.Volumes) != 1 || *ps.Volumes[0].Name != "tmp" || ps.Volumes[0].EmptyDir == nil ||
				ps.Volumes[0].EmptyDir.SizeLimit.String() != TmpSizeLimit {
				t.Errorf("volumes = %+v; want one size-limited emptyDir named tmp", ps.Volumes)
			}
			eq(t, "pod runAsNonRoot", *ps.SecurityContext.RunAsNonRoot, true)
			eq(t, "runAsUser", *ps.SecurityContext.RunAsUser, int64(1000))
			eq(t, "runAsGroup", *ps.SecurityContext.RunAsGroup, int64(1000))
			eq(t, "seccomp", *ps.SecurityContext.SeccompProfile.Type, corev1.SeccompProfileTypeRuntimeDefault)
			if len(ps.Containers) != 1 {
				t.Fatalf("containers = %d; want 1", len(ps.Containers))
			}
			c := ps.Containers[0]
			eq(t, "image", *c.Image, testImage)
			eq(t, "args", c.Args, []string{"--model-name=fraud"})
			if len(c.Ports) != 1 {
				t.Fatalf("ports = %d; want 1", len(c.Ports))
			}
			eq(t, "port name", *c.Ports[0].Name, "http")
			eq(t, "port", *c.Ports[0].ContainerPort, int32(3000))
			eq(t, "port protocol", *c.Ports[0].Protocol, corev1.ProtocolTCP)
			eq(t, "readiness path", *c.ReadinessProbe.HTTPGet.Path, "/readyz")
			eq(t, "readiness port", *c.ReadinessProbe.HTTPGet.Port, intstr.FromString("http"))
			eq(t, "liveness path", *c.LivenessProbe.HTTPGet.Path, "/livez")
			eq(t, "liveness port", *c.LivenessProbe.HTTPGet.Port, intstr.FromString("http"))
			eq(t, "startup path", *c.StartupProbe.HTTPGet.Path, "/livez")
			eq(t, "startup budget (s)", *c.StartupProbe.PeriodSeconds**c.StartupProbe.FailureThreshold, int32(600))
			want := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("1Gi")}
			eqResources(t, "requests", *c.Resources.Requests, want)
			eqResources(t, "limits", *c.Resources.Limits, want)
			eq(t, "env", envOf(c.Env), []string{
				"TD_MAX_BATCH_SIZE=32", "TD_MAX_LATENCY_MS=250", "TD_MODEL_VERSION=7", "LOG_LEVEL=info", "DB_PASSWORD<-secret:fraud-db/password",
			})
			sc := c.SecurityContext
			eq(t, "container runAsNonRoot", *sc.RunAsNonRoot, true)
			eq(t, "allowPrivilegeEscalation", *sc.AllowPrivilegeEscalation, false)
			eq(t, "capabilities drop", sc.Capabilities.Drop, []corev1.Capability{"ALL"})
			eq(t, "readOnlyRootFilesystem", *sc.ReadOnlyRootFilesystem, true)
			if len(c.VolumeMounts) != 1 || *c.VolumeMounts[0].Name != "tmp" || *c.VolumeMounts[0].MountPath != "/tmp" {
				t.Errorf("volume mounts = %+v; want tmp at /tmp", c.VolumeMounts)
			}
			for k, v := range ModelPodSelector() { // the NetworkPolicy selects every model pod
				eq(t, "network policy selects pod label "+k, tpl.Labels[k], v)
			}

			envSel := map[string]string{LabelName: "fraud", LabelInstance: inst}
			checkService(t, o.Service, inst, envSel)
			checkService(t, o.RoleSvc, tc.roleSvc, sel)
			eq(t, "role service = RoleServiceName", *o.RoleSvc.Name, RoleServiceName("fraud", tc.env, tc.role))

			if tc.hpa == nil {
				if o.HPA != nil || o.PDB != nil {
					t.Errorf("a %s workload gets no HPA and no PDB; got HPA %v, PDB %v", tc.role, o.HPA != nil, o.PDB != nil)
				}
				return
			}
			h := o.HPA
			eq(t, "hpa name", *h.Name, tc.name)
			eq(t, "hpa namespace", *h.Namespace, "models")
			eq(t, "hpa apiVersion", *h.APIVersion, "autoscaling/v2")
			ref := h.Spec.ScaleTargetRef
			eq(t, "hpa target", *ref.APIVersion+"/"+*ref.Kind+"/"+*ref.Name, "apps/v1/Deployment/"+tc.name)
			eq(t, "hpa min", *h.Spec.MinReplicas, int32(tc.hpa.MinReplicas))
			eq(t, "hpa max", *h.Spec.MaxReplicas, int32(tc.hpa.MaxReplicas))
			if len(h.Spec.Metrics) != 1 {
				t.Fatalf("hpa metrics = %d; want 1", len(h.Spec.Metrics))
			}
			m := h.Spec.Metrics[0]
			eq(t, "hpa metric", string(*m.Type)+"/"+string(*m.Resource.Name)+"/"+string(*m.Resource.Target.Type), "Resource/cpu/Utilization")
			eq(t, "hpa cpu", *m.Resource.Target.AverageUtilization, int32(tc.hpa.TargetCPUPercent))

			p := o.PDB
			eq(t, "pdb name", *p.Name, tc.name)
			eq(t, "pdb namespace", *p.Namespace, "models")
			eq(t, "pdb maxUnavailable", *p.Spec.MaxUnavailable, intstr.FromInt32(1))
			eq(t, "pdb selector", p.Spec.Selector.MatchLabels, sel)
		})
	}
}

func checkService(t *testing.T, svc *corev1ac.ServiceApplyConfiguration, name string, sel map[string]string) {
	t.Helper()
	eq(t, "service name", *svc.Name, name)
	eq(t, "service namespace", *svc.Namespace, "models")
	eq(t, name+" type", *svc.Spec.Type, corev1.ServiceTypeClusterIP)
	eq(t, name+" selector", svc.Spec.Selector, sel)
	if len(svc.Spec.Ports) != 1 {
		t.Fatalf("%s ports = %d; want 1", name, len(svc.Spec.Ports))
	}
	p := svc.Spec.Ports[0]
	eq(t, name+" port", *p.Name+":"+string(*p.Protocol), "http:TCP")
	eq(t, name+" port number", *p.Port, int32(80))
	eq(t, name+" targetPort", *p.TargetPort, intstr.FromString("http"))
	if svc.Spec.ExternalIPs != nil || svc.Spec.LoadBalancerIP != nil {
		t.Errorf("%s is public", name)
	}
	if errs := validation.IsDNS1035Label(name); len(errs) > 0 {
		t.Errorf("service name %q: %v", name, errs)
	}
}

// envOf renders env as NAME=value or NAME<-secret:name/key.
func envOf(env []corev1ac.EnvVarApplyConfiguration) []string {
	var out []string
	for _, e := range env {
		switch {
		case e.ValueFrom != nil && e.Value == nil:
			r := e.ValueFrom.SecretKeyRef
			out = append(out, *e.Name+"<-secret:"+*r.Name+"/"+*r.Key)
		case e.Value != nil && e.ValueFrom == nil:
			out = append(out, *e.Name+"="+*e.Value)
		default:
			out = append(out, *e.Name+"?")
		}
	}
	return out
}

func eqResources(t *testing.T, what string, got, want corev1.ResourceList) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s = %v; want %v", what, got, want)
	}
	for k, q := range want {
		if g, ok := got[k]; !ok || g.Cmp(q) != 0 {
			t.Errorf("%s[%s] = %v; want %v", what, k, got[k], q.String())
		}
	}
}

func eq(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v; want %#v", what, got, want)
	}
}

func TestBuildRefuses(t *testing.T) {
	cases := []struct {
		name string
		edit func(*Spec)
		rule string
	}{
		{"tag image", func(s *Spec) { s.Image = "fraud:latest" }, "R5"},
		{"plaintext credential", func(s *Spec) { s.Env = []EnvVar{{Name: "API_KEY", Value: "x"}} }, "R2"},
		{"unparsable quantity", func(s *Spec) { s.Resources["memory"] = "lots" }, "resources"},
		{"unparsable extra quantity", func(s *Spec) { s.Resources["ephemeral-storage"] = "1 GB" }, "resources"},
	}
	for _, tc := range cases {
		s := testSpec("staging", RoleStable)
		tc.edit(&s)
		o, err := Build(s, "models", 1, time.Minute)
		var re *RefusedError
		if !errors.As(err, &re) || re.Rule != tc.rule {
			t.Errorf("%s: err = %v; want a RefusedError of rule %s", tc.name, err, tc.rule)
		}
		if o.Deployment != nil || o.Service != nil {
			t.Errorf("%s: objects built despite the refusal", tc.name)
		}
	}
}

func TestLabelValue(t *testing.T) {
	long := strings.Repeat("a", 70)
	cases := []struct{ in, want string }{
		{"Fraud Detector/v2", "Fraud-Detector-v2"},
		{"fraud_detector.v1", "fraud_detector.v1"},
		{"--weird--", "weird"},
		{"  spaced  out  ", "spaced-out"},
		{"Ünïcode model", "n-code-model"},
		{"", ""},
		{"///", ""},
		{long, long[:63]},
		{strings.Repeat("a", 62) + "/b", strings.Repeat("a", 62)},
	}
	for _, tc := range cases {
		got := labelValue(tc.in)
		if got != tc.want {
			t.Errorf("labelValue(%q) = %q; want %q", tc.in, got, tc.want)
		}
		if errs := validation.IsValidLabelValue(got); len(errs) > 0 {
			t.Errorf("labelValue(%q) = %q is not a valid label value: %v", tc.in, got, errs)
		}
	}
}

func TestNames(t *testing.T) {
	cases := []struct {
		env                 string
		role                Role
		workload, roleSvc   string
		envSvc, instanceLbl string
	}{
		{"staging", RoleStable, "fraud-staging", "fraud-staging-stable", "fraud-staging", "fraud-staging"},
		{"shadow", RoleShadow, "fraud-shadow", "fraud-shadow-shadow", "fraud-shadow", "fraud-shadow"},
		{"production", RoleStable, "fraud-production", "fraud-production-stable", "fraud-production", "fraud-production"},
		{"production", RoleCanary, "fraud-production-canary", "fraud-production-canary", "fraud-production", "fraud-production"},
	}
	for _, tc := range cases {
		eq(t, "WorkloadName", WorkloadName("fraud", tc.env, tc.role), tc.workload)
		eq(t, "RoleServiceName", RoleServiceName("fraud", tc.env, tc.role), tc.roleSvc)
		eq(t, "ServiceName", ServiceName("fraud", tc.env), tc.envSvc)
		eq(t, "instance", instance("fraud", tc.env), tc.instanceLbl)
	}
}
