package activities

import (
	"context"

	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/registry"
)

// ResolveRequest names a model URI and the registered model it belongs to.
type ResolveRequest struct {
	ModelName string `json:"model_name"`
	ModelURI  string `json:"model_uri"`
}

// Resolution is what the registry knows of a model URI. A URI not registered yet is at stage None.
type Resolution struct {
	Registered bool             `json:"registered"`
	Version    registry.Version `json:"version"`
}

// ResolveModel finds the registry version behind a model URI without changing anything.
func (a *Activities) ResolveModel(ctx context.Context, r ResolveRequest) (Resolution, error) {
	v, found, err := a.Registry.Resolve(ctx, r.ModelName, r.ModelURI)
	if err != nil {
		return Resolution{}, registryError("resolve "+r.ModelURI, err)
	}
	if !found {
		return Resolution{Version: registry.Version{Name: r.ModelName, Stage: contract.StageNone}}, nil
	}
	return Resolution{Registered: true, Version: v}, nil
}

// PromoteRequest moves a version one rung, registering it first when it has no version yet.
type PromoteRequest struct {
	ModelName string               `json:"model_name"`
	ModelURI  string               `json:"model_uri"`
	Version   string               `json:"version"` // empty: register from ModelURI first
	Change    registry.StageChange `json:"change"`
	Tags      map[string]string    `json:"tags"`
}

// PromoteStage registers the version if needed (idempotent by URI) and sets its stage (alias + tag).
func (a *Activities) PromoteStage(ctx context.Context, r PromoteRequest) (registry.Version, error) {
	version := r.Version
	if version == "" {
		v, err := a.Registry.Register(ctx, r.ModelName, r.ModelURI, r.Tags)
		if err != nil {
			return registry.Version{}, registryError("register "+r.ModelURI, err)
		}
		version = v.Version
	}
	v, err := a.Registry.SetStage(ctx, r.ModelName, version, r.Change)
	return v, registryError("set stage of "+r.ModelName+"/"+version, err)
}
