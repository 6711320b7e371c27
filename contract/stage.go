package contract

import "fmt"

// Stage is a model version's lifecycle stage in the registry (seed 000's ladder).
type Stage string

const (
	StageNone       Stage = "None"
	StageStaging    Stage = "Staging"
	StageShadow     Stage = "Shadow"
	StageProduction Stage = "Production"
	StageArchived   Stage = "Archived"
)

// Environment is a deployment target.
type Environment string

const (
	EnvStaging    Environment = "staging"
	EnvShadow     Environment = "shadow"
	EnvProduction Environment = "production"
)

// Environments lists the environments in ladder order.
var Environments = []Environment{EnvStaging, EnvShadow, EnvProduction}

// Stage returns the registry stage an environment corresponds to.
func (e Environment) Stage() Stage {
	switch e {
	case EnvStaging:
		return StageStaging
	case EnvShadow:
		return StageShadow
	case EnvProduction:
		return StageProduction
	}
	return ""
}

// Environment returns the environment a stage is served in, or "" for None and Archived.
func (s Stage) Environment() Environment {
	switch s {
	case StageStaging:
		return EnvStaging
	case StageShadow:
		return EnvShadow
	case StageProduction:
		return EnvProduction
	}
	return ""
}

// ParseStage accepts a stage name as written in the registry ("" means None).
func ParseStage(s string) (Stage, error) {
	switch Stage(s) {
	case "", StageNone:
		return StageNone, nil
	case StageStaging, StageShadow, StageProduction, StageArchived:
		return Stage(s), nil
	}
	return "", fmt.Errorf("unknown stage %q", s)
}

// Action is what a run does.
type Action string

const (
	ActionDeploy   Action = "deploy"
	ActionPromote  Action = "promote"
	ActionRollback Action = "rollback"
)
