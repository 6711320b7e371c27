package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	"go.temporal.io/api/enums/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	gwclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/harness/load"
	"github.com/temporaldeployer/temporaldeployer/kube"
	reg "github.com/temporaldeployer/temporaldeployer/registry"
	"github.com/temporaldeployer/temporaldeployer/store"
	"github.com/temporaldeployer/temporaldeployer/tests/realparts"
)

// gatesWorld is the real stack the measured gates run on: the dev server, MLflow, the local
// control plane, an OCI registry, Prometheus scraping the loopback model servers, the worker and
// the bounded load generator (a harness) sending real predictions split by the live canary weight
// and copied to the shadow.
type gatesWorld struct {
	tp        *realparts.Temporal
	st        *store.SQL
	cs        kubernetes.Interface
	k         *kube.Kubernetes
	rc        *rest.Config
	reg       *reg.MLflow
	ns, name  string
	mlflow    string
	models    []realparts.LoggedModel
	approvers realparts.Approvers
	worker    *realparts.Worker
	workEnv   []string // the worker's environment, for a restart
	// shadowShift is added to every value of the shadow's copies (the drift gate's case), as bits.
	shadowShift atomic.Uint64
}

// gatesFaults are the harness's fault switches in TestGatesEndToEnd: v3's canary slowed, v4's failing.
const gatesFaults = "3/canary:TD_FAULT_LATENCY_MS=200,4/canary:TD_FAULT=error"

const gatesCanaryHold = 15 * time.Second

// startGatesWorld starts the world on the shared control plane with models logged to MLflow and
// the harness's fault switches.
func startGatesWorld(t *testing.T, models int, faults string) *gatesWorld {
	return startGatesWorldOn(t, realparts.StartCluster(t), models, faults)
}

// startGatesWorldOn starts the world on the control plane of kubeconfig; extraEnv is added to the
// worker's environment (DEPLOYER_ROUTER=gateway: the world reads the split from the routes).
func startGatesWorldOn(t *testing.T, kubeconfig string, models int, faults string, extraEnv ...string) *gatesWorld {
	realparts.RequireBentoML(t)
	g := &gatesWorld{tp: realparts.StartTemporal(t), name: "fraud-gates", approvers: realparts.WriteApprovers(t)}
	ml := realparts.StartMLflow(t)
	g.mlflow = ml
	oci := httptest.NewServer(registry.New())
	t.Cleanup(oci.Close)
	dir := t.TempDir()
	targets := filepath.Join(dir, "targets.json")
	if err := os.WriteFile(targets, []byte("[]"), 0o644); err != nil {
		t.Fatal(err)
	}
	prom := realparts.StartPrometheus(t, targets)
	for range models {
		g.models = append(g.models, realparts.LogSklearnModel(t, ml, "gates-e2e"))
	}
	g.ns = fmt.Sprintf("gates-%d", time.Now().UnixNano()%1e6)
	// The shadow's route carries a RequestMirror (no Gateway controller runs here: the load
	// generator sends the shadow copies the mirror would).
	realparts.InstallGatewayCRDs(t, kubeconfig)
	realparts.EnsureGateway(t, kubeconfig, g.ns, "models")
	db := filepath.Join(dir, "deployer.db")
	lh := realparts.StartLoopbackHarness(t, kubeconfig, g.ns, realparts.HarnessOptions{Targets: targets, Faults: faults})
	g.workEnv = append(lh.WorkerEnv(), "TEMPORAL_ADDRESS="+g.tp.Address, "MLFLOW_TRACKING_URI="+ml, "DATABASE_URL="+db,
		"KUBECONFIG="+kubeconfig, "DEPLOYER_NAMESPACE="+g.ns, g.approvers.Env(),
		"DEPLOYER_PROMETHEUS_URL="+prom,
		"DEPLOYER_OCI_REPOSITORY="+strings.TrimPrefix(oci.URL, "http://")+"/models", "DEPLOYER_OCI_INSECURE=true",
		"DEPLOYER_BENTOML_HOME="+filepath.Join(dir, "bentoml"), "DEPLOYER_PROGRESS_DEADLINE=120s", "DEPLOYER_PROBE_ATTEMPTS=3",
		// Shortened for a test: a 30 s shadow hold sampled every 5 s must see 200 requests; canary holds of 15 s.
		"DEPLOYER_SHADOW_HOLD_MIN=30s", "DEPLOYER_SHADOW_HOLD_DEFAULT=30s", "DEPLOYER_SHADOW_MIN_DURATION=30s",
		"DEPLOYER_SHADOW_MIN_REQUESTS=200", "DEPLOYER_SHADOW_SAMPLE_EVERY=5s",
		"DEPLOYER_CANARY_HOLD_MIN=5s", "DEPLOYER_CANARY_HOLD_DEFAULT="+gatesCanaryHold.String(),
		"DEPLOYER_CANARY_MIN_REQUESTS_FLOOR=5", "DEPLOYER_CANARY_SAMPLE_EVERY=3s", "DEPLOYER_CANARY_WARMUP=3s", "DEPLOYER_SCALE_DOWN_DELAY=2s")
	g.workEnv = append(g.workEnv, extraEnv...)
	g.worker = realparts.StartWorker(t, g.workEnv...)
	var err error
	if g.reg, err = reg.NewMLflow(ml); err != nil {
		t.Fatal(err)
	}
	if g.st, err = store.Open(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.st.Close() })
	rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	g.rc = rc
	if g.cs, err = kubernetes.NewForConfig(rc); err != nil {
		t.Fatal(err)
	}
	opt := kube.Options{Namespace: g.ns}
	var router kube.Router = kube.NewReplicaRouter(g.cs, opt, nil)
	if slices.Contains(extraEnv, "DEPLOYER_ROUTER=gateway") {
		router = kube.NewGatewayRouter(g.cs, gwclient.NewForConfigOrDie(rc), opt, kube.ParentRef{})
	}
	if g.k, err = kube.New(g.cs, router, opt); err != nil {
		t.Fatal(err)
	}
	g.startLoad(t, targets)
	return g
}

// startLoad runs the load generator for the whole test: 30 predictions a second to the live
// environment, split by the canary weight read back from the cluster, each copied to the shadow
// (shifted by g.shadowShift).
func (g *gatesWorld) startLoad(t *testing.T, targets string) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Rows drawn from the test models' training distribution (their drift reference profile).
		inputs := &load.Gaussian{Features: 3, Seed: 1, ShadowShift: func() float64 { return math.Float64frombits(g.shadowShift.Load()) }}
		// Bounded well past the longest test (the deploy crash matrix, about 50 minutes, which
		// outlived a 40-minute bound: its last runs saw no metrics at all).
		rep, err := load.Run(ctx, load.Config{Rate: 30, Count: 1_000_000, Duration: 6 * time.Hour,
			Inputs: inputs, Targets: load.FromTargetsFile(targets, g.name, ""),
			Weight: func(ctx context.Context) (int, error) { return g.k.Weight(ctx, g.name, "production") }})
		if ctx.Err() == nil {
			t.Errorf("the load generator stopped before the test ended: %v (err %v)", rep, err)
			return
		}
		t.Logf("load generator: %v (err %v)", rep, err)
	}()
	t.Cleanup(func() { cancel(); <-done })
}

func (g *gatesWorld) input(m realparts.LoggedModel) string {
	return g.inputOf(m.RunsURI(), m.ExperimentID)
}

// inputOf is the production deploy of modelURI (a models:/<name>/<version> URI redeploys a
// registered version).
func (g *gatesWorld) inputOf(modelURI, experimentID string) string {
	b, _ := json.Marshal(map[string]any{"model_uri": modelURI, "experiment_id": experimentID, "deployment_name": g.name,
		"validation_metrics": map[string]float64{"accuracy": 0.93}, "success_criteria_met": true,
		"target_environment": "production", "requested_by": "gates-e2e@example.com",
		"resources": map[string]string{"cpu": "500m", "memory": "512Mi"},
		// v3's slowed canary serialises its requests (200 ms each: at most 5 a second, fewer on a
		// loaded machine) and must serve the 200 its p99 is judged on: 10 extensions of 15 s leave room.
		"canary_analysis": map[string]any{"min_requests": 8, "max_extensions": 10}})
	return string(b)
}

// deploy starts a production deploy through the CLI, approves it through the CLI when it waits,
// and returns its result.
func (g *gatesWorld) deploy(t *testing.T, id string, m realparts.LoggedModel) (contract.Output, error) {
	t.Helper()
	return g.deployInput(t, id, g.input(m))
}

// deployInput is deploy with its input as given.
func (g *gatesWorld) deployInput(t *testing.T, id, input string) (contract.Output, error) {
	t.Helper()
	g.startDeploy(t, id, input)
	g.approveWhenWaiting(t, id)
	return g.result(id)
}

// startDeploy starts a production deploy of input through the CLI.
func (g *gatesWorld) startDeploy(t *testing.T, id, input string) {
	t.Helper()
	g.tp.CLI(t, "workflow", "start", "--type", contract.WorkflowType, "--task-queue", contract.TaskQueue,
		"--workflow-id", id, "--input", input)
}

// result waits for a run's result.
func (g *gatesWorld) result(id string) (contract.Output, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	var out contract.Output
	err := g.tp.Client.GetWorkflow(ctx, id, "").Get(ctx, &out)
	return out, err
}

func (g *gatesWorld) approveWhenWaiting(t *testing.T, id string) {
	t.Helper()
	deadline := time.Now().Add(8 * time.Minute)
	for time.Now().Before(deadline) {
		if d, err := g.tp.Client.DescribeWorkflowExecution(context.Background(), id, ""); err == nil &&
			d.GetWorkflowExecutionInfo().GetStatus() != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return // closed without waiting: the caller reads its result
		}
		if s, err := g.tp.Status(context.Background(), id); err == nil && s.WaitingFor == contract.WaitingForApproval {
			out, code := realparts.TDCtl(t, []string{"TEMPORAL_ADDRESS=" + g.tp.Address}, "approve", "-key",
				g.approvers.Keys["bob@example.com"], "-approver", "bob@example.com", "-comment", "measured shadow looks good", id)
			if code != 0 || !strings.Contains(out, "accepted: approvals 1 of 1") {
				t.Fatalf("tdctl approve: exit %d\n%s", code, out)
			}
			return
		}
		time.Sleep(time.Second)
	}
	t.Fatalf("%s never waited for approval", id)
}

func (g *gatesWorld) decisions(t *testing.T, id, gate string) []store.Decision {
	t.Helper()
	all, err := g.st.Decisions(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []store.Decision
	for _, d := range all {
		if d.Gate == gate {
			out = append(out, d)
		}
	}
	return out
}

// wantStage checks a version's stage and aliases in MLflow.
func (g *gatesWorld) wantStage(t *testing.T, version string, stage contract.Stage, aliases string) {
	t.Helper()
	v, err := g.reg.Get(context.Background(), g.name, version)
	if err != nil || v.Stage != stage || strings.Join(v.Aliases, ",") != aliases {
		t.Errorf("%s v%s in MLflow: %+v, %v; want %s with aliases [%s]", g.name, version, v, err, stage, aliases)
	}
}
