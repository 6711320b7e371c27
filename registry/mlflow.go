package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/temporaldeployer/temporaldeployer/contract"
)

// Version tags the deployer keeps on MLflow model versions. Stages are deprecated since MLflow
// 2.9, so a version's stage is the TagStage tag plus an alias named after the stage (lowercase).
const (
	TagStage          = "temporaldeployer.stage"
	TagStageReason    = "temporaldeployer.stage_reason"
	TagStageActor     = "temporaldeployer.stage_actor"
	TagStageUpdatedAt = "temporaldeployer.stage_updated_at"
	TagModelURI       = "temporaldeployer.model_uri" // the URI Register was given
)

const (
	codeNotFound      = "RESOURCE_DOES_NOT_EXIST"
	codeAlreadyExists = "RESOURCE_ALREADY_EXISTS"
	codeInvalidParam  = "INVALID_PARAMETER_VALUE"
	searchPageSize    = "1000"
	maxReplyBytes     = 64 << 20
)

var (
	stageAliases           = []string{"staging", "shadow", "production"}
	loggedModelID          = regexp.MustCompile(`^m-[0-9a-f]{32}$`)
	runIDSegment           = regexp.MustCompile(`^[0-9a-f]{32}$`)
	_             Registry = (*MLflow)(nil)
	errUnquotable          = errors.New("value holds both quote characters")
)

// MLflow is the Registry over an MLflow tracking server's REST API (/api/2.0/mlflow/).
// Transient failures (connection errors, HTTP 5xx and 429) are retried with exponential backoff;
// other replies come back at once as *APIError.
type MLflow struct {
	api      string // base URL + /api/2.0/mlflow
	client   *http.Client
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
		return nil, fmt.Errorf("mlflow base URL %q: %w", baseURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return nil, fmt.Errorf("mlflow base URL %q: want http(s)://host[:port][/path]", baseURL)
	}
	m := &MLflow{
		api:      strings.TrimRight(u.String(), "/") + "/api/2.0/mlflow",
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
	if err := m.moveAliases(ctx, mv, stageAlias(stage)); err != nil {
		return mv, err
	}
	return m.getVersion(ctx, name, version)
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

// searchFilter filters on the model name and, when it can be quoted, on the URI tag.
func searchFilter(name, uri string) (string, error) {
	qname, err := quoteFilter(name)
	if err != nil {
		return "", fmt.Errorf("model name %q: %w", name, err)
	}
	filter := "name = " + qname
	if quri, err := quoteFilter(uri); err == nil {
		filter += " AND tags.`" + TagModelURI + "` = " + quri
	}
	return filter, nil
}

// quoteFilter quotes a string for an MLflow search filter, which has no escape character.
func quoteFilter(s string) (string, error) {
	switch {
	case !strings.Contains(s, "'"):
		return "'" + s + "'", nil
	case !strings.Contains(s, `"`):
		return `"` + s + `"`, nil
	}
	return "", errUnquotable
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

// parseRunsURI splits runs:/<run_id>/<path>.
func parseRunsURI(uri string) (runID, path string, ok bool) {
	rest, ok := strings.CutPrefix(uri, "runs:/")
	if !ok {
		return "", "", false
	}
	runID, path, _ = strings.Cut(rest, "/")
	return runID, strings.Trim(path, "/"), runID != ""
}

// sourceIDs finds the logged model or run another URI belongs to, which MLflow needs to accept
// it: models:/m-<id>, and local or mlflow-artifacts paths inside a logged model's or run's
// artifact directory.
func sourceIDs(uri string) (runID, modelID string) {
	if rest, ok := strings.CutPrefix(uri, "models:/"); ok {
		if rest != "" && !strings.ContainsAny(rest, "/@") {
			return "", rest // models:/<logged model id>
		}
		return "", ""
	}
	if !strings.HasPrefix(uri, "/") && !strings.HasPrefix(uri, "file:") &&
		!strings.HasPrefix(uri, "mlflow-artifacts:") {
		return "", "" // s3://, gs://, http(s)://... are taken as they are
	}
	for _, seg := range strings.Split(uri, "/") {
		if loggedModelID.MatchString(seg) {
			return "", seg
		}
		if runID == "" && runIDSegment.MatchString(seg) {
			runID = seg
		}
	}
	return runID, ""
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

type tagKV struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// mlflowVersion is a ModelVersion as MLflow's REST API returns it.
type mlflowVersion struct {
	Name        string   `json:"name"`
	Version     string   `json:"version"`
	Source      string   `json:"source"`
	RunID       string   `json:"run_id"`
	Description string   `json:"description"`
	Tags        []tagKV  `json:"tags"`
	Aliases     []string `json:"aliases"`
}

func (mv mlflowVersion) tag(key string) string {
	for _, t := range mv.Tags {
		if t.Key == key {
			return t.Value
		}
	}
	return ""
}

func (mv mlflowVersion) toVersion() (Version, error) {
	stage, err := contract.ParseStage(mv.tag(TagStage))
	if err != nil {
		return Version{}, fmt.Errorf("mlflow version %s/%s: tag %s: %w", mv.Name, mv.Version, TagStage, err)
	}
	aliases := append([]string(nil), mv.Aliases...)
	sort.Strings(aliases)
	return Version{Name: mv.Name, Version: mv.Version, Source: mv.Source, RunID: mv.RunID,
		Stage: stage, Aliases: aliases, Description: mv.Description}, nil
}

func versionLess(a, b mlflowVersion) bool {
	x, errX := strconv.Atoi(a.Version)
	y, errY := strconv.Atoi(b.Version)
	if errX != nil || errY != nil {
		return a.Version < b.Version
	}
	return x < y
}

// registeredRef is a models:/<name>/<version> or models:/<name>@<alias> URI.
type registeredRef struct{ name, version, alias string }

// parseRegisteredRef parses a URI naming a registered model version. The legacy stage form
// models:/<name>/<Stage> is read as the stage's alias. models:/m-<id> (a logged model) is not one.
func parseRegisteredRef(uri string) (registeredRef, bool) {
	rest, ok := strings.CutPrefix(uri, "models:/")
	parts := strings.Split(rest, "/")
	switch {
	case !ok:
	case len(parts) == 2 && parts[0] != "" && parts[1] != "":
		for _, alias := range stageAliases {
			if strings.EqualFold(parts[1], alias) {
				return registeredRef{name: parts[0], alias: alias}, true
			}
		}
		return registeredRef{name: parts[0], version: parts[1]}, true
	case len(parts) == 1:
		if i := strings.LastIndex(rest, "@"); i > 0 && i < len(rest)-1 {
			return registeredRef{name: rest[:i], alias: rest[i+1:]}, true
		}
	}
	return registeredRef{}, false
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

// call makes one REST call, retrying transient failures.
func (m *MLflow) call(ctx context.Context, op, method string, q url.Values, in, out any) error {
	return m.retry(ctx, func() error { return m.once(ctx, op, method, q, in, out) })
}

// retry runs fn until it succeeds, fails permanently, or has had m.attempts attempts, with
// exponential backoff between attempts.
func (m *MLflow) retry(ctx context.Context, fn func() error) error {
	delay := m.backoff
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || attempt >= m.attempts || !transient(ctx, err) {
			return err
		}
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("%w (gave up retrying after %d attempts: %v)", ctx.Err(), attempt, err)
		case <-timer.C:
		}
		delay *= 2
	}
}

// transportError is a request that got no HTTP reply.
type transportError struct{ err error }

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

func transient(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var api *APIError
	if errors.As(err, &api) {
		return api.StatusCode >= 500 || api.StatusCode == http.StatusTooManyRequests
	}
	var te *transportError
	return errors.As(err, &te)
}

// once makes one REST call, q in the URL and in (if not nil) as the JSON body.
func (m *MLflow) once(ctx context.Context, op, method string, q url.Values, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode %s request: %w", op, err)
		}
		body = bytes.NewReader(b)
	}
	target := m.api + "/" + op
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return fmt.Errorf("build %s request: %w", op, err)
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return &transportError{fmt.Errorf("%s %s: %w", method, op, err)}
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBytes))
	if err != nil {
		return &transportError{fmt.Errorf("read %s reply: %w", op, err)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return apiError(op, resp.StatusCode, reply)
	}
	if out == nil || len(bytes.TrimSpace(reply)) == 0 {
		return nil
	}
	if err := json.Unmarshal(reply, out); err != nil {
		return fmt.Errorf("decode %s reply: %w", op, err)
	}
	return nil
}

// apiError reads MLflow's {"error_code": ..., "message": ...} error body.
func apiError(op string, status int, reply []byte) *APIError {
	var body struct {
		ErrorCode string `json:"error_code"`
		Message   string `json:"message"`
	}
	if json.Unmarshal(reply, &body) != nil || (body.ErrorCode == "" && body.Message == "") {
		body.Message = strings.TrimSpace(string(reply))
		if len(body.Message) > 512 {
			body.Message = body.Message[:512] + "..."
		}
	}
	return &APIError{Op: op, StatusCode: status, Code: body.ErrorCode, Message: body.Message}
}
