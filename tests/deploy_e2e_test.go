package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/kube"
	"github.com/temporaldeployer/temporaldeployer/store"
	"github.com/temporaldeployer/temporaldeployer/tests/realparts"
)

// TestDeployEndToEnd is the whole product on real parts: deployments started through the temporal
// CLI register the model in MLflow, package it with BentoML into a digest-pinned image in a real
// OCI registry, roll it out on the real control plane (pods Ready through KWOK), and health-check
// the real model server (served on loopback by the harness, since KWOK runs no containers). Then a
// second version replaces it, and a rollback run restores the first.
func TestDeployEndToEnd(t *testing.T) {
	realparts.RequireBentoML(t)
	tp := realparts.StartTemporal(t)
	ml := realparts.StartMLflow(t)
	kubeconfig := realparts.StartCluster(t)
	oci := httptest.NewServer(registry.New())
	t.Cleanup(oci.Close)
	v1 := realparts.LogSklearnModel(t, ml, "deploy-e2e")
	v2 := realparts.LogSklearnModel(t, ml, "deploy-e2e")
	dir := t.TempDir()
	ns := fmt.Sprintf("e2e-%d", time.Now().UnixNano()%1e6)
	db := filepath.Join(dir, "deployer.db")
	lh := realparts.StartLoopbackHarness(t, kubeconfig, ns, realparts.HarnessOptions{})
	port, err := realparts.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	metrics := fmt.Sprintf("http://127.0.0.1:%d/metrics", port)
	realparts.StartWorker(t, append(lh.WorkerEnv(), fmt.Sprintf("DEPLOYER_METRICS_ADDR=127.0.0.1:%d", port), "TEMPORAL_ADDRESS="+tp.Address, "MLFLOW_TRACKING_URI="+ml, "DATABASE_URL="+db,
		"KUBECONFIG="+kubeconfig, "DEPLOYER_NAMESPACE="+ns, "DEPLOYER_SHADOW_MIRROR=false",
		"DEPLOYER_OCI_REPOSITORY="+strings.TrimPrefix(oci.URL, "http://")+"/models", "DEPLOYER_OCI_INSECURE=true",
		"DEPLOYER_BENTOML_HOME="+filepath.Join(dir, "bentoml"), "DEPLOYER_PROGRESS_DEADLINE=120s", "DEPLOYER_PROBE_ATTEMPTS=3")...)
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cs := clientset(t, kubeconfig)
	name := "fraud-e2e"
	input := func(m realparts.LoggedModel, action contract.Action) string {
		b, _ := json.Marshal(map[string]any{"model_uri": m.RunsURI(), "experiment_id": m.ExperimentID, "deployment_name": name,
			"validation_metrics": map[string]float64{"accuracy": 0.93}, "success_criteria_met": true,
			"target_environment": "staging", "deployment_action": action, "requested_by": "e2e@example.com",
			"resources": map[string]string{"cpu": "500m", "memory": "512Mi"}})
		return string(b)
	}
	deploy := func(t *testing.T, id, in string) contract.Output {
		t.Helper()
		tp.CLI(t, "workflow", "start", "--type", contract.WorkflowType, "--task-queue", contract.TaskQueue, "--workflow-id", id, "--input", in)
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
		defer cancel()
		var out contract.Output
		if err := tp.Client.GetWorkflow(ctx, id, "").Get(ctx, &out); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		return out
	}

	first := deploy(t, "deploy-v1-"+ns, input(v1, contract.ActionDeploy))
	t.Run("v1 deployed, packaged, Ready and healthy", func(t *testing.T) {
		checkDeployed(t, first, "1")
		checkPods(t, cs, ns, name+"-staging", 1, "1")
		predict(t, first.DeploymentManifest.EndpointURL)
		row, found, err := st.Deployment(context.Background(), first.DeploymentManifest.DeploymentID)
		if err != nil || !found || row.Status != store.StatusHealthy || row.Image != first.DeploymentManifest.Image {
			t.Errorf("ml_deployments row %+v found=%v err=%v", row, found, err)
		}
	})
	second := deploy(t, "deploy-v2-"+ns, input(v2, contract.ActionDeploy))
	t.Run("v2 replaces v1 with a rolling update", func(t *testing.T) {
		checkDeployed(t, second, "2")
		checkPods(t, cs, ns, name+"-staging", 1, "2")
		if !second.RollbackAvailable {
			t.Error("rollback_available is false with v1 known-good")
		}
		// One healthy row per environment: v1's is superseded, and stays the rollback target.
		if row, _, err := st.Deployment(context.Background(), first.DeploymentManifest.DeploymentID); err != nil || row.Status != store.StatusSuperseded {
			t.Errorf("v1's row after v2: status %q (%v), want superseded", row.Status, err)
		}
		predict(t, second.DeploymentManifest.EndpointURL)
	})
	back := deploy(t, "rollback-"+ns, input(v2, contract.ActionRollback))
	t.Run("rollback restores v1", func(t *testing.T) {
		if back.Status != contract.StatusRolledBack || back.VersionRecord.Version != "1" || !back.HealthCheckPassed {
			t.Fatalf("rollback output %+v", back)
		}
		checkPods(t, cs, ns, name+"-staging", 1, "1")
		predict(t, back.DeploymentManifest.EndpointURL)
		row, _, _ := st.Deployment(context.Background(), second.DeploymentManifest.DeploymentID)
		if row.Status != store.StatusRolledBack {
			t.Errorf("v2 row status %q, want rolled_back", row.Status)
		}
		// The worker's own metrics, read from its endpoint: two rollouts (v1, v2) and one rollback.
		for prefix, want := range map[string]float64{"deployer_rollout_duration_seconds_count{": 2, "deployer_rollback_duration_seconds_count{": 1} {
			if got := scrapeSum(t, metrics, prefix); got != want {
				t.Errorf("%s…} = %v, want %v", prefix, got, want)
			}
		}
	})
}

func checkDeployed(t *testing.T, out contract.Output, version string) {
	t.Helper()
	m := out.DeploymentManifest
	if !out.DeploymentSuccessful || !out.HealthCheckPassed || out.Status != contract.StatusDeployed ||
		out.VersionRecord.Stage != contract.StageStaging || out.VersionRecord.Version != version {
		t.Fatalf("output %+v", out)
	}
	if !strings.Contains(m.Image, "@sha256:") || !strings.HasPrefix(out.BentoMLTag, "e2i_") ||
		!strings.HasSuffix(out.BentoMLTag, "_model:v"+version) || !strings.HasPrefix(m.EndpointURL, "http://127.0.0.1:") ||
		m.HealthCheckURL != m.EndpointURL+"/readyz" || m.MetricsURL != m.EndpointURL+"/metrics" {
		t.Errorf("manifest %+v tag %s", m, out.BentoMLTag)
	}
}

// checkPods: the Deployment has want Ready pods running model version.
func checkPods(t *testing.T, cs kubernetes.Interface, ns, name string, want int32, version string) {
	t.Helper()
	d, err := cs.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Status.AvailableReplicas != want || d.Labels[kube.LabelModelVer] != version {
		t.Errorf("deployment %s: available %d (want %d), version %q (want %s)", name, d.Status.AvailableReplicas, want, d.Labels[kube.LabelModelVer], version)
	}
	if img := d.Spec.Template.Spec.Containers[0].Image; !strings.Contains(img, "@sha256:") {
		t.Errorf("image %q not pinned by digest", img)
	}
}

// predict posts a real request to the model server.
func predict(t *testing.T, base string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"rows": [][]float64{{0.1, 0.2, 0.3}, {-1, -2, 0.5}}})
	resp, err := http.Post(base+"/predict", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s/predict: HTTP %d %v", base, resp.StatusCode, out)
	}
}

func clientset(t *testing.T, kubeconfig string) kubernetes.Interface {
	t.Helper()
	rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}
