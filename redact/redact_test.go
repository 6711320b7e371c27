package redact

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://deployer:s3cret@db:5432/td?sslmode=disable", "postgres://deployer:xxxxx@db:5432/td?sslmode=disable"},
		{"https://ghp_abcdef123456@mlflow.example.com/", "https://xxxxx@mlflow.example.com/"},
		{"http://127.0.0.1:5000", "http://127.0.0.1:5000"},
		{".cache/deployer.db", ".cache/deployer.db"},
		{"https://s3.example.com/b/o?X-Amz-Credential=AKIA%2F1&X-Amz-Signature=abc123&part=2",
			"https://s3.example.com/b/o?X-Amz-Credential=xxxxx&X-Amz-Signature=xxxxx&part=2"},
		{"https://h/p?access_token=t0k&name=m", "https://h/p?access_token=xxxxx&name=m"},
		{"postgres://db/td?sslmode=require&password=pw", "postgres://db/td?sslmode=require&password=xxxxx"},
		{"file:td.db?_pragma_key=k3y&_busy_timeout=1", "file:td.db?_pragma_key=xxxxx&_busy_timeout=1"},
		{"https://acct.blob.core.windows.net/c/b?sv=2021&sig=abc%2Bdef", "https://acct.blob.core.windows.net/c/b?sv=2021&sig=xxxxx"},
		// does not parse (a bad escape in the password): still redacted
		{"postgres://deployer:p%zzword@db/td", "postgres://deployer:xxxxx@db/td"},
		{"postgres://u:pa ss@db/td", "postgres://u:xxxxx@db/td"},
		{"postgres://u:pa/ss@db/td", "postgres://u:xxxxx@db/td"},
	}
	for _, tt := range tests {
		if got := URL(tt.in); got != tt.want {
			t.Errorf("URL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestText(t *testing.T) {
	tests := []struct {
		name, in string
		secrets  []string
		want     string
		keep     []string // must survive
	}{
		{name: "url with userinfo in a message",
			in:   `connect to postgres database "postgres://td:hunter22@10.0.0.5/td": refused`,
			want: `connect to postgres database "postgres://td:xxxxx@10.0.0.5/td": refused`},
		{name: "url error from net/url",
			in:   `parse "postgres://td:p%zz@h/td": invalid URL escape "%zz"`,
			want: `parse "postgres://td:xxxxx@h/td": invalid URL escape "%zz"`},
		{name: "authorization header", in: "Authorization: Bearer eyJhbGciOi.abc.def sent",
			want: "Authorization: Bearer xxxxx sent"},
		{name: "basic header", in: `"authorization": "Basic dXNlcjpwYXNz"`, want: `"authorization": "Basic xxxxx"`},
		{name: "bearer in prose keeps words", in: "a bearer token is needed; got bearer abc.DEF-123",
			want: "a bearer token is needed; got bearer xxxxx"},
		{name: "env assignment", in: "MLFLOW_TRACKING_PASSWORD=hunter22 MLFLOW_TRACKING_TOKEN=tok-1 MLFLOW_TRACKING_USERNAME=alice",
			want: "MLFLOW_TRACKING_PASSWORD=xxxxx MLFLOW_TRACKING_TOKEN=xxxxx MLFLOW_TRACKING_USERNAME=alice"},
		{name: "presigned url in an error",
			in:   `GET https://b.s3.amazonaws.com/blob?X-Amz-Security-Token=FQoG&X-Amz-Signature=9f8e: 403`,
			want: `GET https://b.s3.amazonaws.com/blob?X-Amz-Security-Token=xxxxx&X-Amz-Signature=xxxxx: 403`},
		{name: "compact json", in: `{"token":"abc123","name":"m"}`, want: `{"token":"xxxxx","name":"m"}`},
		{name: "opaque url", in: "sqlite::memory:?password=Pw9secret", want: "sqlite::memory:?password=xxxxx"},
		{name: "json password", in: `{"password": "hunter22", "user": "bob"}`, want: `{"password": "xxxxx", "user": "bob"}`},
		{name: "registered secret anywhere", in: "mlflow said: bad credentials s3cr3t-value for alice",
			secrets: []string{"s3cr3t-value", "", "ab"}, want: "mlflow said: bad credentials xxxxx for alice"},
		{name: "registered secret url-escaped", in: "GET /x?p=a%2Bb%2Fc%3D", secrets: []string{"a+b/c="}, want: "GET /x?p=xxxxx"},
		{name: "ordinary text untouched",
			in:   "build bento e2i_7_model:v3 from models:/fraud/3: BuildFailed: exit status 1; key_id=worker-1",
			want: "build bento e2i_7_model:v3 from models:/fraud/3: BuildFailed: exit status 1; key_id=worker-1"},
		{name: "traceback with a url", in: "requests.exceptions.ConnectionError: HTTPConnectionPool(host='127.0.0.1', port=5000): Max retries exceeded with url: /api/2.0/mlflow/runs/get?run_id=abc",
			want: "requests.exceptions.ConnectionError: HTTPConnectionPool(host='127.0.0.1', port=5000): Max retries exceeded with url: /api/2.0/mlflow/runs/get?run_id=abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Text(tt.in, tt.secrets...); got != tt.want {
				t.Errorf("Text(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestError(t *testing.T) {
	if Error(nil) != nil {
		t.Fatal("Error(nil) is not nil")
	}
	cause := fmt.Errorf("dial postgres://u:pw1234@h/db: %w", context.Canceled)
	err := Error(fmt.Errorf("open store: %w", cause))
	if strings.Contains(err.Error(), "pw1234") {
		t.Fatalf("secret in %q", err)
	}
	if errors.Unwrap(err) != nil {
		t.Fatal("a redacted error unwraps to its unredacted cause")
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatal("errors.Is no longer sees the cancellation")
	}
}
