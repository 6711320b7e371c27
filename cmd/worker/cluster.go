package main

import (
	"fmt"
	"log/slog"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	gwclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/temporaldeployer/temporaldeployer/config"
	"github.com/temporaldeployer/temporaldeployer/kube"
)

// newCluster builds the Kubernetes backend the configuration asks for (nil when none).
func newCluster(cfg config.Config, log *slog.Logger) (kube.Cluster, error) {
	c := cfg.Cluster
	if !c.Configured() {
		return nil, nil
	}
	rc, err := restConfig(c)
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	opt := kube.Options{Namespace: c.Namespace, ProgressDeadline: c.ProgressDeadline, ScaleDownDelay: c.ScaleDownDelay,
		RouteDomain: c.RouteDomain, Log: log}
	if c.ScaleDownDelay == 0 {
		opt.ScaleDownDelay = -1 // zero means none, not the default
	}
	if c.Endpoints == "ingress" {
		opt.Endpoints = kube.IngressHost{BaseURL: c.IngressURL}
	}
	var gw *kube.GatewayRouter
	if c.Router == "gateway" || c.ShadowMirror {
		gwc, err := gwclient.NewForConfig(rc)
		if err != nil {
			return nil, fmt.Errorf("gateway api client: %w", err)
		}
		gw = kube.NewGatewayRouter(cs, gwc, opt, kube.ParentRef{Name: c.Gateway, Namespace: c.GatewayNamespace})
	}
	var router kube.Router = kube.NewReplicaRouter(cs, opt, gw)
	if c.Router == "gateway" {
		router = gw
	}
	k, err := kube.New(cs, router, opt)
	if err != nil {
		return nil, err
	}
	return k, nil
}

// restConfig is the API server client's configuration, with the worker's client-side rate limit
// (DEPLOYER_KUBE_QPS / DEPLOYER_KUBE_BURST): client-go's default of 5 QPS, burst 10 made an abort
// on the replica router wait for tokens.
func restConfig(c config.ClusterConfig) (*rest.Config, error) {
	var rc *rest.Config
	var err error
	if c.Mode == "in-cluster" {
		if rc, err = rest.InClusterConfig(); err != nil {
			return nil, fmt.Errorf("in-cluster config: %w", err)
		}
	} else if rc, err = clientcmd.BuildConfigFromFlags("", c.Kubeconfig); err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", c.Kubeconfig, err)
	}
	rc.QPS, rc.Burst = c.QPS, c.Burst
	return rc, nil
}
