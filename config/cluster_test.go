package config

import (
	"strings"
	"testing"
	"time"
)

func TestLoadCluster(t *testing.T) {
	cases := []struct {
		name       string
		vars       map[string]string
		configured bool
		check      func(ClusterConfig) bool
		wantErr    string
	}{
		{"none by default", nil, false, nil, ""},
		{"a kubeconfig configures it", map[string]string{"KUBECONFIG": "/k"}, true, func(c ClusterConfig) bool { return c.Kubeconfig == "/k" }, ""},
		{"none wins over a kubeconfig", map[string]string{"KUBECONFIG": "/k", "DEPLOYER_CLUSTER": "none"}, false, nil, ""},
		{"in-cluster", map[string]string{"DEPLOYER_CLUSTER": "in-cluster"}, true, nil, ""},
		{"gateway router and ingress", map[string]string{"KUBECONFIG": "/k", "DEPLOYER_ROUTER": "gateway", "DEPLOYER_ENDPOINTS": "ingress",
			"DEPLOYER_INGRESS_URL": "http://127.0.0.1:8080", "DEPLOYER_PROGRESS_DEADLINE": "20s", "DEPLOYER_SCALE_DOWN_DELAY": "0s",
			"DEPLOYER_NAMESPACE": "ml"}, true,
			func(c ClusterConfig) bool {
				return c.Router == "gateway" && c.Endpoints == "ingress" && c.IngressURL == "http://127.0.0.1:8080" &&
					c.ProgressDeadline == 20*time.Second && c.ScaleDownDelay == 0 && c.Namespace == "ml"
			}, ""},
		{"the harness is not in the worker", map[string]string{"KUBECONFIG": "/k", "DEPLOYER_ENDPOINTS": "loopback-harness"}, false, nil,
			"cmd/loopback-harness"},
		{"unknown mode", map[string]string{"DEPLOYER_CLUSTER": "remote"}, false, nil, "DEPLOYER_CLUSTER"},
		{"unknown router", map[string]string{"DEPLOYER_ROUTER": "istio"}, false, nil, "DEPLOYER_ROUTER"},
		{"unknown endpoints", map[string]string{"DEPLOYER_ENDPOINTS": "magic"}, false, nil, "DEPLOYER_ENDPOINTS"},
		{"ingress without url", map[string]string{"DEPLOYER_ENDPOINTS": "ingress"}, false, nil, "DEPLOYER_INGRESS_URL"},
		{"tiny deadline", map[string]string{"DEPLOYER_PROGRESS_DEADLINE": "10ms"}, false, nil, "DEPLOYER_PROGRESS_DEADLINE"},
		{"route domain", map[string]string{"DEPLOYER_ROUTE_DOMAIN": "models.example.com"}, false,
			func(c ClusterConfig) bool { return c.RouteDomain == "models.example.com" }, ""},
		{"route domain with a scheme", map[string]string{"DEPLOYER_ROUTE_DOMAIN": "https://models.example.com"}, false, nil, "DEPLOYER_ROUTE_DOMAIN"},
		{"route domain uppercase", map[string]string{"DEPLOYER_ROUTE_DOMAIN": "Models.Example.com"}, false, nil, "DEPLOYER_ROUTE_DOMAIN"},
		{"kube client rate limit", map[string]string{"DEPLOYER_KUBE_QPS": "100", "DEPLOYER_KUBE_BURST": "200"}, false,
			func(c ClusterConfig) bool { return c.QPS == 100 && c.Burst == 200 }, ""},
		{"kube qps 0", map[string]string{"DEPLOYER_KUBE_QPS": "0"}, false, nil, "DEPLOYER_KUBE_QPS"},
		{"route domain with a 64-character label", map[string]string{"DEPLOYER_ROUTE_DOMAIN": strings.Repeat("a", 64) + ".example.com"}, false, nil, "DEPLOYER_ROUTE_DOMAIN"},
		{"route domain with a wildcard", map[string]string{"DEPLOYER_ROUTE_DOMAIN": "*.example.com"}, false, nil, "DEPLOYER_ROUTE_DOMAIN"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(env(tc.vars))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Cluster.Configured() != tc.configured {
				t.Errorf("configured = %v", c.Cluster.Configured())
			}
			if tc.check != nil && !tc.check(c.Cluster) {
				t.Errorf("cluster config %+v", c.Cluster)
			}
		})
	}
}
