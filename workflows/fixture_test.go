package workflows

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/temporaldeployer/temporaldeployer/activities"
	"github.com/temporaldeployer/temporaldeployer/config"
	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/drift"
	"github.com/temporaldeployer/temporaldeployer/governance"
	"github.com/temporaldeployer/temporaldeployer/kube"
	"github.com/temporaldeployer/temporaldeployer/packaging"
	"github.com/temporaldeployer/temporaldeployer/probe"
	"github.com/temporaldeployer/temporaldeployer/registry"
	"github.com/temporaldeployer/temporaldeployer/rules"
	"github.com/temporaldeployer/temporaldeployer/store"
)

// world is the in-memory state the mocked activities act on, so tests can assert what changed.
type world struct {
	policy     config.Policy
	registered bool
	stage      contract.Stage
	calls      map[string]int
	sequence   []string // the activities called, in order
	weights    []int
	restores   []activities.RestoreRequest
	decisions  []store.Decision
	rows       map[string]store.Deployment
	knownGood  *store.Deployment // a healthy earlier deployment in every environment
	current    *store.Deployment // the newest healthy deployment, if set (for rollback runs)
	deployed   *kube.Spec        // what the cluster runs as every environment's stable, if set
	readErr    error             // CheckRollbackAvailability fails with it, if set
	unhealthy  map[string]bool   // health URL → fails
	lockHeldBy string            // every environment's lock is held by this workflow, if set
	heldBy     map[string]string // environment → the workflow holding its lock
	locks      []string          // "claim <env>", "release <env>" and "restore <env>", in order
	deployErr  error
	restoreErr error // RestoreWorkload fails with it, if set
	// inProduction is the version PromoteStage archives when this one takes Production ("": none).
	inProduction string
	promotes     []activities.PromoteRequest

	// Measured gates: what HoldShadow, MeasureCanary and FindShadowEvidence answer.
	shadowHold func(activities.ShadowHoldRequest) (activities.ShadowMeasurement, error)        // nil: a good hold
	canary     func(round int, r activities.CanaryMeasureRequest) activities.CanaryMeasurement // nil: good
	canaryRuns int
	evidence   *activities.FoundEvidence // recorded measured shadow evidence, if any
	tags       []activities.TagRequest
	duringHold func() // called from inside the (blocking) hold, e.g. to send abort

	// Registry evidence gates: what ReadRegistryEvidence answers (nil: goodRegistryEvidence) and
	// the bento requirements PackageModel reports (nil: goodBentoRequirements).
	registryEvidence *activities.RegistryEvidence
	evidenceQueries  []activities.EvidenceQuery
	bentoReqs        []string
	// Drift: what the hold's drift measurement says (nil: driftMeasured with unshifted counts).
	drift         *activities.DriftMeasurement
	driftRequests []activities.DriftRequest
}

// driftProfile has two features f0, f1 with four equal bins.
var driftProfile = drift.Profile{Version: 1, Features: []drift.Feature{
	{Name: "f0", Edges: []float64{-1, 0, 1}, Expected: []float64{0.25, 0.25, 0.25, 0.25}},
	{Name: "f1", Edges: []float64{-1, 0, 1}, Expected: []float64{0.25, 0.25, 0.25, 0.25}},
}}

// driftMeasured is the real drift judgement of driftProfile over the counts of f0 and f1.
func driftMeasured(counts [][]float64) *activities.DriftMeasurement {
	v, err := drift.Judge(driftProfile, map[string][]float64{"f0": counts[0], "f1": counts[1]}, 0.2, drift.Options{})
	if err != nil {
		panic(err) // the counts are the test's own
	}
	return &activities.DriftMeasurement{Profile: activities.ProfilePresent, Verdict: &v}
}

// goodRegistryEvidence passes R1, R10 and R12 (the MLflow side).
func goodRegistryEvidence() activities.RegistryEvidence {
	return activities.RegistryEvidence{
		Evidence: governance.Evidence{
			Tags:          map[string]string{"tests.passed": "42", "tests.failed": "0", "tests.coverage": "0.935"},
			Artifacts:     []string{"model_card.md", "requirements.txt"},
			ModelCardText: "# Fraud detector\nIntended use: card-not-present fraud scoring.",
			Requirements:  []string{"mlflow==3.17.2", "scikit-learn==1.9.1"},
			BentoPending:  true,
		},
		DriftProfile: activities.ProfilePresent,
		TagSources:   map[string]string{"tests.passed": "run", "tests.failed": "run", "tests.coverage": "run"},
	}
}

var goodBentoRequirements = []string{"scikit-learn==1.9.1", "mlflow==3.17.2", "bentoml==1.4.39"}

func newWorld() *world {
	p := config.DefaultPolicy()
	p.Backends = config.Backends{Packager: true, Cluster: true, Metrics: true}
	p.Approvals = testApprovers(1, false)
	return &world{policy: p, stage: contract.StageNone, calls: map[string]int{}, rows: map[string]store.Deployment{}, unhealthy: map[string]bool{}}
}

func (w *world) verdicts(gate string) []string {
	var out []string
	for _, d := range w.decisions {
		if d.Gate == gate {
			out = append(out, d.Verdict)
		}
	}
	return out
}

type suite struct {
	testsuite.WorkflowTestSuite
}

func (s *suite) env(t *testing.T, wd *world) *testsuite.TestWorkflowEnvironment {
	s.SetLogger(tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(ModelDeployment, workflow.RegisterOptions{Name: contract.WorkflowType})
	env.RegisterActivity(&activities.Activities{})
	count := func(name string) { wd.calls[name]++; wd.sequence = append(wd.sequence, name) }
	env.OnActivity(a.LoadPolicy, mock.Anything).Return(func(context.Context) (config.Policy, error) {
		count("LoadPolicy")
		return wd.policy, nil
	})
	env.OnActivity(a.Claim, mock.Anything, mock.Anything).Return(func(_ context.Context, l store.Lock) error {
		count("Claim")
		wd.locks = append(wd.locks, "claim "+l.Environment)
		if wd.lockHeldBy != "" && wd.lockHeldBy != l.WorkflowID {
			return contract.NewError(contract.ErrConcurrentDeployment, "held by %s", wd.lockHeldBy)
		}
		if by := wd.heldBy[l.Environment]; by != "" && by != l.WorkflowID {
			return contract.NewError(contract.ErrConcurrentDeployment, "%s held by %s", l.Environment, by)
		}
		return nil
	})
	env.OnActivity(a.Release, mock.Anything, mock.Anything).Return(func(_ context.Context, l store.Lock) error {
		count("Release")
		wd.locks = append(wd.locks, "release "+l.Environment)
		return nil
	})
	env.OnActivity(a.Record, mock.Anything, mock.Anything).Return(func(_ context.Context, c store.Change) error {
		count("Record")
		wd.decisions = append(wd.decisions, c.Decisions...)
		if c.Deployment != nil {
			wd.rows[c.Deployment.DeploymentID] = *c.Deployment
		}
		return nil
	})
	env.OnActivity(a.ResolveModel, mock.Anything, mock.Anything).Return(func(_ context.Context, r activities.ResolveRequest) (activities.Resolution, error) {
		count("ResolveModel")
		v := registry.Version{Name: r.ModelName, Stage: wd.stage}
		if wd.registered {
			v.Version = "1"
		}
		return activities.Resolution{Registered: wd.registered, Version: v}, nil
	})
	env.OnActivity(a.PromoteStage, mock.Anything, mock.Anything).Return(func(_ context.Context, r activities.PromoteRequest) (registry.Version, error) {
		count("PromoteStage")
		wd.promotes = append(wd.promotes, r)
		wd.registered, wd.stage = true, r.Change.Stage
		v := registry.Version{Name: r.ModelName, Version: "1", Stage: wd.stage, Restored: r.Change.Restore}
		if r.Change.Stage == contract.StageProduction {
			v.Archived = wd.inProduction
		}
		return v, nil
	})
	env.OnActivity(a.PackageModel, mock.Anything, mock.Anything).Return(func(_ context.Context, r packaging.Request) (packaging.Artifact, error) {
		count("PackageModel")
		reqs := wd.bentoReqs
		if reqs == nil {
			reqs = goodBentoRequirements
		}
		return packaging.Artifact{BentoTag: r.BentoTag, Image: "registry.local/models@sha256:" + fmt.Sprintf("%064d", 1),
			BentoRequirements: reqs}, nil
	})
	env.OnActivity(a.ReadRegistryEvidence, mock.Anything, mock.Anything).Return(func(_ context.Context, q activities.EvidenceQuery) (activities.RegistryEvidence, error) {
		count("ReadRegistryEvidence")
		wd.evidenceQueries = append(wd.evidenceQueries, q)
		if wd.registryEvidence != nil {
			return *wd.registryEvidence, nil
		}
		return goodRegistryEvidence(), nil
	})
	env.OnActivity(a.DeployWorkload, mock.Anything, mock.Anything).Return(func(_ context.Context, sp kube.Spec) (kube.Rollout, error) {
		count("DeployWorkload")
		if wd.deployErr != nil {
			return kube.Rollout{}, wd.deployErr
		}
		return rollout(sp.Environment, string(sp.Role)), nil
	})
	env.OnActivity(a.SetTrafficWeight, mock.Anything, mock.Anything).Return(func(_ context.Context, r activities.WeightRequest) error {
		count("SetTrafficWeight")
		wd.weights = append(wd.weights, r.Weight)
		return nil
	})
	env.OnActivity(a.PromoteCanary, mock.Anything, mock.Anything).Return(func(_ context.Context, r activities.WeightRequest) (kube.Rollout, error) {
		count("PromoteCanary")
		return rollout(r.Environment, string(kube.RoleStable)), nil
	})
	env.OnActivity(a.RestoreWorkload, mock.Anything, mock.Anything).Return(func(_ context.Context, r activities.RestoreRequest) (kube.Rollout, error) {
		count("RestoreWorkload")
		wd.restores = append(wd.restores, r)
		wd.locks = append(wd.locks, "restore "+r.Environment)
		if wd.restoreErr != nil {
			return kube.Rollout{}, wd.restoreErr
		}
		return rollout(r.Environment, "stable"), nil
	})
	env.OnActivity(a.CheckHealth, mock.Anything, mock.Anything).Return(func(_ context.Context, t probe.Target) (probe.Result, error) {
		count("CheckHealth")
		if wd.unhealthy[t.HealthURL] {
			return probe.Result{Healthy: false, Attempts: 3, Error: "HTTP 503"}, nil
		}
		return probe.Result{Healthy: true, StatusCode: 200, Attempts: 1, ResponseTime: time.Millisecond}, nil
	})
	env.OnActivity(a.CheckRollbackAvailability, mock.Anything, mock.Anything).Return(func(_ context.Context, q activities.RollbackQuery) (activities.RollbackInfo, error) {
		count("CheckRollbackAvailability")
		if wd.readErr != nil {
			return activities.RollbackInfo{}, wd.readErr
		}
		info := activities.RollbackInfo{}
		if wd.deployed != nil {
			d := *wd.deployed
			d.Environment = q.Environment
			info.Deployed = &d
		}
		if q.ExcludeID == "" && wd.current != nil {
			info.Available, info.Target = true, *wd.current
			return info, nil
		}
		if wd.knownGood == nil || wd.knownGood.DeploymentID == q.ExcludeID {
			return info, nil
		}
		kg := *wd.knownGood
		kg.Environment = q.Environment
		info.Available, info.Target = true, kg
		return info, nil
	})
	s.gateMocks(env, wd, count)
	return env
}

// gateMocks answer the measured gates' activities from the world.
func (s *suite) gateMocks(env *testsuite.TestWorkflowEnvironment, wd *world, count func(string)) {
	env.OnActivity(a.HoldShadow, mock.Anything, mock.Anything).Return(func(ctx context.Context, r activities.ShadowHoldRequest) (activities.ShadowMeasurement, error) {
		count("HoldShadow")
		if wd.duringHold != nil {
			wd.duringHold()
			<-ctx.Done() // the hold runs until cancelled
			return activities.ShadowMeasurement{}, ctx.Err()
		}
		if wd.shadowHold != nil {
			return wd.shadowHold(r)
		}
		m := activities.ShadowMeasurement{Last: sample(r.Workload, r.From, r.From.Add(r.Hold), 18000, 20, 42), Samples: int(r.Hold / r.Every)}
		if r.Drift != nil {
			wd.driftRequests = append(wd.driftRequests, *r.Drift)
			m.Drift = wd.drift
			if m.Drift == nil {
				m.Drift = driftMeasured([][]float64{{250, 250, 250, 250}, {240, 260, 255, 245}})
			}
		}
		return m, nil
	})
	env.OnActivity(a.MeasureCanary, mock.Anything, mock.Anything).Return(func(_ context.Context, r activities.CanaryMeasureRequest) (activities.CanaryMeasurement, error) {
		count("MeasureCanary")
		wd.canaryRuns++
		if wd.canary != nil {
			return wd.canary(wd.canaryRuns, r), nil
		}
		return activities.CanaryMeasurement{Canary: sample(r.Canary, r.From, r.To, 500, 1, 40), Stable: sample(r.Stable, r.From, r.To, 9500, 10, 38)}, nil
	})
	// WatchCanary answers as MeasureCanary would over its window, once the hold has passed on the
	// workflow clock (the tests' holds are the policy's default); early stops are the activity's.
	env.OnActivity(a.WatchCanary, mock.Anything, mock.Anything).AfterFn(func() time.Duration { return wd.policy.CanaryHoldDefault }).
		Return(func(_ context.Context, r activities.CanaryWatchRequest) (activities.CanaryMeasurement, error) {
			count("WatchCanary")
			wd.canaryRuns++
			if wd.canary != nil {
				return wd.canary(wd.canaryRuns, r.CanaryMeasureRequest), nil
			}
			m := activities.CanaryMeasurement{Canary: sample(r.Canary, r.From, r.To, 500, 1, 40), Stable: sample(r.Stable, r.From, r.To, 9500, 10, 38)}
			return m, nil
		})
	env.OnActivity(a.FindShadowEvidence, mock.Anything, mock.Anything).Return(func(_ context.Context, r activities.EvidenceRequest) (activities.FoundEvidence, error) {
		count("FindShadowEvidence")
		if wd.evidence == nil || wd.evidence.DecidedAt.Before(r.NotBefore) {
			return activities.FoundEvidence{}, nil
		}
		return *wd.evidence, nil
	})
	env.OnActivity(a.TagVersion, mock.Anything, mock.Anything).Return(func(_ context.Context, r activities.TagRequest) error {
		count("TagVersion")
		wd.tags = append(wd.tags, r)
		return nil
	})
}

// sample is a measured sample of a workload: n requests, errs 5xx, p99 in ms.
func sample(w rules.Workload, from, to time.Time, n, errs, p99 float64) rules.Sample {
	s := rules.Sample{Workload: w, Start: from, End: to, Requests: n, Errors: errs, P99MS: p99}
	if n > 0 {
		s.ErrorRate = errs / n
	} else {
		s.NoData, s.P99MS = true, 0
	}
	return s
}

// measuredEvidence is passed shadow evidence recorded by an earlier run, decided at `at`.
func measuredEvidence(at time.Time) *activities.FoundEvidence {
	from, to := at.Add(-24*time.Hour), at
	return &activities.FoundEvidence{Found: true, Key: "earlier/run/007-shadow_criteria", WorkflowID: "earlier", DecidedAt: at,
		Evidence: rules.ShadowEvidence{DurationHours: 24, Requests: 18000, ErrorRate: 0.001, LatencyP99MS: 42,
			Source: contract.SourceMeasured, HeldFrom: &from, HeldTo: &to, Samples: 288}}
}

func rollout(env, role string) kube.Rollout {
	base := "http://" + env + "-" + role + ".test"
	return kube.Rollout{EndpointName: env + "-" + role, EndpointURL: base, HealthURL: base + "/readyz", MetricsURL: base + "/metrics"}
}

// input is a valid deploy input; mutate it per test.
func input() contract.Input {
	met := true
	return contract.Input{
		ModelURI: "runs:/abc123/model", ExperimentID: "42", DeploymentName: "fraud-detector",
		ValidationMetrics: map[string]float64{"auc": 0.91}, SuccessCriteriaMet: &met,
	}
}

func goodShadow(in *contract.Input) {
	h, n, e, p := 24.0, int64(1000), 0.009, 149.0
	in.ShadowModeDurationHours, in.ShadowModeRequests, in.ShadowModeErrorRate, in.ShadowModeLatencyP99MS = &h, &n, &e, &p
}

// errType returns the ApplicationError type at the root of a workflow error, or "".
// approveAfter signals alice's approval d into the run, signed for what the run then awaits.
func approveAfter(t testing.TB, env *testsuite.TestWorkflowEnvironment, d time.Duration) {
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(contract.SignalApprove, signedApproval(t, env, "alice@example.com"))
	}, d)
}

func errType(err error) string {
	for err != nil {
		if app, ok := err.(*temporal.ApplicationError); ok {
			return app.Type()
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return ""
		}
		err = u.Unwrap()
	}
	return ""
}

func result(t *testing.T, env *testsuite.TestWorkflowEnvironment) (contract.Output, error) {
	t.Helper()
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	var out contract.Output
	err := env.GetWorkflowError()
	if err == nil {
		if gerr := env.GetWorkflowResult(&out); gerr != nil {
			t.Fatal(gerr)
		}
	}
	return out, err
}

func status(t *testing.T, env *testsuite.TestWorkflowEnvironment) contract.Status {
	t.Helper()
	v, err := env.QueryWorkflow(contract.QueryStatus)
	if err != nil {
		t.Fatalf("query status: %v", err)
	}
	var s contract.Status
	if err := v.Get(&s); err != nil {
		t.Fatal(err)
	}
	return s
}
