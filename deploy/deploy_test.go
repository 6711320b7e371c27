package deploy

import (
	"bytes"
	"io"
	"reflect"
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/yaml"

	"github.com/temporaldeployer/temporaldeployer/kube"
)

// TestModelPods: model-pods.yaml names what kube checks for, and its NetworkPolicy selects the
// pods kube renders: ingress to the server port from model-traffic=allowed only, egress DNS only.
func TestModelPods(t *testing.T) {
	sa, np, err := ModelPods("ml")
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "service account", [3]any{sa.Name, sa.Namespace, *sa.AutomountServiceAccountToken}, [3]any{kube.ModelServiceAccount, "ml", false})
	eq(t, "network policy", [2]string{np.Name, np.Namespace}, [2]string{kube.ModelNetworkPolicy, "ml"})
	s := np.Spec
	eq(t, "pod selector", s.PodSelector.MatchLabels, kube.ModelPodSelector())
	eq(t, "policy types", s.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress})
	allowed := map[string]string{"temporaldeployer.io/model-traffic": "allowed"}
	if len(s.Ingress) != 1 || len(s.Ingress[0].From) != 2 || len(s.Ingress[0].Ports) != 1 {
		t.Fatalf("ingress %+v: want one rule, two peers, one port", s.Ingress)
	}
	in := s.Ingress[0]
	eq(t, "from namespaces", [2]any{in.From[0].NamespaceSelector.MatchLabels, in.From[0].PodSelector == nil}, [2]any{allowed, true})
	eq(t, "from this namespace's pods", [2]any{in.From[1].PodSelector.MatchLabels, in.From[1].NamespaceSelector == nil}, [2]any{allowed, true})
	eq(t, "ingress port", *in.Ports[0].Port, intstr.FromInt32(kube.ServerPort))
	if len(s.Egress) != 1 || len(s.Egress[0].To) != 1 {
		t.Fatalf("egress %+v: want one rule to the cluster DNS", s.Egress)
	}
	to := s.Egress[0].To[0]
	eq(t, "egress to", [2]any{to.NamespaceSelector.MatchLabels, to.PodSelector.MatchLabels},
		[2]any{map[string]string{"kubernetes.io/metadata.name": "kube-system"}, map[string]string{"k8s-app": "kube-dns"}})
	var ports []string
	for _, p := range s.Egress[0].Ports {
		ports = append(ports, string(*p.Protocol)+"/"+p.Port.String())
	}
	eq(t, "egress ports", ports, []string{"UDP/53", "TCP/53"})
}

// TestRole: namespaced, in the models' namespace, every verb named (no wildcard), and exactly the
// table the README documents.
func TestRole(t *testing.T) {
	var r rbacv1.Role
	decodeFile(t, "role.yaml", &r)
	eq(t, "namespace", r.Namespace, "models")
	got := map[string]string{}
	for _, rule := range r.Rules {
		all := strings.Join(append(append(append([]string{}, rule.APIGroups...), rule.Resources...), rule.Verbs...), ",")
		if strings.Contains(all, "*") {
			t.Errorf("rule %+v has a wildcard", rule)
		}
		for _, res := range rule.Resources {
			key := strings.Join(rule.APIGroups, ",") + "/" + res
			if len(rule.ResourceNames) > 0 {
				key += "[" + strings.Join(rule.ResourceNames, ",") + "]"
			}
			got[key] = strings.Join(rule.Verbs, ",")
		}
	}
	eq(t, "rules", got, map[string]string{
		"apps/deployments":                         "get,watch,create,patch,delete",
		"apps/deployments/scale":                   "get,update",
		"/services":                                "create,patch,delete",
		"autoscaling/horizontalpodautoscalers":     "create,patch,delete",
		"policy/poddisruptionbudgets":              "create,patch,delete",
		"/serviceaccounts[temporaldeployer-model]": "get",
		"networking.k8s.io/networkpolicies[temporaldeployer-model-servers]": "get",
		"gateway.networking.k8s.io/httproutes":                              "get,create,patch,delete",
	})
}

var secretish = regexp.MustCompile(`(?i)(passw|secret|token|api_?key|database_url|private)`)

// TestWorkerDeployment: the worker's pod is restricted (non-root 65532, read-only root, no
// privilege escalation, seccomp RuntimeDefault, no capabilities), sized, writes only to emptyDirs,
// and takes every secret by reference.
func TestWorkerDeployment(t *testing.T) {
	var d appsv1.Deployment
	decodeFile(t, "deployment.yaml", &d)
	ps := d.Spec.Template.Spec
	eq(t, "pod security", [4]any{*ps.SecurityContext.RunAsNonRoot, *ps.SecurityContext.RunAsUser, ps.SecurityContext.SeccompProfile.Type, ps.ServiceAccountName},
		[4]any{true, int64(65532), corev1.SeccompProfileTypeRuntimeDefault, "temporaldeployer-worker"})
	if len(ps.Containers) != 1 {
		t.Fatalf("%d containers", len(ps.Containers))
	}
	c := ps.Containers[0]
	sc := c.SecurityContext
	eq(t, "container security", [4]any{*sc.RunAsNonRoot, *sc.AllowPrivilegeEscalation, *sc.ReadOnlyRootFilesystem, sc.Capabilities.Drop},
		[4]any{true, false, true, []corev1.Capability{"ALL"}})
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources %+v: want requests and limits", c.Resources)
	}
	vols := map[string]corev1.Volume{}
	for _, v := range ps.Volumes {
		vols[v.Name] = v
	}
	for _, m := range c.VolumeMounts {
		v := vols[m.Name]
		if v.EmptyDir == nil && !(v.Secret != nil && m.ReadOnly) {
			t.Errorf("mount %s at %s: want an emptyDir, or a Secret read-only", m.Name, m.MountPath)
		}
	}
	for _, e := range c.Env {
		if secretish.MatchString(e.Name) && (e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil) {
			t.Errorf("env %s: a secret must come from a secretKeyRef", e.Name)
		}
	}
	var cm corev1.ConfigMap
	decodeFile(t, "worker-config.yaml", &cm)
	for k := range cm.Data {
		if secretish.MatchString(k) {
			t.Errorf("worker-config.yaml holds %s: secrets go in the Secret", k)
		}
	}
}

func decodeFile(t *testing.T, name string, into any) {
	t.Helper()
	b, err := files.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	if err := dec.Decode(into); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if err := dec.Decode(&struct{}{}); err != io.EOF {
		t.Fatalf("%s: more than one document", name)
	}
}

func eq(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %v; want %v", what, got, want)
	}
}
