package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/redact"
	"github.com/temporaldeployer/temporaldeployer/registry/mlflowauth"
)

// Version tags the deployer keeps on MLflow model versions. Stages are deprecated since MLflow
// 2.9, so a version's stage is the TagStage tag plus an alias named after the stage (lowercase).
const (
	TagStage          = "temporaldeployer.stage"
	TagStageReason    = "temporaldeployer.stage_reason"
	TagStageActor     = "temporaldeployer.stage_actor"
	TagStageUpdatedAt = "temporaldeployer.stage_updated_at"
	TagModelURI       = "temporaldeployer.model_uri" // the URI Register was given
	// TagArchivedPredecessor, on a version in Production, is the version it archived taking it.
	TagArchivedPredecessor = "temporaldeployer.archived_predecessor"
)

const searchPageSize = "1000"

var (
	stageAliases          = []string{"staging", "shadow", "production"}
	_            Registry = (*MLflow)(nil)
)

// MLflow is the Registry over an MLflow tracking server's REST API (/api/2.0/mlflow/).
// Transient failures (connection errors, HTTP 5xx and 429) are retried with exponential backoff;
// other replies come back at once as *APIError.
type MLflow struct {
	base     string // the server's base URL, no trailing slash
	api      string // base URL + /api/2.0/mlflow
	client   *http.Client
	auth     mlflowauth.Credentials
	attempts int
	backoff  time.Duration
	now      func() time.Time
}

// Option configures an MLflow client.
type Option func(*MLflow)

// WithHTTPClient replaces the default client (30 s timeout per request).
func WithHTTPClient(c *http.Client) Option { return func(m *MLflow) { m.client = c } }

// WithRetry sets how many attempts a transiently failing request gets and the first backoff.
func WithRetry(attempts int, firstBackoff time.Duration) Option {
	return func(m *MLflow) { m.attempts, m.backoff = max(attempts, 1), firstBackoff }
}

// NewMLflow returns a client for the MLflow server at baseURL (e.g. http://127.0.0.1:5000).
func NewMLflow(baseURL string, opts ...Option) (*MLflow, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("mlflow base URL %q: %w", redact.URL(baseURL), redact.Error(err))
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return nil, fmt.Errorf("mlflow base URL %q: want http(s)://host[:port][/path]", redact.URL(baseURL))
	}
	if u.User != nil {
		return nil, fmt.Errorf("mlflow base URL %q: credentials in the URL are refused; "+
			"give them as MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD", redact.URL(baseURL))
	}
	base := strings.TrimRight(u.String(), "/")
	m := &MLflow{
		base:     base,
		api:      base + "/api/2.0/mlflow",
		client:   &http.Client{Timeout: 30 * time.Second},
		attempts: 4,
		backoff:  200 * time.Millisecond,
		now:      time.Now,
	}
	for _, o := range opts {
		o(m)
	}
	return m, nil
}

// Get reads one version.
func (m *MLflow) Get(ctx context.Context, name, version string) (Version, error) {
	mv, err := m.getVersion(ctx, name, version)
	if err != nil {
		return Version{}, fmt.Errorf("mlflow get %s/%s: %w", name, version, err)
	}
	return mv.toVersion()
}

// Resolve finds the version modelURI names: models:/<name>/<version> and models:/<name>@<alias>
// (the name is taken from the URI) directly, any other URI through the TagModelURI tag on the
// versions of model `name`. found is false, with no error, when there is no such version.
func (m *MLflow) Resolve(ctx context.Context, name, modelURI string) (Version, bool, error) {
	var mv mlflowVersion
	var found bool
	var err error
	ref, isRef := parseRegisteredRef(modelURI)
	switch {
	case !isRef:
		mv, found, err = m.findByURI(ctx, name, modelURI)
	case ref.alias != "":
		mv, found, err = m.byAlias(ctx, ref.name, ref.alias)
	default:
		mv, err = m.getVersion(ctx, ref.name, ref.version)
		found, err = err == nil, ignoreNotFound(err)
	}
	if err != nil {
		return Version{}, false, fmt.Errorf("mlflow resolve %s %s: %w", name, modelURI, err)
	}
	if !found {
		return Version{}, false, nil
	}
	v, err := mv.toVersion()
	return v, err == nil, err
}

// Register returns the version of `name` registered from modelURI, creating it (and the model)
// when there is none. A source run or logged model that does not exist is an *APIError with
// StatusCode 404 and Code RESOURCE_DOES_NOT_EXIST (IsNotFound and IsPermanent are true), and no
// version is created. A models:/<name>/... URI naming `name` itself returns that version.
func (m *MLflow) Register(ctx context.Context, name, modelURI string, tags map[string]string) (Version, error) {
	var v Version
	var err error
	if ref, ok := parseRegisteredRef(modelURI); ok && ref.name == name {
		var found bool
		if v, found, err = m.Resolve(ctx, name, modelURI); err == nil && !found {
			err = &APIError{Op: "register", StatusCode: http.StatusNotFound, Code: codeNotFound,
				Message: modelURI + " does not exist"}
		}
	} else {
		var mv mlflowVersion
		if mv, err = m.register(ctx, name, modelURI, tags); err == nil {
			v, err = mv.toVersion()
		}
	}
	if err != nil {
		return Version{}, fmt.Errorf("mlflow register %s from %s: %w", name, modelURI, err)
	}
	return v, nil
}

// SetStage moves a version to change.Stage: sets the stage tags, points the stage's alias at the
// version, and removes other stage aliases from it. A previous holder of the alias keeps its
// stage tag. Repeating the same change rewrites nothing, stage_updated_at included.
func (m *MLflow) SetStage(ctx context.Context, name, version string, change StageChange) (Version, error) {
	mv, err := m.setStage(ctx, name, version, change)
	if err != nil {
		return Version{}, fmt.Errorf("mlflow set-stage %s/%s to %s: %w", name, version, change.Stage, err)
	}
	return mv.toVersion()
}

func (m *MLflow) setStage(ctx context.Context, name, version string, change StageChange) (mlflowVersion, error) {
	stage, err := contract.ParseStage(string(change.Stage))
	if err != nil {
		return mlflowVersion{}, err
	}
	mv, err := m.getVersion(ctx, name, version)
	if err != nil {
		return mv, err
	}
	if err := m.setStageTags(ctx, mv, stage, change); err != nil {
		return mv, err
	}
	var archived, restored string
	if stage == contract.StageProduction {
		if archived, err = m.archiveHolder(ctx, mv, change); err != nil {
			return mv, err
		}
	}
	if err := m.moveAliases(ctx, mv, stageAlias(stage)); err != nil {
		return mv, err
	}
	if stage != contract.StageProduction && change.Restore != "" {
		if restored, err = m.restoreProduction(ctx, mv, change); err != nil {
			return mv, err
		}
	}
	out, err := m.getVersion(ctx, name, version)
	out.archived, out.restored = archived, restored
	return out, err
}

func (m *MLflow) setStageTags(ctx context.Context, mv mlflowVersion, stage contract.Stage, ch StageChange) error {
	if mv.tag(TagStage) == string(stage) && mv.tag(TagStageReason) == ch.Reason &&
		mv.tag(TagStageActor) == ch.Actor && mv.tag(TagStageUpdatedAt) != "" {
		return nil // already done, by this change or an identical one
	}
	updated := m.now().UTC().Format(time.RFC3339Nano)
	// The stage tag goes last, so an interrupted change never shows the new stage with old reasons.
	for _, kv := range []tagKV{{TagStageReason, ch.Reason}, {TagStageActor, ch.Actor},
		{TagStageUpdatedAt, updated}, {TagStage, string(stage)}} {
		in := map[string]string{"name": mv.Name, "version": mv.Version, "key": kv.Key, "value": kv.Value}
		if err := m.call(ctx, "model-versions/set-tag", http.MethodPost, nil, in, nil); err != nil {
			return err
		}
	}
	return nil
}

// SetTags sets each tag on the version, in key order (a retried call sets the same values again).
func (m *MLflow) SetTags(ctx context.Context, name, version string, tags map[string]string) error {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		in := map[string]string{"name": name, "version": version, "key": k, "value": tags[k]}
		if err := m.call(ctx, "model-versions/set-tag", http.MethodPost, nil, in, nil); err != nil {
			return fmt.Errorf("tag %s v%s %s: %w", name, version, k, err)
		}
	}
	return nil
}

// moveAliases points alias `want` ("" for None and Archived) at mv and removes mv's other stage
// aliases.
func (m *MLflow) moveAliases(ctx context.Context, mv mlflowVersion, want string) error {
	if want != "" && !contains(mv.Aliases, want) {
		in := map[string]string{"name": mv.Name, "alias": want, "version": mv.Version}
		if err := m.call(ctx, "registered-models/alias", http.MethodPost, nil, in, nil); err != nil {
			return err
		}
	}
	for _, alias := range mv.Aliases {
		if alias == want || !contains(stageAliases, alias) {
			continue
		}
		// Re-read so an alias another run has just moved elsewhere is left alone.
		holder, found, err := m.byAlias(ctx, mv.Name, alias)
		if err != nil {
			return err
		}
		if !found || holder.Version != mv.Version {
			continue
		}
		in := map[string]string{"name": mv.Name, "alias": alias}
		if err := m.call(ctx, "registered-models/alias", http.MethodDelete, nil, in, nil); err != nil {
			return err
		}
	}
	return nil
}

func (m *MLflow) getVersion(ctx context.Context, name, version string) (mlflowVersion, error) {
	var out struct {
		ModelVersion mlflowVersion `json:"model_version"`
	}
	q := url.Values{"name": {name}, "version": {version}}
	err := m.call(ctx, "model-versions/get", http.MethodGet, q, nil, &out)
	return out.ModelVersion, err
}

// byAlias reads the version an alias points at; found is false when the model or alias is missing.
func (m *MLflow) byAlias(ctx context.Context, name, alias string) (mlflowVersion, bool, error) {
	var out struct {
		ModelVersion mlflowVersion `json:"model_version"`
	}
	q := url.Values{"name": {name}, "alias": {alias}}
	err := m.call(ctx, "registered-models/alias", http.MethodGet, q, nil, &out)
	var api *APIError
	switch {
	case err == nil:
		return out.ModelVersion, true, nil
	case IsNotFound(err):
		return mlflowVersion{}, false, nil
	case errors.As(err, &api) && api.Code == codeInvalidParam:
		// MLflow answers a missing alias with 400 INVALID_PARAMETER_VALUE; ask the model.
		has, herr := m.hasAlias(ctx, name, alias)
		if herr == nil && !has {
			return mlflowVersion{}, false, nil
		}
	}
	return mlflowVersion{}, false, err
}

func (m *MLflow) hasAlias(ctx context.Context, name, alias string) (bool, error) {
	var out struct {
		RegisteredModel struct {
			Aliases []struct {
				Alias string `json:"alias"`
			} `json:"aliases"`
		} `json:"registered_model"`
	}
	err := m.call(ctx, "registered-models/get", http.MethodGet, url.Values{"name": {name}}, nil, &out)
	if err != nil {
		return false, ignoreNotFound(err)
	}
	for _, a := range out.RegisteredModel.Aliases {
		if a.Alias == alias {
			return true, nil
		}
	}
	return false, nil
}

func ignoreNotFound(err error) error {
	if IsNotFound(err) {
		return nil
	}
	return err
}

// findByURI returns the lowest version of `name` whose TagModelURI tag is uri.
func (m *MLflow) findByURI(ctx context.Context, name, uri string) (mlflowVersion, bool, error) {
	filter, err := searchFilter(name, uri)
	if err != nil {
		return mlflowVersion{}, false, err
	}
	var best *mlflowVersion
	for token := ""; ; {
		var out struct {
			ModelVersions []mlflowVersion `json:"model_versions"`
			NextPageToken string          `json:"next_page_token"`
		}
		q := url.Values{"filter": {filter}, "max_results": {searchPageSize}}
		if token != "" {
			q.Set("page_token", token)
		}
		if err := m.call(ctx, "model-versions/search", http.MethodGet, q, nil, &out); err != nil {
			return mlflowVersion{}, false, err
		}
		for i, mv := range out.ModelVersions {
			if mv.Name == name && mv.tag(TagModelURI) == uri && (best == nil || versionLess(mv, *best)) {
				best = &out.ModelVersions[i]
			}
		}
		if token = out.NextPageToken; token == "" {
			break
		}
	}
	if best == nil {
		return mlflowVersion{}, false, nil
	}
	mv, err := m.getVersion(ctx, name, best.Version) // search replies carry no aliases
	return mv, err == nil, err
}

func stageAlias(s contract.Stage) string {
	switch s {
	case contract.StageStaging, contract.StageShadow, contract.StageProduction:
		return strings.ToLower(string(s))
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
