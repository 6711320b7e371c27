package packaging

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Input example sources (Artifact.InputExampleSource).
const (
	ExampleFromInputExample = "input_example" // the input example logged with the MLflow model
	ExampleFromSignature    = "signature"     // typical values built from the model's input signature
)

// Size caps of the predict body kept from the build. The artifact's copy travels in activity
// inputs and results (each health check carries it), so it stays small; the manifest's copy is
// smaller still. A body over a cap keeps its first rows that fit; one whose first row alone does
// not fit is dropped.
const (
	MaxInputExampleRows          = 16       // rows in Artifact.InputExample
	MaxInputExampleBytes         = 16 << 10 // bytes of Artifact.InputExample
	MaxManifestInputExampleBytes = 4 << 10  // bytes of the manifest's copy (ManifestInputExample)
)

// inputExample is the build script's predict body, validated and capped: body is
// {"rows": [...]} with 1 to MaxInputExampleRows rows, or nil.
type inputExample struct {
	body   json.RawMessage
	source string
}

// parseInputExample reads the script's input_example_json and input_example_source. A body that
// is not {"rows": [non-empty]} or a source that is not known is an error; an empty text is none.
func parseInputExample(text, source string) (inputExample, error) {
	if text == "" {
		return inputExample{}, nil
	}
	if source != ExampleFromInputExample && source != ExampleFromSignature {
		return inputExample{}, fmt.Errorf("input example source %q: want %s or %s", source, ExampleFromInputExample, ExampleFromSignature)
	}
	rows, err := exampleRows(json.RawMessage(text))
	if err != nil {
		return inputExample{}, err
	}
	body := capRows(rows, MaxInputExampleRows, MaxInputExampleBytes)
	if body == nil {
		return inputExample{}, nil
	}
	return inputExample{body: body, source: source}, nil
}

// exampleRows returns the rows of a {"rows": [...]} body, each compacted.
func exampleRows(body json.RawMessage) ([]json.RawMessage, error) {
	var obj struct {
		Rows []json.RawMessage `json:"rows"`
	}
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, fmt.Errorf("input example %s: want {\"rows\": [...]}: %w", truncate(string(body), 80), err)
	}
	if len(obj.Rows) == 0 {
		return nil, errors.New("input example has no rows")
	}
	for i, r := range obj.Rows {
		var b bytes.Buffer
		if err := json.Compact(&b, r); err != nil {
			return nil, fmt.Errorf("input example row %d: %w", i, err)
		}
		obj.Rows[i] = b.Bytes()
	}
	return obj.Rows, nil
}

// capRows builds {"rows":[...]} from the first rows, at most maxRows of them and at most maxBytes
// in all; nil when not even the first row fits. Rows are kept byte for byte (0.0 stays 0.0: a
// schema-enforcing model refuses an integer for a double column).
func capRows(rows []json.RawMessage, maxRows, maxBytes int) json.RawMessage {
	const head, tail = `{"rows":[`, `]}`
	n := len(head) + len(tail)
	var kept [][]byte
	for _, r := range rows {
		extra := len(r)
		if len(kept) > 0 {
			extra++ // the comma
		}
		if len(kept) == maxRows || n+extra > maxBytes {
			break
		}
		kept, n = append(kept, r), n+extra
	}
	if len(kept) == 0 {
		return nil
	}
	return json.RawMessage(head + string(bytes.Join(kept, []byte(","))) + tail)
}

// manifestExample is the manifest's copy of body: its first rows that fit in
// MaxManifestInputExampleBytes, or "".
func manifestExample(body json.RawMessage) string {
	if len(body) == 0 {
		return ""
	}
	rows, err := exampleRows(body)
	if err != nil {
		return ""
	}
	return string(capRows(rows, MaxInputExampleRows, MaxManifestInputExampleBytes))
}
