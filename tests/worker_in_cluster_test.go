package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/tests/realparts"
)

// TestWorkerInCluster runs the worker process as deploy/ sets it up in a cluster, with nothing but
// its ServiceAccount's token for Kubernetes (a kubeconfig holding a TokenRequest token, as the
// kubelet projects one into its pod; the Role of deploy/role.yaml), and deploys a model to
// staging through a workflow run: it packages the model with BentoML into a CNCF distribution
// registry, rolls it out in the models namespace of deploy/ (restricted Pod Security, the model
// pods' ServiceAccount and NetworkPolicy), and health-checks it. KWOK runs no containers: the
// loopback harness serves the model the pods name.
func TestWorkerInCluster(t *testing.T) {
	realparts.RequireBentoML(t)
	e := newKubeEnv(t, "incluster", 10*time.Minute)
	suffix := fmt.Sprintf("%d", time.Now().UnixNano()%1e6)
	workerNS, modelsNS := "tdw-"+suffix, "modelsw-"+suffix
	for _, ns := range []string{workerNS, modelsNS} {
		t.Cleanup(func() { _ = e.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	}
	realparts.ApplyObjects(t, e.kubeconfig, realparts.ReadKustomization(t, filepath.Join(realparts.Root(), "deploy"),
		map[string]string{"temporaldeployer": workerNS, "models": modelsNS}))

	tp := realparts.StartTemporal(t)
	ml := realparts.StartMLflow(t)
	reg := realparts.StartDistributionRegistry(t)
	model := realparts.LogSklearnModel(t, ml, "in-cluster")
	dir := t.TempDir()
	lh := realparts.StartLoopbackHarness(t, e.kubeconfig, modelsNS, realparts.HarnessOptions{})
	realparts.StartWorker(t, append(lh.WorkerEnv(), "TEMPORAL_ADDRESS="+tp.Address, "MLFLOW_TRACKING_URI="+ml,
		"DATABASE_URL="+filepath.Join(dir, "deployer.db"), "KUBECONFIG="+tokenKubeconfig(t, workerConfig(t, e, workerNS), modelsNS),
		"DEPLOYER_NAMESPACE="+modelsNS, "DEPLOYER_SHADOW_MIRROR=false",
		"DEPLOYER_OCI_REPOSITORY="+reg.Host+"/models", "DEPLOYER_OCI_INSECURE=true",
		"DEPLOYER_BENTOML_HOME="+filepath.Join(dir, "bentoml"), "DEPLOYER_PROGRESS_DEADLINE=120s", "DEPLOYER_PROBE_ATTEMPTS=3")...)

	in, _ := json.Marshal(map[string]any{"model_uri": model.RunsURI(), "experiment_id": model.ExperimentID, "deployment_name": "incluster",
		"validation_metrics": map[string]float64{"accuracy": 0.93}, "success_criteria_met": true, "target_environment": "staging",
		"deployment_action": "deploy", "requested_by": "e2e@example.com", "resources": map[string]string{"cpu": "500m", "memory": "512Mi"}})
	id := "incluster-" + suffix
	tp.CLI(t, "workflow", "start", "--type", contract.WorkflowType, "--task-queue", contract.TaskQueue, "--workflow-id", id, "--input", string(in))
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	var out contract.Output
	if err := tp.Client.GetWorkflow(ctx, id, "").Get(ctx, &out); err != nil {
		t.Fatalf("a staging deploy by the worker with its Role alone: %v", err)
	}
	if !out.DeploymentSuccessful || !out.HealthCheckPassed || out.Status != contract.StatusDeployed || out.VersionRecord.Version != "1" {
		t.Fatalf("output %+v", out)
	}
	checkPods(t, e.cs, modelsNS, "incluster-staging", 1, "1")
	predict(t, out.DeploymentManifest.EndpointURL)
	ref, err := name.NewDigest(out.DeploymentManifest.Image, name.Insecure)
	if err != nil || !strings.HasPrefix(out.DeploymentManifest.Image, reg.Host+"/models") {
		t.Fatalf("image %q: want a digest in %s/models (%v)", out.DeploymentManifest.Image, reg.Host, err)
	}
	if _, err := remote.Head(ref, remote.WithContext(ctx)); err != nil {
		t.Errorf("the registry does not answer the deployed image %s: %v", ref, err)
	}
}

// tokenKubeconfig writes a kubeconfig that reaches the API server of cfg with its bearer token
// alone, in namespace, and returns its path.
func tokenKubeconfig(t *testing.T, cfg *rest.Config, namespace string) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["cluster"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthority: cfg.CAFile,
		CertificateAuthorityData: cfg.CAData, TLSServerName: cfg.ServerName}
	kc.AuthInfos["worker"] = &clientcmdapi.AuthInfo{Token: cfg.BearerToken}
	kc.Contexts["worker"] = &clientcmdapi.Context{Cluster: "cluster", AuthInfo: "worker", Namespace: namespace}
	kc.CurrentContext = "worker"
	path := filepath.Join(t.TempDir(), "worker.kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}
