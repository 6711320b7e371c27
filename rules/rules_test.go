package rules

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/temporaldeployer/temporaldeployer/contract"
)

var allStages = []contract.Stage{
	contract.StageNone, contract.StageStaging, contract.StageShadow, contract.StageProduction, contract.StageArchived,
}

// TestRulesTransitionAllowed checks all 25 (from, to) pairs against seed 000's ladder.
func TestRulesTransitionAllowed(t *testing.T) {
	type pair struct{ from, to contract.Stage }
	allowed := map[pair]bool{
		{contract.StageNone, contract.StageStaging}:        true,
		{contract.StageStaging, contract.StageShadow}:      true,
		{contract.StageStaging, contract.StageArchived}:    true,
		{contract.StageShadow, contract.StageProduction}:   true,
		{contract.StageShadow, contract.StageArchived}:     true,
		{contract.StageProduction, contract.StageArchived}: true,
	}
	n := 0
	for _, from := range allStages {
		for _, to := range allStages {
			n++
			want := allowed[pair{from, to}]
			t.Run(fmt.Sprintf("%s→%s", from, to), func(t *testing.T) {
				if got := TransitionAllowed(from, to); got != want {
					t.Errorf("TransitionAllowed(%s, %s) = %v, want %v", from, to, got, want)
				}
			})
		}
	}
	if n != 25 {
		t.Fatalf("checked %d pairs, want 25", n)
	}
}

// TestRulesTransitionUnknownStage: a stage outside the ladder goes nowhere and nothing reaches it.
func TestRulesTransitionUnknownStage(t *testing.T) {
	for _, s := range allStages {
		if TransitionAllowed("Retired", s) || TransitionAllowed(s, "Retired") || TransitionAllowed("", s) {
			t.Errorf("unknown stage transition with %s allowed", s)
		}
	}
}

// TestRulesRungs covers every current stage × action × target environment.
func TestRulesRungs(t *testing.T) {
	const (
		none, stg, shd, prd, arc = contract.StageNone, contract.StageStaging, contract.StageShadow, contract.StageProduction, contract.StageArchived
		dep, pro                 = contract.ActionDeploy, contract.ActionPromote
		envS, envSh, envP        = contract.EnvStaging, contract.EnvShadow, contract.EnvProduction
	)
	type rungs = []contract.Stage
	cases := []struct {
		cur    contract.Stage
		act    contract.Action
		env    contract.Environment
		want   rungs
		denied string // substring of the denial; "" = allowed
	}{
		{none, dep, envS, rungs{stg}, ""},
		{none, dep, envSh, rungs{stg, shd}, ""},
		{none, dep, envP, rungs{stg, shd, prd}, ""},
		{none, pro, envS, rungs{stg}, ""},
		{none, pro, envSh, nil, "exactly one rung"},
		{none, pro, envP, nil, "exactly one rung"},

		{stg, dep, envS, rungs{stg}, ""}, // redeploy on its own rung
		{stg, dep, envSh, rungs{shd}, ""},
		{stg, dep, envP, rungs{shd, prd}, ""},
		{stg, pro, envS, nil, "exactly one rung"},
		{stg, pro, envSh, rungs{shd}, ""},
		{stg, pro, envP, nil, "no skipping"},

		{shd, dep, envS, nil, "demote"},
		{shd, dep, envSh, rungs{shd}, ""},
		{shd, dep, envP, rungs{prd}, ""},
		{shd, pro, envS, nil, "exactly one rung"},
		{shd, pro, envSh, nil, "exactly one rung"},
		{shd, pro, envP, rungs{prd}, ""},

		{prd, dep, envS, nil, "demote"},
		{prd, dep, envSh, nil, "demote"},
		{prd, dep, envP, rungs{prd}, ""},
		{prd, pro, envS, nil, "exactly one rung"},
		{prd, pro, envSh, nil, "exactly one rung"},
		{prd, pro, envP, nil, "exactly one rung"},

		{arc, dep, envS, nil, "Archived"},
		{arc, dep, envSh, nil, "Archived"},
		{arc, dep, envP, nil, "Archived"},
		{arc, pro, envS, nil, "Archived"},
		{arc, pro, envSh, nil, "Archived"},
		{arc, pro, envP, nil, "Archived"},
	}
	// rollback walks no rung from anywhere, Archived included.
	for _, cur := range allStages {
		for _, env := range contract.Environments {
			cases = append(cases, struct {
				cur    contract.Stage
				act    contract.Action
				env    contract.Environment
				want   rungs
				denied string
			}{cur, contract.ActionRollback, env, nil, ""})
		}
	}
	if len(cases) != 45 {
		t.Fatalf("%d cases, want 5 stages × 3 actions × 3 environments = 45", len(cases))
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s/%s/%s", tc.cur, tc.act, tc.env), func(t *testing.T) {
			got, err := Rungs(tc.cur, tc.act, tc.env)
			if tc.denied != "" {
				if err == nil {
					t.Fatalf("Rungs = %v, want a denial containing %q", got, tc.denied)
				}
				if !strings.Contains(err.Error(), tc.denied) {
					t.Errorf("denial %q does not contain %q", err, tc.denied)
				}
				if got != nil {
					t.Errorf("denied plan still returned rungs %v", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected denial: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Rungs = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestRulesRungsFollowLadder: every planned walk is a chain of allowed one-step transitions
// (a redeploy on the current rung aside), so the workflow's per-rung validation never denies it.
func TestRulesRungsFollowLadder(t *testing.T) {
	for _, cur := range allStages {
		for _, act := range []contract.Action{contract.ActionDeploy, contract.ActionPromote} {
			for _, env := range contract.Environments {
				got, err := Rungs(cur, act, env)
				if err != nil {
					continue
				}
				if len(got) == 0 || got[len(got)-1] != env.Stage() {
					t.Errorf("%s/%s/%s: plan %v does not end at %s", cur, act, env, got, env.Stage())
					continue
				}
				prev := cur
				for i, r := range got {
					if i == 0 && r == cur {
						continue // redeploy
					}
					if !TransitionAllowed(prev, r) {
						t.Errorf("%s/%s/%s: plan %v steps %s→%s off the ladder", cur, act, env, got, prev, r)
					}
					prev = r
				}
			}
		}
	}
}

// TestRulesRungsReturnsCopy: callers may append to the plan without corrupting the ladder.
func TestRulesRungsReturnsCopy(t *testing.T) {
	got, err := Rungs(contract.StageNone, contract.ActionDeploy, contract.EnvShadow)
	if err != nil {
		t.Fatal(err)
	}
	got[0] = contract.StageArchived
	_ = append(got, contract.StageArchived)
	again, _ := Rungs(contract.StageNone, contract.ActionDeploy, contract.EnvProduction)
	want := []contract.Stage{contract.StageStaging, contract.StageShadow, contract.StageProduction}
	if !reflect.DeepEqual(again, want) {
		t.Fatalf("ladder corrupted by a caller: %v", again)
	}
}

func TestRulesRungsUnknownStageOrEnvironment(t *testing.T) {
	if got, err := Rungs("Retired", contract.ActionDeploy, contract.EnvStaging); err == nil {
		t.Errorf("unknown current stage planned %v", got)
	}
	if got, err := Rungs(contract.StageNone, contract.ActionDeploy, "prod"); err == nil {
		t.Errorf("unknown environment planned %v", got)
	}
}

func TestRulesSettingsFor(t *testing.T) {
	cases := []struct {
		env  contract.Environment
		want EnvSettings
		ok   bool
	}{
		{contract.EnvStaging, EnvSettings{Replicas: 1, MinReplicas: 1, MaxReplicas: 3, TargetCPUPercent: 80}, true},
		{contract.EnvShadow, EnvSettings{Replicas: 2, MinReplicas: 1, MaxReplicas: 5, TargetCPUPercent: 80}, true},
		{contract.EnvProduction, EnvSettings{Replicas: 3, MinReplicas: 2, MaxReplicas: 10, TargetCPUPercent: 70}, true},
		{"prod", EnvSettings{}, false},
		{"", EnvSettings{}, false},
		{"Staging", EnvSettings{}, false},
	}
	for _, tc := range cases {
		t.Run(string(tc.env), func(t *testing.T) {
			got, ok := SettingsFor(tc.env)
			if ok != tc.ok || got != tc.want {
				t.Fatalf("SettingsFor(%q) = %+v, %v; want %+v, %v", tc.env, got, ok, tc.want, tc.ok)
			}
			if ok && (got.Replicas < got.MinReplicas || got.Replicas > got.MaxReplicas) {
				t.Errorf("replicas %d outside autoscaling range %d-%d", got.Replicas, got.MinReplicas, got.MaxReplicas)
			}
		})
	}
}

func TestRulesBentoTag(t *testing.T) {
	cases := []struct{ exp, ver, want string }{
		{"42", "3", "e2i_42_model:v3"},
		{"churn-exp.7", "12", "e2i_churn-exp.7_model:v12"},
	}
	for _, tc := range cases {
		if got := BentoTag(tc.exp, tc.ver); got != tc.want {
			t.Errorf("BentoTag(%q, %q) = %q, want %q", tc.exp, tc.ver, got, tc.want)
		}
	}
}

func TestRulesCanarySteps(t *testing.T) {
	cases := []struct {
		name  string
		steps []int
		err   string // substring; "" = valid
	}{
		{"default 5,20,50,100", []int{5, 20, 50, 100}, ""},
		{"100 alone", []int{100}, ""},
		{"1 then 100", []int{1, 100}, ""},
		{"nil", nil, "at least one step"},
		{"empty", []int{}, "at least one step"},
		{"zero step", []int{0, 50, 100}, "outside 1..100"},
		{"zero alone", []int{0}, "outside 1..100"},
		{"negative", []int{-5, 100}, "outside 1..100"},
		{"101", []int{5, 101}, "outside 1..100"},
		{"101 alone", []int{101}, "outside 1..100"},
		{"decreasing", []int{50, 20, 100}, "does not increase"},
		{"duplicate", []int{5, 5, 100}, "does not increase"},
		{"duplicate 100", []int{5, 100, 100}, "does not increase"},
		{"ends at 50", []int{5, 20, 50}, "ends at 100"},
		{"single 50", []int{50}, "ends at 100"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckCanarySteps(tc.steps)
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("CheckCanarySteps(%v) = %v, want valid", tc.steps, err)
			case tc.err != "" && err == nil:
				t.Fatalf("CheckCanarySteps(%v) accepted, want %q", tc.steps, tc.err)
			case tc.err != "" && !strings.Contains(err.Error(), tc.err):
				t.Fatalf("CheckCanarySteps(%v) = %q, want it to contain %q", tc.steps, err, tc.err)
			}
		})
	}
	if err := CheckCanarySteps(DefaultCanarySteps()); err != nil {
		t.Errorf("DefaultCanarySteps() %v invalid: %v", DefaultCanarySteps(), err)
	}
	d := DefaultCanarySteps()
	d[0] = 99
	if got := DefaultCanarySteps(); !reflect.DeepEqual(got, []int{5, 20, 50, 100}) {
		t.Errorf("DefaultCanarySteps shares its slice: %v", got)
	}
}
