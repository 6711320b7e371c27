package registry

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// MaxEvidenceFileBytes bounds one evidence file read from a version's artifacts (a model card,
// requirements.txt, a drift reference profile): a larger one is an error, not a truncated read.
const MaxEvidenceFileBytes = 1 << 20

// Where a version's evidence tag was found (Evidence.TagSources).
const (
	TagFromVersion     = "model_version"
	TagFromLoggedModel = "logged_model"
	TagFromRun         = "run"
)

// Evidence is what the training side recorded with a version, for the governance gates.
type Evidence struct {
	// Tags are the version's tags over its logged model's (MLflow 3) over its source run's: a
	// training job tags its run or model, a reviewer may tag the version itself.
	Tags map[string]string `json:"tags,omitempty"`
	// TagSources says, per tag, which of the three it came from (TagFrom*).
	TagSources map[string]string `json:"tag_sources,omitempty"`
	// Files are the asked-for files that exist at the model's root, by path, as text.
	Files map[string]string `json:"files,omitempty"`
}

// EvidenceReader reads a version's evidence, or, for a model URI not registered yet (version
// ""), its source's. It fails on a source that does not exist and on a file it cannot read; a file
// that is not there is simply absent from Files.
type EvidenceReader interface {
	ReadEvidence(ctx context.Context, name, version, modelURI string, files []string) (Evidence, error)
}

var _ EvidenceReader = (*MLflow)(nil)

// ReadEvidence reads the tags of the version, of its logged model and of its run, and each file
// of the model's directory: through MLflow's model-version artifact endpoint for a registered
// version; before registration, through the logged model's (MLflow 3) or the run's artifact
// endpoint, for models:/m-… and runs:/ URIs. Nothing is changed in the registry.
func (m *MLflow) ReadEvidence(ctx context.Context, name, version, modelURI string, files []string) (Evidence, error) {
	var mv mlflowVersion
	var runID, modelID string
	var fileURL func(path string) string
	if version != "" {
		var err error
		if mv, err = m.getVersion(ctx, name, version); err != nil {
			return Evidence{}, err
		}
		runID = mv.RunID
		if _, id := sourceIDs(mv.Source); id != "" {
			modelID = id
		}
		fileURL = func(path string) string {
			return m.base + "/model-versions/get-artifact?" + url.Values{"name": {name}, "version": {version}, "path": {path}}.Encode()
		}
	} else {
		req, err := m.createRequest(ctx, name, modelURI, nil)
		if err != nil {
			return Evidence{}, err
		}
		runID, modelID = req.RunID, req.ModelID
		runPath := ""
		if _, p, ok := parseRunsURI(req.Source); ok {
			runPath = p
		}
		switch {
		case modelID != "":
			fileURL = func(path string) string {
				return m.base + "/ajax-api/2.0/mlflow/logged-models/" + url.PathEscape(modelID) + "/artifacts/files?" +
					url.Values{"artifact_file_path": {path}}.Encode()
			}
		case runPath != "" || strings.HasPrefix(req.Source, "runs:/"):
			fileURL = func(path string) string {
				return m.base + "/get-artifact?" + url.Values{"run_id": {runID}, "path": {strings.TrimPrefix(runPath+"/"+path, "/")}}.Encode()
			}
		case len(files) > 0:
			return Evidence{}, &APIError{Op: "read evidence", StatusCode: http.StatusUnprocessableEntity, Code: codeInvalidParam,
				Message: fmt.Sprintf("cannot read the model files of %s before it is registered: register it first, or start from a runs:/ or models:/m-… URI", modelURI)}
		}
	}
	ev := Evidence{Tags: map[string]string{}, TagSources: map[string]string{}, Files: map[string]string{}}
	if err := m.sourceTags(ctx, &ev, runID, modelID); err != nil {
		return Evidence{}, err
	}
	ev.merge(mv.Tags, TagFromVersion)
	for _, f := range files {
		text, found, err := m.artifactText(ctx, fileURL(f), f)
		if err != nil {
			return Evidence{}, err
		}
		if found {
			ev.Files[f] = text
		}
	}
	return ev, nil
}

// sourceTags merges the run's tags, then the logged model's over them. A logged model names its
// source run when the caller does not.
func (m *MLflow) sourceTags(ctx context.Context, ev *Evidence, runID, modelID string) error {
	var lm struct {
		Model struct {
			Info struct {
				SourceRunID string  `json:"source_run_id"`
				Tags        []tagKV `json:"tags"`
			} `json:"info"`
		} `json:"model"`
	}
	if modelID != "" {
		if err := m.call(ctx, "logged-models/"+url.PathEscape(modelID), http.MethodGet, nil, nil, &lm); ignoreNotFound(err) != nil {
			return fmt.Errorf("tags of logged model %s: %w", modelID, err)
		}
		if runID == "" {
			runID = lm.Model.Info.SourceRunID
		}
	}
	if runID != "" {
		var run struct {
			Run struct {
				Data struct {
					Tags []tagKV `json:"tags"`
				} `json:"data"`
			} `json:"run"`
		}
		if err := m.call(ctx, "runs/get", http.MethodGet, url.Values{"run_id": {runID}}, nil, &run); ignoreNotFound(err) != nil {
			return fmt.Errorf("tags of run %s: %w", runID, err)
		}
		ev.merge(run.Run.Data.Tags, TagFromRun)
	}
	ev.merge(lm.Model.Info.Tags, TagFromLoggedModel)
	return nil
}

// merge sets tags over those already there; MLflow's own (mlflow.*) tags are left out.
func (e *Evidence) merge(tags []tagKV, source string) {
	for _, t := range tags {
		if strings.HasPrefix(t.Key, "mlflow.") {
			continue
		}
		e.Tags[t.Key], e.TagSources[t.Key] = t.Value, source
	}
}

// artifactText reads one file of the model's directory from target. found is false when MLflow
// says the file is not there.
func (m *MLflow) artifactText(ctx context.Context, target, path string) (text string, found bool, err error) {
	op := "get artifact " + path
	err = m.retry(ctx, func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return fmt.Errorf("build %s request: %w", op, err)
		}
		m.auth.Apply(req)
		resp, err := m.client.Do(req)
		if err != nil {
			return &transportError{fmt.Errorf("GET %s: %w", op, err)}
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, MaxEvidenceFileBytes+1))
		if err != nil {
			return &transportError{fmt.Errorf("read %s reply: %w", op, err)}
		}
		switch {
		case resp.StatusCode == http.StatusNotFound:
			return nil
		case resp.StatusCode < 200 || resp.StatusCode > 299:
			api := apiError(op, resp.StatusCode, body, m.auth.Secrets()...)
			if api.NotFound() {
				return nil
			}
			return api
		case len(body) > MaxEvidenceFileBytes:
			return &APIError{Op: op, StatusCode: http.StatusRequestEntityTooLarge,
				Message: fmt.Sprintf("%s is larger than %d bytes", path, MaxEvidenceFileBytes)}
		case !utf8.Valid(body):
			return &APIError{Op: op, StatusCode: http.StatusUnprocessableEntity,
				Message: fmt.Sprintf("%s is not UTF-8 text", path)}
		}
		text, found = string(body), true
		return nil
	})
	return text, found, err
}
