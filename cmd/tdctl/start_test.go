package main

import (
	"encoding/json"
	"testing"
)

func TestDefaultID(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{`{"deployment_name":"fraud"}`, "deploy-fraud-staging", true},
		{`{"deployment_name":"fraud","deployment_action":"promote","target_environment":"shadow"}`, "promote-fraud-shadow", true},
		{`{"deployment_name":"fraud","target_environment":"production"}`, "deploy-fraud-production", true},
		{`{"model_uri":"runs:/r/model"}`, "", false},
		{`{"deployment_name":7}`, "", false},
	}
	for _, tc := range cases {
		got, err := defaultID(json.RawMessage(tc.in))
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("defaultID(%s) = %q, %v; want %q (ok %v)", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
