package config

import (
	"fmt"
	"strings"
	"testing"

	"github.com/temporaldeployer/temporaldeployer/registry/mlflowauth"
)

// TestLoadMLflowAuth: MLflow's own variables give the auth; credentials in MLFLOW_TRACKING_URI and
// an incomplete or double auth are refused at start, naming the variables and never the secret.
func TestLoadMLflowAuth(t *testing.T) {
	const secret = "Hunter2secret"
	tests := []struct {
		name    string
		vars    map[string]string
		want    mlflowauth.Credentials
		wantErr []string // all in the error; "" cases load
	}{
		{name: "none", want: mlflowauth.Credentials{}},
		{name: "token", vars: map[string]string{"MLFLOW_TRACKING_TOKEN": secret}, want: mlflowauth.Credentials{Token: secret}},
		{name: "basic", vars: map[string]string{"MLFLOW_TRACKING_USERNAME": "deployer", "MLFLOW_TRACKING_PASSWORD": secret},
			want: mlflowauth.Credentials{Username: "deployer", Password: secret}},
		{name: "password in the URI", vars: map[string]string{"MLFLOW_TRACKING_URI": "https://deployer:" + secret + "@mlflow.internal"},
			wantErr: []string{"MLFLOW_TRACKING_URI", "carries credentials", "MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"}},
		{name: "token as the URI's user", vars: map[string]string{"MLFLOW_TRACKING_URI": "https://" + secret + "@mlflow.internal"},
			wantErr: []string{"carries credentials", "MLFLOW_TRACKING_TOKEN"}},
		{name: "URI does not parse", vars: map[string]string{"MLFLOW_TRACKING_URI": "https://u:" + secret + "%zz@mlflow.internal"},
			wantErr: []string{"MLFLOW_TRACKING_URI"}},
		{name: "token in the query", vars: map[string]string{"MLFLOW_TRACKING_URI": "https://mlflow.internal/?token=" + secret},
			wantErr: []string{"MLFLOW_TRACKING_URI", "no query"}},
		{name: "both kinds", vars: map[string]string{"MLFLOW_TRACKING_TOKEN": secret, "MLFLOW_TRACKING_USERNAME": "u", "MLFLOW_TRACKING_PASSWORD": "p"},
			wantErr: []string{"MLFLOW_TRACKING_TOKEN", "set one"}},
		{name: "user without password", vars: map[string]string{"MLFLOW_TRACKING_USERNAME": "u"},
			wantErr: []string{"MLFLOW_TRACKING_PASSWORD"}},
		{name: "password without user", vars: map[string]string{"MLFLOW_TRACKING_PASSWORD": secret},
			wantErr: []string{"MLFLOW_TRACKING_USERNAME"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(env(tt.vars))
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if c.MLflowAuth != tt.want {
					t.Fatalf("auth %#v, want %#v", c.MLflowAuth, tt.want)
				}
				for _, shown := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c)} {
					if strings.Contains(shown, secret) {
						t.Fatalf("a printed Config shows the secret: %s", shown)
					}
				}
				return
			}
			if err == nil {
				t.Fatalf("loaded: %v", c.MLflowAuth)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the secret is in the error: %v", err)
			}
		})
	}
}
