package config

import (
	"fmt"
	"net/url"

	"github.com/temporaldeployer/temporaldeployer/redact"
)

// MLflowAuth is how the worker authenticates to MLflow (registry.Auth, which cmd/worker builds
// from it). It prints as its kind only, never a credential.
type MLflowAuth struct {
	Token    string // MLFLOW_TRACKING_TOKEN: a bearer token
	Username string // MLFLOW_TRACKING_USERNAME: basic auth, with Password
	Password string // MLFLOW_TRACKING_PASSWORD
}

// String names the kind of auth, never a credential (%v and %+v of a Config show this).
func (a MLflowAuth) String() string {
	switch {
	case a.Token != "":
		return "bearer token"
	case a.Username != "":
		return "basic auth as " + a.Username
	}
	return "none"
}

// GoString is String, so %#v hides the credentials too.
func (a MLflowAuth) GoString() string { return "config.MLflowAuth(" + a.String() + ")" }

// mlflowAuth reads MLflow's own variables: MLFLOW_TRACKING_TOKEN (bearer) or
// MLFLOW_TRACKING_USERNAME with MLFLOW_TRACKING_PASSWORD (basic auth).
func (r *reader) mlflowAuth(dst *MLflowAuth) {
	r.str("MLFLOW_TRACKING_TOKEN", &dst.Token)
	r.str("MLFLOW_TRACKING_USERNAME", &dst.Username)
	r.str("MLFLOW_TRACKING_PASSWORD", &dst.Password)
}

// validateMLflow refuses credentials in MLFLOW_TRACKING_URI (it is logged, passed on command
// lines and shown in errors) and an incomplete or ambiguous auth. No message holds a credential.
func (c Config) validateMLflow() error {
	const vars = "MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD"
	u, err := url.Parse(c.MLflowTrackingURI)
	switch {
	case err != nil:
		return fmt.Errorf("MLFLOW_TRACKING_URI=%q: %w", redact.URL(c.MLflowTrackingURI), redact.Error(err))
	case u.User != nil:
		return fmt.Errorf("MLFLOW_TRACKING_URI=%q carries credentials: they would be logged; remove them from the URI "+
			"and set %s", redact.URL(c.MLflowTrackingURI), vars)
	case u.RawQuery != "":
		return fmt.Errorf("MLFLOW_TRACKING_URI=%q: want http(s)://host[:port][/path], no query (credentials go in %s)",
			redact.URL(c.MLflowTrackingURI), vars)
	}
	a := c.MLflowAuth
	switch {
	case a.Token != "" && (a.Username != "" || a.Password != ""):
		return fmt.Errorf("MLFLOW_TRACKING_TOKEN and MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD are both set: set one")
	case a.Username != "" && a.Password == "":
		return fmt.Errorf("MLFLOW_TRACKING_USERNAME is set without MLFLOW_TRACKING_PASSWORD")
	case a.Password != "" && a.Username == "":
		return fmt.Errorf("MLFLOW_TRACKING_PASSWORD is set without MLFLOW_TRACKING_USERNAME")
	}
	return nil
}
