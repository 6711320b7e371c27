package registry

import "github.com/temporaldeployer/temporaldeployer/registry/mlflowauth"

// WithAuth sends the credentials with every request.
func WithAuth(c mlflowauth.Credentials) Option { return func(m *MLflow) { m.auth = c } }
