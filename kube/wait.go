package kube

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// RolloutError is a rollout that failed for good: the progress deadline passed, or there was
// nothing to act on. Permanent: the workflow rolls back instead of retrying.
type RolloutError struct {
	Name   string
	Reason string
}

func (e *RolloutError) Error() string {
	return fmt.Sprintf("rollout of %s failed: %s", e.Name, e.Reason)
}
func (e *RolloutError) Permanent() bool { return true }

// workloads sizes Deployments and waits for them; shared by the backend and the routers.
type workloads struct {
	cs       kubernetes.Interface
	ns       string
	poll     time.Duration
	deadline time.Duration
	pollOnly bool // no watch (TestAbortLatency's comparison)
}

// scale sets a Deployment's replicas through the scale subresource; scaling a missing one to
// zero is a no-op.
func (w workloads) scale(ctx context.Context, name string, replicas int32) error {
	deps := w.cs.AppsV1().Deployments(w.ns)
	sc, err := deps.GetScale(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) && replicas == 0 {
		return nil
	}
	if err != nil {
		return fmt.Errorf("deployment %s.%s get scale: %w", name, w.ns, err)
	}
	if sc.Spec.Replicas == replicas {
		return nil
	}
	_, err = deps.UpdateScale(ctx, name, &autoscalingv1.Scale{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: w.ns, ResourceVersion: sc.ResourceVersion},
		Spec:       autoscalingv1.ScaleSpec{Replicas: replicas},
	}, metav1.UpdateOptions{FieldManager: FieldManager})
	if err != nil {
		return fmt.Errorf("deployment %s.%s scale to %d: %w", name, w.ns, replicas, err)
	}
	return nil
}

// waitRollout waits until a Deployment's newest generation is observed and all its desired
// replicas are updated and available, with no old pods left. A Deployment the controller marks
// ProgressDeadlineExceeded, or one still not done a little after the deadline, is a RolloutError.
func (w workloads) waitRollout(ctx context.Context, name string) error {
	return w.waitFor(ctx, name, rolledOut)
}

// waitCapacity waits until a Deployment has its desired replicas available (hasCapacity).
func (w workloads) waitCapacity(ctx context.Context, name string) error {
	return w.waitFor(ctx, name, hasCapacity)
}

// waitFor reads a Deployment each time it changes until check says it is done or failed, or the
// deadline (plus a margin) passes.
func (w workloads) waitFor(ctx context.Context, name string, check func(*appsv1.Deployment) (bool, string)) error {
	give := time.Now().Add(w.deadline + 30*time.Second)
	for {
		d, err := w.cs.AppsV1().Deployments(w.ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil // scaled away or removed: nothing to wait for
		}
		if err != nil {
			return fmt.Errorf("deployment %s.%s get: %w", name, w.ns, err)
		}
		if done, reason := check(d); done {
			return nil
		} else if reason != "" {
			return &RolloutError{Name: name, Reason: reason}
		}
		if time.Now().After(give) {
			return &RolloutError{Name: name, Reason: fmt.Sprintf("no complete rollout within the progress deadline (%s) plus 30s of grace: pods not scheduled or never ready", w.deadline)}
		}
		if err := w.nextChange(ctx, d); err != nil {
			return err
		}
	}
}

// nextChange returns when the Deployment changes after d (a watch event from the API server, so a
// controller's status update is seen as it is written, not at the next poll), or after w.poll at
// most: the poll stays as the floor should a watch be refused or miss an event.
func (w workloads) nextChange(ctx context.Context, d *appsv1.Deployment) error {
	var events <-chan watch.Event
	if !w.pollOnly {
		timeout := int64(max(w.poll/time.Second, 1))
		wi, err := w.cs.AppsV1().Deployments(w.ns).Watch(ctx, metav1.ListOptions{
			FieldSelector: "metadata.name=" + d.Name, ResourceVersion: d.ResourceVersion, TimeoutSeconds: &timeout})
		if err == nil {
			defer wi.Stop()
			events = wi.ResultChan()
		}
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-events:
	case <-time.After(w.poll):
	}
	return nil
}

// rolledOut reports whether a Deployment finished rolling out, or why it never will. A finished
// rollout wins over a ProgressDeadlineExceeded condition (the controller keeps a failed rollout's
// condition when the Deployment is merely scaled, e.g. a failed canary scaled to zero), and the
// condition only counts once the controller observed the newest generation (right after a
// rollback is applied, the condition still describes the failed template).
func rolledOut(d *appsv1.Deployment) (done bool, failed string) {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	st := d.Status
	observed := st.ObservedGeneration >= d.Generation
	if observed && st.UpdatedReplicas == want && st.AvailableReplicas == want && st.Replicas == want {
		return true, ""
	}
	if !observed {
		return false, ""
	}
	return false, deadlineExceeded(d)
}

// deadlineExceeded is why the Deployment controller gave up on a rollout ("" if it did not).
func deadlineExceeded(d *appsv1.Deployment) string {
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse && c.Reason == "ProgressDeadlineExceeded" {
			return fmt.Sprintf("progress deadline (%ds) exceeded: %s", deref(d.Spec.ProgressDeadlineSeconds), c.Message)
		}
	}
	return ""
}

// hasCapacity reports whether a Deployment has its desired replicas available, whatever template
// they run, or why it never will: what moving traffic onto it needs. A stable workload whose own
// rollout failed still serves with its old pods (maxUnavailable 0 kept them).
func hasCapacity(d *appsv1.Deployment) (done bool, failed string) {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	if d.Status.ObservedGeneration < d.Generation {
		return false, ""
	}
	if d.Status.AvailableReplicas >= want {
		return true, ""
	}
	return false, deadlineExceeded(d)
}

// desired returns a Deployment's desired replicas (spec.replicas, as its HPA or a router set
// them) and its resourceVersion; found is false when it does not exist.
func (w workloads) desired(ctx context.Context, name string) (replicas int, resourceVersion string, found bool, err error) {
	d, err := w.cs.AppsV1().Deployments(w.ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return 0, "", false, nil
	}
	if err != nil {
		return 0, "", false, fmt.Errorf("deployment %s.%s get: %w", name, w.ns, err)
	}
	return int(deref(d.Spec.Replicas)), d.ResourceVersion, true, nil
}

// available returns a Deployment's available replicas (0 when it does not exist).
func (w workloads) available(ctx context.Context, name string) (int, error) {
	d, err := w.cs.AppsV1().Deployments(w.ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("deployment %s.%s get: %w", name, w.ns, err)
	}
	return int(d.Status.AvailableReplicas), nil
}

func deref(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}
