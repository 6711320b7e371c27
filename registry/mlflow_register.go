package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

func (m *MLflow) register(ctx context.Context, name, uri string, tags map[string]string) (mlflowVersion, error) {
	if mv, found, err := m.findByURI(ctx, name, uri); err != nil || found {
		return mv, err
	}
	req, err := m.createRequest(ctx, name, uri, tags)
	if err != nil {
		return mlflowVersion{}, err
	}
	if err := m.ensureModel(ctx, name); err != nil {
		return mlflowVersion{}, err
	}
	created, err := m.createVersion(ctx, req, uri)
	if err != nil {
		return mlflowVersion{}, err
	}
	// Two concurrent Registers may both have created a version; both return the lowest one.
	if mv, found, err := m.findByURI(ctx, name, uri); err != nil || found {
		return mv, err
	}
	return created, nil
}

type createVersionRequest struct {
	Name    string  `json:"name"`
	Source  string  `json:"source"`
	RunID   string  `json:"run_id,omitempty"`
	ModelID string  `json:"model_id,omitempty"`
	Tags    []tagKV `json:"tags"`
}

// createRequest builds the create call. It checks that the run or logged model the URI comes
// from exists (MLflow 3.17 accepts a runs:/ URI of a missing run or a model_id of a missing model).
func (m *MLflow) createRequest(ctx context.Context, name, uri string, tags map[string]string) (createVersionRequest, error) {
	req := createVersionRequest{Name: name, Source: uri, Tags: versionTags(uri, tags)}
	var err error
	if runID, path, ok := parseRunsURI(uri); ok {
		err = m.runSource(ctx, &req, runID, path)
	} else if req.RunID, req.ModelID = sourceIDs(uri); req.ModelID != "" {
		if err = m.call(ctx, "logged-models/"+url.PathEscape(req.ModelID), http.MethodGet, nil, nil, nil); err != nil {
			err = fmt.Errorf("source logged model %s: %w", req.ModelID, err)
		}
	} else if req.RunID != "" {
		if err = m.call(ctx, "runs/get", http.MethodGet, url.Values{"run_id": {req.RunID}}, nil, nil); err != nil {
			err = fmt.Errorf("source run %s: %w", req.RunID, err)
		}
	}
	return req, err
}

// versionTags are the caller's tags plus TagModelURI, in a stable order.
func versionTags(uri string, tags map[string]string) []tagKV {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		if k != TagModelURI {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	out := make([]tagKV, 0, len(keys)+1)
	for _, k := range keys {
		out = append(out, tagKV{k, tags[k]})
	}
	return append(out, tagKV{TagModelURI, uri})
}

type runReply struct {
	Run struct {
		Info struct {
			ExperimentID string `json:"experiment_id"`
		} `json:"info"`
		Outputs struct {
			ModelOutputs []struct {
				ModelID string `json:"model_id"`
				Step    int64  `json:"step"`
			} `json:"model_outputs"`
		} `json:"outputs"`
	} `json:"run"`
}

// runSource resolves runs:/<run_id>/<path> as mlflow.register_model does. A model saved in the
// run's artifacts (MLmodel under path) is registered from the runs:/ URI. Otherwise the source is
// the MLflow 3 logged model named path that the run produced (models:/<model_id>): since MLflow
// 3, log_model stores models outside the run's artifacts, so a version from the bare runs:/ URI
// could not be loaded.
func (m *MLflow) runSource(ctx context.Context, req *createVersionRequest, runID, path string) error {
	req.RunID = runID
	var run runReply
	if err := m.call(ctx, "runs/get", http.MethodGet, url.Values{"run_id": {runID}}, nil, &run); err != nil {
		return fmt.Errorf("source run %s: %w", runID, err)
	}
	var list struct {
		Files []struct {
			Path string `json:"path"`
		} `json:"files"`
	}
	q := url.Values{"run_id": {runID}, "path": {path}}
	if err := m.call(ctx, "artifacts/list", http.MethodGet, q, nil, &list); err != nil {
		return fmt.Errorf("list artifacts of run %s: %w", runID, err)
	}
	for _, f := range list.Files {
		if f.Path == strings.TrimPrefix(path+"/MLmodel", "/") {
			return nil
		}
	}
	modelID, err := m.runLoggedModel(ctx, run, runID, path)
	if err != nil {
		return err
	}
	req.Source, req.ModelID = "models:/"+modelID, modelID
	return nil
}

// runLoggedModel finds the logged model named `name` that run produced (the one logged at the
// largest step if there are several).
func (m *MLflow) runLoggedModel(ctx context.Context, run runReply, runID, name string) (string, error) {
	steps := map[string]int64{}
	for _, o := range run.Run.Outputs.ModelOutputs {
		steps[o.ModelID] = o.Step
	}
	filter, err := quoteFilter(name)
	if err != nil {
		return "", fmt.Errorf("model name %q: %w", name, err)
	}
	best := ""
	for token := ""; ; {
		var out struct {
			Models []struct {
				Info struct {
					ModelID     string `json:"model_id"`
					SourceRunID string `json:"source_run_id"`
				} `json:"info"`
			} `json:"models"`
			NextPageToken string `json:"next_page_token"`
		}
		in := map[string]any{"experiment_ids": []string{run.Run.Info.ExperimentID},
			"filter": "name = " + filter, "page_token": token}
		if err := m.call(ctx, "logged-models/search", http.MethodPost, nil, in, &out); err != nil {
			return "", fmt.Errorf("search logged models of run %s: %w", runID, err)
		}
		for _, lm := range out.Models {
			if id := lm.Info.ModelID; lm.Info.SourceRunID == runID && (best == "" || steps[id] > steps[best]) {
				best = id
			}
		}
		if token = out.NextPageToken; token == "" {
			break
		}
	}
	if best == "" {
		return "", &APIError{Op: "register", StatusCode: http.StatusNotFound, Code: codeNotFound,
			Message: fmt.Sprintf("run %s has no model %q", runID, name)}
	}
	return best, nil
}

func (m *MLflow) ensureModel(ctx context.Context, name string) error {
	err := m.call(ctx, "registered-models/create", http.MethodPost, nil, map[string]string{"name": name}, nil)
	var api *APIError
	if errors.As(err, &api) && api.Code == codeAlreadyExists {
		return nil
	}
	return err
}

// createVersion creates the version. Before retrying it looks for the version an attempt whose
// reply was lost may have created, so a retry does not make a second one.
func (m *MLflow) createVersion(ctx context.Context, req createVersionRequest, uri string) (mlflowVersion, error) {
	var created mlflowVersion
	attempt := 0
	err := m.retry(ctx, func() error {
		if attempt++; attempt > 1 {
			mv, found, err := m.findByURI(ctx, req.Name, uri)
			if err != nil || found {
				created = mv
				return err
			}
		}
		var out struct {
			ModelVersion mlflowVersion `json:"model_version"`
		}
		err := m.once(ctx, "model-versions/create", http.MethodPost, nil, req, &out)
		created = out.ModelVersion
		return err
	})
	return created, err
}
