package realparts

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiext "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwac "sigs.k8s.io/gateway-api/applyconfiguration/apis/v1"
	gwclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"
)

// The Gateway API on the test control plane. Only the API is installed: its standard-channel CRDs,
// taken from the sigs.k8s.io/gateway-api module the project builds against (so the schema and its
// CEL validation rules are exactly the ones the router's types were generated from). No gateway
// controller runs: an HTTPRoute is validated, stored and read back by the API server, nobody
// programs a data plane from it and its status stays empty. Tests therefore prove what the router
// writes (backend weights, mirror filters), not that packets follow it.

// gatewayFieldManager owns what the test helpers apply (not the product's field manager).
const gatewayFieldManager = "temporaldeployer-tests"

var (
	crdMu        sync.Mutex
	crdInstalled = map[string]bool{} // kubeconfig → CRDs installed and Established
)

// InstallGatewayCRDs applies the Gateway API standard CRDs shipped in the module
// (config/crd/standard/*.yaml) with server-side apply through the apiextensions client and waits
// until each is Established. Idempotent: once per kubeconfig per test binary, and re-applying is a
// no-op for the API server.
func InstallGatewayCRDs(t testing.TB, kubeconfig string) {
	t.Helper()
	crdMu.Lock()
	defer crdMu.Unlock()
	if crdInstalled[kubeconfig] {
		return
	}
	if err := installGatewayCRDs(t, kubeconfig); err != nil {
		t.Fatalf("install Gateway API CRDs: %v", err)
	}
	crdInstalled[kubeconfig] = true
}

func installGatewayCRDs(t testing.TB, kubeconfig string) error {
	files, err := GatewayCRDFiles()
	if err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	cs, err := apiext.NewForConfig(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	force := true
	var names []string
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var crd apiextv1.CustomResourceDefinition
		if err := yaml.Unmarshal(raw, &crd); err != nil {
			return fmt.Errorf("%s: %w", filepath.Base(f), err)
		}
		if crd.Kind != "CustomResourceDefinition" || crd.Name == "" {
			return fmt.Errorf("%s: not a CustomResourceDefinition", filepath.Base(f))
		}
		body, err := yaml.YAMLToJSON(raw)
		if err != nil {
			return fmt.Errorf("%s: %w", filepath.Base(f), err)
		}
		// Server-side apply: the same body applied again changes nothing (no new resourceVersion).
		_, err = cs.ApiextensionsV1().CustomResourceDefinitions().Patch(ctx, crd.Name, types.ApplyPatchType, body,
			metav1.PatchOptions{FieldManager: gatewayFieldManager, Force: &force})
		if err != nil {
			return fmt.Errorf("apply CRD %s: %w", crd.Name, err)
		}
		names = append(names, crd.Name)
	}
	for _, name := range names {
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			crd, err := cs.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			for _, c := range crd.Status.Conditions {
				if c.Type == apiextv1.Established && c.Status == apiextv1.ConditionTrue {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			return fmt.Errorf("CRD %s never became Established: %w", name, err)
		}
	}
	// Established means the API server serves the resource; list once so a test's first write
	// cannot race the handler's installation.
	gw, err := gwclient.NewForConfig(cfg)
	if err != nil {
		return err
	}
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := gw.GatewayV1().HTTPRoutes(metav1.NamespaceDefault).List(ctx, metav1.ListOptions{})
		return err == nil, nil
	})
	if err != nil {
		return fmt.Errorf("httproutes not served after their CRD was Established: %w", err)
	}
	t.Logf("Gateway API standard CRDs (%d) applied and Established in %s", len(names), time.Since(start).Round(time.Millisecond))
	return nil
}

// GatewayCRDFiles lists the standard-channel CRD manifests of the sigs.k8s.io/gateway-api module
// in go.mod (located with `go list -m`, run in the repository root).
func GatewayCRDFiles() ([]string, error) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api")
	cmd.Dir = Root()
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		return nil, fmt.Errorf("go list -m sigs.k8s.io/gateway-api: %v %s", err, msg)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return nil, fmt.Errorf("sigs.k8s.io/gateway-api is not downloaded (run go mod download)")
	}
	files, err := filepath.Glob(filepath.Join(dir, "config", "crd", "standard", "*.yaml"))
	if err != nil {
		return nil, err
	}
	var crds []string
	for _, f := range files {
		if filepath.Base(f) != "kustomization.yaml" {
			crds = append(crds, f)
		}
	}
	if len(crds) == 0 {
		return nil, fmt.Errorf("no CRDs in %s/config/crd/standard", dir)
	}
	return crds, nil
}

// EnsureGateway applies a Gateway named name in namespace (creating the namespace if needed), the
// parent the routers' HTTPRoutes name. The routers only reference it by name and the API server
// does not require a parent to exist; having it makes the objects on the test cluster what a real
// install has. Its GatewayClass ("temporaldeployer-test") does not exist and no controller runs, so
// the Gateway is never programmed: stored and read back, no data plane.
func EnsureGateway(t testing.TB, kubeconfig, namespace, name string) *gwv1.Gateway {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gwclient.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := ensureNamespace(ctx, kubeconfig, namespace); err != nil {
		t.Fatal(err)
	}
	g, err := gw.GatewayV1().Gateways(namespace).Apply(ctx, gwac.Gateway(name, namespace).WithSpec(gwac.GatewaySpec().
		WithGatewayClassName("temporaldeployer-test").
		WithListeners(gwac.Listener().WithName("http").WithPort(80).WithProtocol(gwv1.HTTPProtocolType))),
		metav1.ApplyOptions{FieldManager: gatewayFieldManager, Force: true})
	if err != nil {
		t.Fatalf("apply gateway %s/%s: %v", namespace, name, err)
	}
	return g
}

func ensureNamespace(ctx context.Context, kubeconfig, namespace string) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	_, err = cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}},
		metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}
