package config

import (
	"fmt"
	"net/url"

	"github.com/temporaldeployer/temporaldeployer/redact"
	"github.com/temporaldeployer/temporaldeployer/registry/mlflowauth"
)

// mlflowAuth reads MLflow's own variables: MLFLOW_TRACKING_TOKEN (bearer) or
// MLFLOW_TRACKING_USERNAME with MLFLOW_TRACKING_PASSWORD (basic auth).
func (r *reader) mlflowAuth(dst *mlflowauth.Credentials) {
	r.str(mlflowauth.EnvToken, &dst.Token)
	r.str(mlflowauth.EnvUsername, &dst.Username)
	r.str(mlflowauth.EnvPassword, &dst.Password)
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
