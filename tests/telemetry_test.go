package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"

	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/tests/realparts"
)

// TestWorkerTelemetry: a promotion to Staging, started by `tdctl start`, on a worker with its
// metrics endpoint on and both tracing over OTLP to an in-test collector. (a) A real Prometheus
// scraping the worker (the demo's job) answers the PromQL for the run's outcome and for the SDK's
// own completed-workflow counter. (b) The collector receives one trace from tdctl's start through
// the worker's workflow to its activities, and tdctl's later query in a trace of its own.
func TestWorkerTelemetry(t *testing.T) {
	tp := realparts.StartTemporal(t)
	collector := startOTLPCollector(t)
	port, err := realparts.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := "127.0.0.1:" + strconv.Itoa(port)
	otelEnv := []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://" + collector.addr, "OTEL_BSP_SCHEDULE_DELAY=200"}
	e := promoteWorld(t, tp, realparts.StartMLflow(t), "", append([]string{"DEPLOYER_METRICS_ADDR=" + metricsAddr}, otelEnv...)...)
	e.worker = realparts.StartWorker(t, e.workEnv...)
	promURL := realparts.StartPrometheusScrapingWorker(t, filepath.Join(t.TempDir(), "targets.json"), metricsAddr)

	name := fmt.Sprintf("otel-%d", time.Now().UnixNano()%1e6)
	id := "staging-" + name
	tdctlEnv := append(otelEnv, "TEMPORAL_ADDRESS="+tp.Address)
	input := filepath.Join(t.TempDir(), "input.json")
	b, _ := json.Marshal(e.input(name, contract.ActionPromote, contract.EnvStaging, false))
	if err := os.WriteFile(input, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, code := realparts.TDCtl(t, tdctlEnv, "start", "-id", id, "-wait", "2m", input)
	var res contract.Output
	if i := strings.IndexByte(out, '{'); code != 0 || i < 0 || json.Unmarshal([]byte(out[i:]), &res) != nil ||
		res.VersionRecord.Stage != contract.StageStaging {
		t.Fatalf("tdctl start of a promotion to Staging: exit %d\n%s", code, out)
	}
	// The run has left the worker's cache as it closed: the worker answers this query by replaying
	// its history, which must not count it again.
	if out, code := realparts.TDCtl(t, tdctlEnv, "status", id); code != 0 {
		t.Fatalf("tdctl status: exit %d\n%s", code, out)
	}
	if n := scrapeSum(t, "http://"+metricsAddr+"/metrics", "deployer_deployments_total{"); n != 1 {
		t.Errorf("the worker counts %v finished runs after a query replayed the one run, want 1", n)
	}
	checkWorkerProbes(t, metricsAddr)

	t.Run("prometheus", func(t *testing.T) {
		for _, q := range []string{
			`deployer_deployments_total{job="temporaldeployer-worker",action="promote",environment="staging",outcome="succeeded"}`,
			`temporal_workflow_completed_total{job="temporaldeployer-worker",workflow_type="ModelDeployment"}`,
			`deployer_gate_verdicts_total{job="temporaldeployer-worker",gate="stage_ladder",verdict="allowed"}`,
			`deployer_deployment_duration_seconds_count{job="temporaldeployer-worker",action="promote",outcome="succeeded"}`,
		} {
			if v := awaitPromValue(t, promURL, q, 30*time.Second); v != 1 {
				t.Errorf("%s = %v, want 1 (the one run)", q, v)
			}
		}
	})
	t.Run("traces", func(t *testing.T) {
		spans := collector.await(t, 30*time.Second, func(s []span) bool {
			return hasSpan(s, "temporaldeployer-worker", "RunActivity:Record") && hasSpan(s, "tdctl", "QueryWorkflow:status")
		})
		start := find(spans, "tdctl", "StartWorkflow:"+contract.WorkflowType)
		wf := find(spans, "temporaldeployer-worker", "RunWorkflow:"+contract.WorkflowType)
		if start == nil || wf == nil {
			t.Fatalf("no start or workflow span: %v", spans)
		}
		for _, s := range spans {
			if s.service == "temporaldeployer-worker" && !strings.HasPrefix(s.name, "HandleQuery:") && s.trace != start.trace {
				t.Errorf("worker span %s is in trace %s, not the start's %s", s.name, s.trace, start.trace)
			}
		}
		for _, act := range []string{"Claim", "ResolveModel", "PromoteStage", "Record", "Release"} {
			run := find(spans, "temporaldeployer-worker", "RunActivity:"+act)
			sched := find(spans, "temporaldeployer-worker", "StartActivity:"+act)
			if run == nil || sched == nil || run.parent != sched.id {
				t.Errorf("activity %s: scheduled %v, ran %v (want the run under the schedule)", act, sched, run)
			}
		}
		if q := find(spans, "tdctl", "QueryWorkflow:status"); q == nil || q.trace == start.trace {
			t.Errorf("tdctl's query: %v, want a trace of its own", q)
		}
	})
	assertLogKeys(t, e.worker.Log)
}

// assertLogKeys: the worker's structured logs keep their fixed keys with telemetry on.
func assertLogKeys(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("a log line that is not JSON: %s", line)
			continue
		}
		if rec["msg"] == "worker started" {
			for _, k := range []string{"task_queue", "temporal", "namespace", "mlflow", "database", "packager", "cluster"} {
				if _, ok := rec[k]; !ok {
					t.Errorf("worker started without %q: %s", k, line)
				}
			}
			return
		}
	}
	t.Errorf("no worker started line in %s", path)
}

// scrapeSum reads a Prometheus text endpoint and adds up the samples whose line starts with prefix.
func scrapeSum(t *testing.T, endpoint, prefix string) float64 {
	t.Helper()
	resp, err := http.Get(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var sum float64
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, prefix) {
			v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			if err != nil {
				t.Fatalf("sample %q: %v", line, err)
			}
			sum += v
		}
	}
	return sum
}

// awaitPromValue polls an instant PromQL query until it returns one series, and returns its value.
func awaitPromValue(t *testing.T, promURL, query string, within time.Duration) float64 {
	t.Helper()
	deadline := time.Now().Add(within)
	var last string
	for time.Now().Before(deadline) {
		resp, err := http.Get(promURL + "/api/v1/query?query=" + url.QueryEscape(query))
		if err == nil {
			var r struct {
				Data struct {
					Result []struct {
						Value [2]any `json:"value"`
					} `json:"result"`
				} `json:"data"`
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = string(b)
			if json.Unmarshal(b, &r) == nil && len(r.Data.Result) == 1 {
				v, _ := strconv.ParseFloat(fmt.Sprint(r.Data.Result[0].Value[1]), 64)
				return v
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("%s: no single series within %s; last answer %s", query, within, last)
	return 0
}

// span is what the test reads of a received span.
type span struct{ service, name, trace, id, parent string }

func hasSpan(spans []span, service, name string) bool { return find(spans, service, name) != nil }

func find(spans []span, service, name string) *span {
	i := slices.IndexFunc(spans, func(s span) bool { return s.service == service && s.name == name })
	if i < 0 {
		return nil
	}
	return &spans[i]
}

// otlpCollector is an OTLP/gRPC trace receiver on loopback: the collector's TraceService.
type otlpCollector struct {
	collectortrace.UnimplementedTraceServiceServer
	addr  string
	mu    sync.Mutex
	spans []span
}

func startOTLPCollector(t *testing.T) *otlpCollector {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &otlpCollector{addr: ln.Addr().String()}
	srv := grpc.NewServer()
	collectortrace.RegisterTraceServiceServer(srv, c)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return c
}

func (c *otlpCollector) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		service := ""
		for _, a := range rs.GetResource().GetAttributes() {
			if a.GetKey() == "service.name" {
				service = a.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				c.spans = append(c.spans, span{service: service, name: s.GetName(), trace: fmt.Sprintf("%x", s.GetTraceId()),
					id: fmt.Sprintf("%x", s.GetSpanId()), parent: fmt.Sprintf("%x", s.GetParentSpanId())})
			}
		}
	}
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

// await returns the spans received once done says they are enough.
func (c *otlpCollector) await(t *testing.T, within time.Duration, done func([]span) bool) []span {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		c.mu.Lock()
		spans := slices.Clone(c.spans)
		c.mu.Unlock()
		if done(spans) {
			return spans
		}
		if time.Now().After(deadline) {
			t.Fatalf("the collector did not receive the spans within %s: %v", within, spans)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkWorkerProbes: the probes deploy/deployment.yaml gives the worker's container answer 200 on
// a running worker's endpoint (liveness /healthz, readiness /readyz once it polls).
func checkWorkerProbes(t *testing.T, addr string) {
	t.Helper()
	type probe struct {
		HTTPGet struct {
			Path string `json:"path"`
			Port string `json:"port"`
		} `json:"httpGet"`
	}
	var d struct {
		Spec struct {
			Template struct {
				Spec struct {
					Containers []struct {
						LivenessProbe, ReadinessProbe *probe
					} `json:"containers"`
				} `json:"spec"`
			} `json:"template"`
		} `json:"spec"`
	}
	readYAMLFile(t, filepath.Join(realparts.Root(), "deploy", "deployment.yaml"), &d)
	c := d.Spec.Template.Spec.Containers
	if len(c) != 1 || c[0].LivenessProbe == nil || c[0].ReadinessProbe == nil {
		t.Fatalf("deploy/deployment.yaml: want one container with a liveness and a readiness probe, got %+v", c)
	}
	for _, p := range []*probe{c[0].LivenessProbe, c[0].ReadinessProbe} {
		resp, err := http.Get("http://" + addr + p.HTTPGet.Path)
		if err != nil || resp.StatusCode != http.StatusOK || p.HTTPGet.Port != "metrics" {
			t.Errorf("probe %s on port %s of a polling worker: %v %v", p.HTTPGet.Path, p.HTTPGet.Port, resp, err)
			continue
		}
		resp.Body.Close()
	}
}
