package activities

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/temporaldeployer/temporaldeployer/kube"
	"github.com/temporaldeployer/temporaldeployer/probe"
)

// slowCluster is a unit-test double of kube.Cluster (and of probe.Prober) whose weight, promote
// and probe calls take a while (as waiting for a rollout or a model server does) and stop when
// their context is cancelled.
type slowCluster struct {
	kube.Cluster
	wait    time.Duration
	stopped atomic.Bool // a call returned because its context was cancelled
}

func (c *slowCluster) block(ctx context.Context) error {
	select {
	case <-time.After(c.wait):
		return nil
	case <-ctx.Done():
		c.stopped.Store(true)
		return ctx.Err()
	}
}

func (c *slowCluster) Check(ctx context.Context, _ probe.Target) (probe.Result, error) {
	return probe.Result{Healthy: true}, c.block(ctx)
}
func (c *slowCluster) SetWeight(ctx context.Context, _, _ string, _ int) error { return c.block(ctx) }
func (c *slowCluster) Promote(ctx context.Context, _, _ string) (kube.Rollout, error) {
	return kube.Rollout{}, c.block(ctx)
}

// TestClusterWaitsHeartbeat: SetTrafficWeight and PromoteCanary wait on rollouts and CheckHealth
// on a model server, so they heartbeat while they wait (a cancelled activity learns of it from a heartbeat's answer; one that
// never heartbeats outlives an abort and its heartbeat timeout).
func TestClusterWaitsHeartbeat(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(a *Activities, env *testsuite.TestActivityEnvironment) error
	}{
		{"SetTrafficWeight", func(a *Activities, env *testsuite.TestActivityEnvironment) error {
			_, err := env.ExecuteActivity(a.SetTrafficWeight, WeightRequest{DeploymentName: "fraud", Environment: "production", Weight: 20})
			return err
		}},
		{"PromoteCanary", func(a *Activities, env *testsuite.TestActivityEnvironment) error {
			_, err := env.ExecuteActivity(a.PromoteCanary, WeightRequest{DeploymentName: "fraud", Environment: "production"})
			return err
		}},
		{"CheckHealth", func(a *Activities, env *testsuite.TestActivityEnvironment) error {
			_, err := env.ExecuteActivity(a.CheckHealth, probe.Target{HealthURL: "http://127.0.0.1:1/healthz"})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ts testsuite.WorkflowTestSuite
			env := ts.NewTestActivityEnvironment()
			var beats atomic.Int32
			env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{&beatCounter{n: &beats}}})
			c := &slowCluster{wait: 2500 * time.Millisecond}
			a := &Activities{Cluster: c, Prober: c}
			env.RegisterActivity(a)
			if err := tc.run(a, env); err != nil {
				t.Fatal(err)
			}
			if beats.Load() < 2 {
				t.Fatalf("%d heartbeats during a %s wait, want one per %s", beats.Load(), c.wait, waitBeat)
			}
		})
	}
}

// beatCounter counts every RecordHeartbeat call (the test environment reports only those it sends).
type beatCounter struct {
	interceptor.WorkerInterceptorBase
	n *atomic.Int32
}

func (b *beatCounter) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &beatInbound{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}, n: b.n}
}

type beatInbound struct {
	interceptor.ActivityInboundInterceptorBase
	n *atomic.Int32
}

func (b *beatInbound) Init(outbound interceptor.ActivityOutboundInterceptor) error {
	return b.Next.Init(&beatOutbound{ActivityOutboundInterceptorBase: interceptor.ActivityOutboundInterceptorBase{Next: outbound}, n: b.n})
}

type beatOutbound struct {
	interceptor.ActivityOutboundInterceptorBase
	n *atomic.Int32
}

func (b *beatOutbound) RecordHeartbeat(ctx context.Context, details ...any) {
	b.n.Add(1)
	b.Next.RecordHeartbeat(ctx, details...)
}
