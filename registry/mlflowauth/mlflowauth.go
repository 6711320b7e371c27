// Package mlflowauth is how the worker authenticates to MLflow, as MLflow's own clients read it
// from the environment: MLFLOW_TRACKING_TOKEN (a bearer token) or MLFLOW_TRACKING_USERNAME with
// MLFLOW_TRACKING_PASSWORD (basic auth). The registry client sends it; the bento build gets it in
// those variables. A leaf package, so config, registry and packaging share one type.
package mlflowauth

import (
	"encoding/base64"
	"net/http"
	"strings"
)

// The variables, MLflow's names.
const (
	EnvToken    = "MLFLOW_TRACKING_TOKEN"
	EnvUsername = "MLFLOW_TRACKING_USERNAME"
	EnvPassword = "MLFLOW_TRACKING_PASSWORD"
)

// Credentials are the token, or the username and password. The zero value sends nothing. They
// print as their kind only (String, GoString), so a Config printed by mistake leaks nothing.
type Credentials struct {
	Token    string
	Username string
	Password string
}

// Apply sets req's Authorization header.
func (c Credentials) Apply(req *http.Request) {
	switch {
	case c.Token != "":
		req.Header.Set("Authorization", "Bearer "+c.Token)
	case c.Username != "":
		req.SetBasicAuth(c.Username, c.Password)
	}
}

// Env is the credentials in MLflow's variables, for a process that talks to MLflow itself.
func (c Credentials) Env() []string {
	switch {
	case c.Token != "":
		return []string{EnvToken + "=" + c.Token}
	case c.Username != "":
		return []string{EnvUsername + "=" + c.Username, EnvPassword + "=" + c.Password}
	}
	return nil
}

// Secrets are the values that must never be shown (for redact.Text): the token, the password and
// the basic-auth header's encoding of both.
func (c Credentials) Secrets() []string {
	var s []string
	basic := ""
	if c.Password != "" {
		basic = base64.StdEncoding.EncodeToString([]byte(c.Username + ":" + c.Password))
	}
	for _, v := range []string{c.Token, c.Password, basic} {
		if strings.TrimSpace(v) != "" {
			s = append(s, v)
		}
	}
	return s
}

// String names the kind, never a credential.
func (c Credentials) String() string {
	switch {
	case c.Token != "":
		return "bearer token"
	case c.Username != "":
		return "basic auth as " + c.Username
	}
	return "none"
}

// GoString is String, so %#v hides the credentials too.
func (c Credentials) GoString() string { return "mlflowauth.Credentials(" + c.String() + ")" }
