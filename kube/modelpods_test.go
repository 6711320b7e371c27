package kube

import (
	"context"
	"errors"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
)

// TestDeployNeedsModelPodPolicy: the backend creates no namespace (cluster-scoped rights) and runs
// no model pod without the ServiceAccount and NetworkPolicy deploy/ gives the namespace; either
// missing is a permanent refusal that writes nothing, a failed read is retried.
func TestDeployNeedsModelPodPolicy(t *testing.T) {
	policy := modelPodPolicy("models")
	cases := []struct {
		name      string
		objs      []runtime.Object
		forbidden string // the read that fails
		refused   bool
	}{
		{"neither", nil, "", true},
		{"no network policy", policy[:1], "", true},
		{"no service account", policy[1:], "", true},
		{"both, readable", policy, "", false},
		{"service account unreadable", policy, "serviceaccounts", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newBareFakeCluster(t, tc.objs...)
			if tc.forbidden != "" {
				f.fail("get", tc.forbidden)
			}
			_, err := f.backend(t, Options{}).Deploy(context.Background(), testSpec("staging", RoleStable))
			var re *RefusedError
			switch {
			case tc.refused && (!errors.As(err, &re) || re.Rule != "model-pods" || !re.Permanent()):
				t.Fatalf("Deploy = %v; want a permanent model-pods refusal", err)
			case tc.forbidden != "" && (!apierrors.IsForbidden(err) || errors.As(err, &re)):
				t.Fatalf("Deploy = %v; want the Forbidden read, retryable", err)
			case !tc.refused && tc.forbidden == "" && err != nil:
				t.Fatalf("Deploy: %v", err)
			}
			for _, a := range f.cs.Actions() {
				if a.GetResource().Resource == "namespaces" {
					t.Errorf("touched a namespace: %s", a.GetVerb())
				}
				if (tc.refused || tc.forbidden != "") && a.GetVerb() == "patch" {
					t.Errorf("wrote %s after the refusal", a.GetResource().Resource)
				}
			}
		})
	}
}
