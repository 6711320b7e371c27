package harness

import (
	"reflect"
	"strings"
	"testing"

	"github.com/temporaldeployer/temporaldeployer/kube"
)

func TestParseFaults(t *testing.T) {
	cases := []struct {
		in      string
		want    []Fault
		wantErr string
	}{
		{"", nil, ""},
		{"3/canary:TD_FAULT_LATENCY_MS=300", []Fault{{"3", kube.RoleCanary, "TD_FAULT_LATENCY_MS=300"}}, ""},
		{"3/canary:TD_FAULT=error, 2/shadow:TD_FAULT=error", []Fault{{"3", kube.RoleCanary, "TD_FAULT=error"}, {"2", kube.RoleShadow, "TD_FAULT=error"}}, ""},
		{"3/canary", nil, "want <version>/<role>"},
		{"/canary:TD_FAULT=error", nil, "want <version>/<role>"},
		{"3/primary:TD_FAULT=error", nil, "not stable, canary or shadow"},
		{"3/canary:PATH=/tmp", nil, "not a fault switch"},
	}
	for _, tc := range cases {
		got, err := ParseFaults(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseFaults(%q) = %v, %v; want error %q", tc.in, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseFaults(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestFaultEnvMatchesVersionAndRole(t *testing.T) {
	faults := []Fault{{"3", kube.RoleCanary, "TD_FAULT_LATENCY_MS=300"}}
	cases := []struct {
		spec kube.Spec
		want []string
	}{
		{kube.Spec{ModelVersion: "3", Role: kube.RoleCanary}, []string{"TD_FAULT_LATENCY_MS=300"}},
		{kube.Spec{ModelVersion: "3", Role: kube.RoleStable}, nil},
		{kube.Spec{ModelVersion: "2", Role: kube.RoleCanary}, nil},
	}
	for _, tc := range cases {
		if got := faultEnv(faults, tc.spec); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("faultEnv(%+v) = %v, want %v", tc.spec, got, tc.want)
		}
	}
}
