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
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/redact"
)

const (
	codeNotFound      = "RESOURCE_DOES_NOT_EXIST"
	codeAlreadyExists = "RESOURCE_ALREADY_EXISTS"
	codeInvalidParam  = "INVALID_PARAMETER_VALUE"
	maxReplyBytes     = 64 << 20
)

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
	m.auth.Apply(req)
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
		return apiError(op, resp.StatusCode, reply, m.auth.Secrets()...)
	}
	if out == nil || len(bytes.TrimSpace(reply)) == 0 {
		return nil
	}
	if err := json.Unmarshal(reply, out); err != nil {
		return fmt.Errorf("decode %s reply: %w", op, err)
	}
	return nil
}

// apiError reads MLflow's {"error_code": ..., "message": ...} error body, redacted.
func apiError(op string, status int, reply []byte, secrets ...string) *APIError {
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
	return &APIError{Op: op, StatusCode: status, Code: body.ErrorCode, Message: redact.Text(body.Message, secrets...)}
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
	// what SetStage did to another version (see Version.Archived and Version.Restored)
	archived, restored string
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
		Stage: stage, Aliases: aliases, Description: mv.Description, Archived: mv.archived, Restored: mv.restored}, nil
}

func versionLess(a, b mlflowVersion) bool {
	x, errX := strconv.Atoi(a.Version)
	y, errY := strconv.Atoi(b.Version)
	if errX != nil || errY != nil {
		return a.Version < b.Version
	}
	return x < y
}
