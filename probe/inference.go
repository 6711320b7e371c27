package probe

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/temporaldeployer/temporaldeployer/redact"
)

// infer POSTs t.PredictBody to t.PredictURL until one answer passes judge or the attempts run
// out, filling in inf from the last attempt; an error only when ctx ends.
func (h *HTTP) infer(ctx context.Context, t Target, inf *InferenceResult) error {
	inf.Checked = true
	return h.retry(ctx, &inf.Attempts, func() bool {
		a, err := h.do(ctx, http.MethodPost, t.PredictURL, t.PredictBody)
		inf.StatusCode, inf.ResponseTime, inf.Predictions = a.code, a.took, 0
		if err == nil {
			inf.Predictions, err = judge(a, inf.RowsSent)
		}
		inf.OK, inf.Error = err == nil, ""
		if err != nil {
			inf.Error = redact.Text(fmt.Sprintf("POST %s (%d rows): %v", t.PredictURL, inf.RowsSent, err)) // to history and the ledger
		}
		return inf.OK
	})
}

// judge checks a predict answer: HTTP 200 and a JSON object whose "predictions" array has one
// item per row sent. It returns the number of predictions found.
func judge(a answer, rows int) (int, error) {
	switch {
	case a.code/100 == 3:
		return 0, fmt.Errorf("HTTP %d, a redirect to %q (not followed)", a.code, redact.URL(a.location))
	case a.code != http.StatusOK:
		return 0, fmt.Errorf("HTTP %d, want 200%s", a.code, excerpt(a.body))
	case len(a.body) > maxResponseBytes:
		return 0, fmt.Errorf("answer is over %d bytes", maxResponseBytes)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(a.body, &obj); err != nil {
		if !json.Valid(a.body) {
			return 0, fmt.Errorf("answer is not JSON%s", excerpt(a.body))
		}
		return 0, fmt.Errorf("answer is not a JSON object%s", excerpt(a.body))
	}
	raw, ok := obj["predictions"]
	if !ok {
		return 0, fmt.Errorf("answer has no \"predictions\"%s", excerpt(a.body))
	}
	var preds []json.RawMessage
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '[' || json.Unmarshal(t, &preds) != nil {
		return 0, fmt.Errorf("\"predictions\" is not an array%s", excerpt(raw))
	}
	if len(preds) != rows {
		return len(preds), fmt.Errorf("%d predictions for %d rows", len(preds), rows)
	}
	return len(preds), nil
}

// requestRows counts the rows of a predict body, which must be {"rows": [one or more]}.
func requestRows(body json.RawMessage) (int, error) {
	var b struct {
		Rows *[]json.RawMessage `json:"rows"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return 0, fmt.Errorf("predict body: want {\"rows\": [...]}: %w", err)
	}
	if b.Rows == nil || len(*b.Rows) == 0 {
		return 0, fmt.Errorf("predict body: want {\"rows\": [...]} with at least one row")
	}
	return len(*b.Rows), nil
}

// excerpt is ": <the start of b>" for an error message, or "" for an empty b.
func excerpt(b []byte) string {
	s := strings.TrimSpace(string(b))
	if s == "" {
		return ""
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return ": " + s
}
