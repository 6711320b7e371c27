package config

import (
	"reflect"
	"strings"
	"testing"
)

// TestLoadBentoEnv: DEPLOYER_BENTO_ENV lists names, each once; a bad entry or one of the worker's
// own variables is refused at start, naming the variable and the entry's position, never a value.
func TestLoadBentoEnv(t *testing.T) {
	tests := []struct {
		name    string
		value   string
		want    []string
		wantErr []string // all in the error; none: it loads
	}{
		{name: "unset", value: "", want: nil},
		{name: "artifact store credentials", value: "AWS_ACCESS_KEY_ID,AWS_SECRET_ACCESS_KEY,AWS_SESSION_TOKEN,AWS_DEFAULT_REGION",
			want: []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION"}},
		{name: "spaces and empty entries", value: " GOOGLE_APPLICATION_CREDENTIALS , ,_X1 ,",
			want: []string{"GOOGLE_APPLICATION_CREDENTIALS", "_X1"}},
		{name: "a repeat is dropped", value: "AZURE_STORAGE_CONNECTION_STRING,MLFLOW_S3_ENDPOINT_URL,AZURE_STORAGE_CONNECTION_STRING",
			want: []string{"AZURE_STORAGE_CONNECTION_STRING", "MLFLOW_S3_ENDPOINT_URL"}},
		{name: "a name the build gets anyway is the packager's to dedupe", value: "PATH,HTTPS_PROXY", want: []string{"PATH", "HTTPS_PROXY"}},
		{name: "only commas", value: " , ,", wantErr: []string{"DEPLOYER_BENTO_ENV", "names no variable"}},
		{name: "starts with a digit", value: "AWS_REGION,9LIVES", wantErr: []string{"DEPLOYER_BENTO_ENV", "entry 2", "not an environment variable name"}},
		{name: "dash", value: "AWS-REGION", wantErr: []string{"DEPLOYER_BENTO_ENV", "entry 1"}},
		{name: "space inside", value: "AWS REGION", wantErr: []string{"DEPLOYER_BENTO_ENV", "entry 1"}},
		{name: "a pair, its value not shown", value: "AWS_SECRET_ACCESS_KEY=wJalr-Secret", wantErr: []string{"DEPLOYER_BENTO_ENV", "entry 1", "names only"}},
		{name: "a pasted value, not shown", value: "AWS_REGION,wJalr-Secret/K7MDENG+bPxRfi", wantErr: []string{"DEPLOYER_BENTO_ENV", "entry 2", "not an environment variable name"}},
		{name: "DATABASE_URL", value: "AWS_REGION,DATABASE_URL", wantErr: []string{"DEPLOYER_BENTO_ENV", "DATABASE_URL", "the worker's own"}},
		{name: "a TEMPORAL_ variable", value: "TEMPORAL_API_KEY", wantErr: []string{"DEPLOYER_BENTO_ENV", "TEMPORAL_API_KEY", "the worker's own"}},
		{name: "a TEMPORAL_ variable in lower case", value: "temporal_tls_client_key_path", wantErr: []string{"temporal_tls_client_key_path", "the worker's own"}},
		{name: "a DEPLOYER_ variable", value: "DEPLOYER_LEDGER_KEY", wantErr: []string{"DEPLOYER_BENTO_ENV", "DEPLOYER_LEDGER_KEY", "the worker's own"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(env(map[string]string{"DEPLOYER_BENTO_ENV": tt.value}))
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(c.Packaging.BentoEnv, tt.want) {
					t.Fatalf("BentoEnv %q, want %q", c.Packaging.BentoEnv, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("loaded: %q", c.Packaging.BentoEnv)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "wJalr") {
				t.Errorf("the value is in the error: %v", err)
			}
		})
	}
}
