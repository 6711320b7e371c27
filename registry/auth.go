package registry

import (
	"net/http"
	"strings"
)

// Auth is how a client authenticates to MLflow, read from MLflow's own environment variables:
// MLFLOW_TRACKING_TOKEN (a bearer token) or MLFLOW_TRACKING_USERNAME with
// MLFLOW_TRACKING_PASSWORD (basic auth). The zero value sends no credentials. Its String names
// the kind, never a value, so an Auth printed by mistake leaks nothing.
type Auth struct {
	Token    string
	Username string
	Password string
}

// apply sets the request's Authorization header.
func (a Auth) apply(req *http.Request) {
	switch {
	case a.Token != "":
		req.Header.Set("Authorization", "Bearer "+a.Token)
	case a.Username != "":
		req.SetBasicAuth(a.Username, a.Password)
	}
}

// Env is the auth as MLflow's Python client reads it, for a process that talks to MLflow itself
// (the bento build).
func (a Auth) Env() []string {
	switch {
	case a.Token != "":
		return []string{"MLFLOW_TRACKING_TOKEN=" + a.Token}
	case a.Username != "":
		return []string{"MLFLOW_TRACKING_USERNAME=" + a.Username, "MLFLOW_TRACKING_PASSWORD=" + a.Password}
	}
	return nil
}

// Secrets are the values that must never be shown (for redact.Text).
func (a Auth) Secrets() []string {
	var s []string
	for _, v := range []string{a.Token, a.Password} {
		if strings.TrimSpace(v) != "" {
			s = append(s, v)
		}
	}
	return s
}

// String names the kind of auth, never a credential.
func (a Auth) String() string {
	switch {
	case a.Token != "":
		return "bearer token"
	case a.Username != "":
		return "basic auth as " + a.Username
	}
	return "none"
}

// GoString is String, so %#v hides the credentials too.
func (a Auth) GoString() string { return "registry.Auth(" + a.String() + ")" }

// WithAuth sends auth with every request.
func WithAuth(a Auth) Option { return func(m *MLflow) { m.auth = a } }
