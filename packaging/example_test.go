package packaging

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// body is {"rows":[...]} with n rows, each `{"x":0.0,"pad":"<pad bytes>"}`.
func body(n, pad int) string {
	rows := make([]string, n)
	for i := range rows {
		rows[i] = fmt.Sprintf(`{"x":%d.0,"pad":"%s"}`, i, strings.Repeat("p", pad))
	}
	return `{"rows":[` + strings.Join(rows, ",") + `]}`
}

func TestParseInputExample(t *testing.T) {
	tests := []struct {
		name, text, source string
		wantRows           int // -1: error
		wantSource         string
	}{
		{"none", "", "", 0, ""},
		{"example kept whole, compacted", `{"rows": [ {"f0": 0.0} , {"f0": 1.5} ]}`, "input_example", 2, "input_example"},
		{"from the signature", `{"rows":[[0.0,0],[0.0,0]]}`, "signature", 2, "signature"},
		{"too many rows: the first 16", body(40, 1), "input_example", MaxInputExampleRows, "input_example"},
		{"too many bytes: the first rows that fit", body(16, 3000), "input_example", 5, "input_example"},
		{"first row alone too big: none", body(1, MaxInputExampleBytes), "input_example", 0, ""},
		{"unknown source", `{"rows":[[1]]}`, "guess", -1, ""},
		{"not JSON", `{"rows":[`, "signature", -1, ""},
		{"rows not a list", `{"rows":{"a":1}}`, "signature", -1, ""},
		{"no rows", `{"rows":[]}`, "signature", -1, ""},
		{"no rows field", `{"inputs":[[1]]}`, "signature", -1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex, err := parseInputExample(tt.text, tt.source)
			if tt.wantRows < 0 {
				if err == nil {
					t.Fatalf("got %s, want an error", ex.body)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ex.source != tt.wantSource || len(ex.body) > MaxInputExampleBytes {
				t.Fatalf("source %q (want %q), %d bytes", ex.source, tt.wantSource, len(ex.body))
			}
			if got := rowCount(t, ex.body); got != tt.wantRows {
				t.Fatalf("%d rows, want %d: %s", got, tt.wantRows, truncate(string(ex.body), 200))
			}
		})
	}
}

func TestExampleKeepsNumbersAsWritten(t *testing.T) {
	ex, err := parseInputExample(`{"rows": [{"f0": 0.0, "n": 0, "big": 12345678901234567890, "s": "", "b": false}]}`, "signature")
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"rows":[{"f0":0.0,"n":0,"big":12345678901234567890,"s":"","b":false}]}`; string(ex.body) != want {
		t.Fatalf("got %s, want %s", ex.body, want)
	}
}

func TestManifestExample(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		wantRows int
	}{
		{"none", "", 0},
		{"small: all of it", body(3, 10), 3},
		{"over 4 KiB: the first rows that fit", body(16, 900), 4},
		{"first row over 4 KiB: none", body(2, MaxManifestInputExampleBytes), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := manifestExample(json.RawMessage(tt.body))
			if len(got) > MaxManifestInputExampleBytes {
				t.Fatalf("%d bytes, over %d", len(got), MaxManifestInputExampleBytes)
			}
			if n := rowCount(t, json.RawMessage(got)); n != tt.wantRows {
				t.Fatalf("%d rows, want %d", n, tt.wantRows)
			}
		})
	}
}

func TestArtifactInputExampleFromLabels(t *testing.T) {
	art := Artifact{Manifest: map[string]string{}}
	withInputExample(&art, map[string]string{LabelInputExample: body(16, 900), LabelInputExampleSource: "input_example"})
	if rowCount(t, art.InputExample) != 16 || art.InputExampleSource != "input_example" {
		t.Fatalf("artifact example: %d rows from %q", rowCount(t, art.InputExample), art.InputExampleSource)
	}
	if n := rowCount(t, json.RawMessage(art.Manifest[ManifestInputExample])); n != 4 || art.Manifest[ManifestInputExampleSource] != "input_example" {
		t.Fatalf("manifest example: %d rows from %q", n, art.Manifest[ManifestInputExampleSource])
	}
	none := Artifact{Manifest: map[string]string{}}
	withInputExample(&none, map[string]string{}) // an image pushed before input examples were recorded
	if none.InputExample != nil || none.InputExampleSource != "" || len(none.Manifest) != 0 {
		t.Fatalf("no labels: got %+v", none)
	}
}

func rowCount(t *testing.T, body json.RawMessage) int {
	t.Helper()
	if len(body) == 0 {
		return 0
	}
	var b struct {
		Rows []json.RawMessage `json:"rows"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatalf("body %s: %v", truncate(string(body), 100), err)
	}
	return len(b.Rows)
}
