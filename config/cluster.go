package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// The worker's API server client rate limit, as Argo Rollouts' controller defaults (40, 80).
const (
	DefaultKubeQPS   = 40
	DefaultKubeBurst = 80
)

// routeDomain is a lowercase RFC 1123 DNS subdomain: a route's hostname ends with it.
var routeDomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

// ClusterConfig configures the Kubernetes backend. With no kubeconfig and no in-cluster mode the
// worker has no cluster (runs that deploy fail with BackendNotConfigured).
type ClusterConfig struct {
	Mode             string        // DEPLOYER_CLUSTER: "" (kubeconfig if KUBECONFIG is set), "in-cluster", "none"
	Kubeconfig       string        // KUBECONFIG: path of a kubeconfig
	Namespace        string        // DEPLOYER_NAMESPACE: where workloads go, default "models"
	Router           string        // DEPLOYER_ROUTER: "replica" (default, plain Kubernetes) or "gateway" (HTTPRoute weights)
	Gateway          string        // DEPLOYER_GATEWAY: the Gateway routes attach to, default "models"
	GatewayNamespace string        // DEPLOYER_GATEWAY_NAMESPACE: default: the workloads' namespace
	ShadowMirror     bool          // DEPLOYER_SHADOW_MIRROR: mirror live traffic to shadows (Gateway API), default true
	RouteDomain      string        // DEPLOYER_ROUTE_DOMAIN: routes match <deployment>.<environment>.<domain>, default models.internal
	QPS              float32       // DEPLOYER_KUBE_QPS: the API server client's rate limit, default 40 (client-go's own: 5)
	Burst            int           // DEPLOYER_KUBE_BURST: its burst, default 80 (client-go's own: 10)
	ProgressDeadline time.Duration // DEPLOYER_PROGRESS_DEADLINE: a rollout without progress fails, default 600s
	ScaleDownDelay   time.Duration // DEPLOYER_SCALE_DOWN_DELAY: old canary kept after promotion, default 30s
	Endpoints        string        // DEPLOYER_ENDPOINTS: "service-dns" (default) or "ingress"
	IngressURL       string        // DEPLOYER_INGRESS_URL: base URL when DEPLOYER_ENDPOINTS=ingress (<url>/<service>/...)
}

// Configured reports whether the worker gets a cluster.
func (c ClusterConfig) Configured() bool {
	return c.Mode == "in-cluster" || (c.Mode == "" && c.Kubeconfig != "")
}

// DefaultCluster is the cluster configuration with no environment overrides.
func DefaultCluster() ClusterConfig {
	return ClusterConfig{Namespace: "models", Router: "replica", Gateway: "models", ShadowMirror: true, RouteDomain: "models.internal",
		QPS: DefaultKubeQPS, Burst: DefaultKubeBurst,
		ProgressDeadline: 600 * time.Second, ScaleDownDelay: 30 * time.Second, Endpoints: "service-dns"}
}

func (r *reader) cluster(c *ClusterConfig) {
	r.str("DEPLOYER_CLUSTER", &c.Mode)
	r.str("KUBECONFIG", &c.Kubeconfig)
	r.str("DEPLOYER_NAMESPACE", &c.Namespace)
	r.str("DEPLOYER_ROUTER", &c.Router)
	r.str("DEPLOYER_GATEWAY", &c.Gateway)
	r.str("DEPLOYER_GATEWAY_NAMESPACE", &c.GatewayNamespace)
	r.bool("DEPLOYER_SHADOW_MIRROR", &c.ShadowMirror)
	r.str("DEPLOYER_ROUTE_DOMAIN", &c.RouteDomain)
	qps := float64(c.QPS)
	r.float("DEPLOYER_KUBE_QPS", &qps)
	c.QPS = float32(qps)
	r.int("DEPLOYER_KUBE_BURST", &c.Burst)
	r.dur("DEPLOYER_PROGRESS_DEADLINE", &c.ProgressDeadline)
	r.dur("DEPLOYER_SCALE_DOWN_DELAY", &c.ScaleDownDelay)
	r.str("DEPLOYER_ENDPOINTS", &c.Endpoints)
	r.str("DEPLOYER_INGRESS_URL", &c.IngressURL)
}

// longLabel reports whether a DNS name has a label over 63 characters.
func longLabel(name string) bool {
	return slices.ContainsFunc(strings.Split(name, "."), func(l string) bool { return len(l) > 63 })
}

func (c ClusterConfig) validate() error {
	switch {
	case c.Mode != "" && c.Mode != "in-cluster" && c.Mode != "none":
		return fmt.Errorf("DEPLOYER_CLUSTER must be in-cluster or none, got %q", c.Mode)
	case c.Router != "replica" && c.Router != "gateway":
		return fmt.Errorf("DEPLOYER_ROUTER must be replica or gateway, got %q", c.Router)
	case c.Endpoints == "loopback-harness":
		return fmt.Errorf("DEPLOYER_ENDPOINTS=loopback-harness: the loopback harness is no longer part of the worker; " +
			"run cmd/loopback-harness (tests and demo only) and set DEPLOYER_ENDPOINTS=ingress, DEPLOYER_INGRESS_URL to the URL it prints")
	case c.Endpoints != "service-dns" && c.Endpoints != "ingress":
		return fmt.Errorf("DEPLOYER_ENDPOINTS must be service-dns or ingress, got %q", c.Endpoints)
	case c.Endpoints == "ingress" && c.IngressURL == "":
		return fmt.Errorf("DEPLOYER_ENDPOINTS=ingress needs DEPLOYER_INGRESS_URL")
	case !routeDomain.MatchString(c.RouteDomain) || len(c.RouteDomain) > 200 || longLabel(c.RouteDomain):
		return fmt.Errorf("DEPLOYER_ROUTE_DOMAIN must be a lowercase DNS domain (RFC 1123, e.g. models.example.com), got %q", c.RouteDomain)
	case c.QPS <= 0 || c.Burst < 1:
		return fmt.Errorf("DEPLOYER_KUBE_QPS must be positive and DEPLOYER_KUBE_BURST at least 1, got %g and %d", c.QPS, c.Burst)
	case c.ProgressDeadline < time.Second:
		return fmt.Errorf("DEPLOYER_PROGRESS_DEADLINE must be at least 1s")
	}
	return nil
}
