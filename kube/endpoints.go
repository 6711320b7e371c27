package kube

import (
	"context"
	"fmt"
)

// Endpoints says where a workload's Service answers, for the health check and the output.
type Endpoints interface {
	Endpoint(ctx context.Context, s Spec, service, namespace string) (baseURL string, err error)
}

// ServiceDNS is the in-cluster address of a Service: for a worker running in the cluster.
type ServiceDNS struct{}

func (ServiceDNS) Endpoint(_ context.Context, _ Spec, service, namespace string) (string, error) {
	return fmt.Sprintf("http://%s.%s.svc.cluster.local", service, namespace), nil
}

// IngressHost is a configured host in front of the Services (path-routed by Service name).
type IngressHost struct{ BaseURL string }

func (h IngressHost) Endpoint(_ context.Context, _ Spec, service, _ string) (string, error) {
	if h.BaseURL == "" {
		return "", fmt.Errorf("ingress base URL is not configured")
	}
	return h.BaseURL + "/" + service, nil
}
