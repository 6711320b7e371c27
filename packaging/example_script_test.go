package packaging_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/temporaldeployer/temporaldeployer/tests/realparts"
)

// TestPredictExample runs the build script's predict-example functions (infra/bento/package.py)
// on input examples and signatures as MLflow loads them, in one Python process.
func TestPredictExample(t *testing.T) {
	python := realparts.VenvBin("python")
	_, err := os.Stat(python)
	realparts.Require(t, "venv python", err)
	const cols = `[{"type": "double", "name": "f0", "required": true}, {"type": "long", "name": "n", "required": true},
		{"type": "string", "name": "s", "required": true}, {"type": "boolean", "name": "b", "required": true}]`
	// A split DataFrame as MLflow writes input_example.json: whole floats keep their ".0".
	split := json.RawMessage(`{"columns": ["f0", "f1"], "data": [[0.5, 2.0], [-1.25, 3.0]]}`)
	const f0f1 = `[{"type": "double", "name": "f0", "required": true}, {"type": "double", "name": "f1", "required": true}]`
	tests := []struct {
		name, want string // want: the result object
		input      any
	}{
		{"DataFrame example: rows as objects, floats kept", `{"rows":[{"f0":0.5,"f1":2.0},{"f0":-1.25,"f1":3.0}]}`,
			map[string]any{"example": map[string]any{"dataframe": split}}},
		{"DataFrame with NaN: null", `{"rows":[{"a":1.5},{"a":null}]}`,
			map[string]any{"example": map[string]any{"dataframe": map[string]any{"columns": []string{"a"}, "data": [][]any{{1.5}, {nil}}}}}},
		{"2-D ndarray: rows as arrays", `{"rows":[[1.0,2.0],[3.0,4.0]]}`,
			map[string]any{"example": map[string]any{"ndarray": [][]float64{{1, 2}, {3, 4}}}}},
		{"3-D ndarray: nested rows", `{"rows":[[[1,2]],[[3,4]]]}`,
			map[string]any{"example": map[string]any{"ndarray": [][][]int{{{1, 2}}, {{3, 4}}}, "dtype": "int64"}}},
		{"1-D ndarray: none", `{"rows":null}`, map[string]any{"example": map[string]any{"ndarray": []float64{1, 2}}}},
		{"sparse matrix: dense rows", `{"rows":[[0.0,1.0]]}`, map[string]any{"example": map[string]any{"sparse": [][]float64{{0, 1}}}}},
		{"dict of scalars: one row", `{"rows":[{"a":1,"b":"x"}]}`, map[string]any{"example": map[string]any{"dict": map[string]any{"a": 1, "b": "x"}}}},
		{"dict of columns: rows", `{"rows":[{"a":1,"b":3},{"a":2,"b":4}]}`,
			map[string]any{"example": map[string]any{"dict_of_arrays": map[string]any{"a": []int{1, 2}, "b": []int{3, 4}}}}},
		{"dict of ragged columns: none", `{"rows":null}`,
			map[string]any{"example": map[string]any{"dict_of_arrays": map[string]any{"a": []int{1, 2}, "b": []int{3}}}}},
		{"list of rows", `{"rows":[[1,2]]}`, map[string]any{"example": map[string]any{"list": [][]int{{1, 2}}}}},
		{"list of scalars: none", `{"rows":null}`, map[string]any{"example": map[string]any{"list": []int{1, 2}}}},
		{"string: none", `{"rows":null}`, map[string]any{"example": map[string]any{"string": "hello"}}},
		{"no example", `{"rows":null}`, map[string]any{"example": map[string]any{"none": true}}},
		{"named columns: typical values", `{"rows":[{"f0":0.0,"n":0,"s":"","b":false},{"f0":0.0,"n":0,"s":"","b":false}]}`,
			map[string]any{"schema": cols}},
		{"unnamed columns: arrays", `{"rows":[[0.0,0],[0.0,0]]}`, map[string]any{"schema": `[{"type": "double"}, {"type": "integer"}]`}},
		{"optional column of another type left out", `{"rows":[{"x":0.0},{"x":0.0}]}`,
			map[string]any{"schema": `[{"type": "double", "name": "x"}, {"type": "binary", "name": "img", "required": false}]`}},
		{"required column of another type: none", `{"rows":null}`,
			map[string]any{"schema": `[{"type": "double", "name": "x"}, {"type": "datetime", "name": "at"}]`}},
		{"tensor (-1, 2, 3)", `{"rows":[[[0.0,0.0,0.0],[0.0,0.0,0.0]],[[0.0,0.0,0.0],[0.0,0.0,0.0]]]}`,
			map[string]any{"schema": `[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 2, 3]}}]`}},
		{"tensor with a free inner dimension: none", `{"rows":null}`,
			map[string]any{"schema": `[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, -1]}}]`}},
		{"model with an example: the example", `{"rows":[{"f0":0.5,"f1":2.0},{"f0":-1.25,"f1":3.0}],"source":"input_example"}`,
			map[string]any{"model": map[string]any{"signature": f0f1, "example": split}}},
		{"model with a signature only", `{"rows":[[0.0,0],[0.0,0]],"source":"signature"}`,
			map[string]any{"model": map[string]any{"signature": `[{"type": "double"}, {"type": "integer"}]`}}},
		{"model whose example file is missing: the signature", `{"rows":[[0.0],[0.0]],"source":"signature"}`,
			map[string]any{"model": map[string]any{"signature": `[{"type": "double"}]`, "example": split, "drop_example_file": true}}},
		{"model with neither", `{"rows":null,"source":""}`, map[string]any{"model": map[string]any{}}},
	}
	// A recorded example longer than the script keeps (MAX_EXAMPLE_ROWS = 16): its first 16 rows.
	var long, first16 []string
	for i := range 20 {
		long = append(long, fmt.Sprintf("[%d.5]", i))
		if i < 16 {
			first16 = append(first16, fmt.Sprintf(`{"x":%d.5}`, i))
		}
	}
	tests = append(tests, struct {
		name, want string
		input      any
	}{"model with a long example: its first 16 rows", `{"rows":[` + strings.Join(first16, ",") + `],"source":"input_example"}`,
		map[string]any{"model": map[string]any{"signature": `[{"type": "double", "name": "x"}]`,
			"example": json.RawMessage(`{"columns": ["x"], "data": [` + strings.Join(long, ",") + `]}`)}}})
	var inputs []any
	for _, tt := range tests {
		inputs = append(inputs, tt.input)
	}
	got := runPredictExample(t, python, inputs)
	if len(got) != len(tests) {
		t.Fatalf("script returned %d results for %d cases", len(got), len(tests))
	}
	for i, tt := range tests {
		if !jsonEqual(t, got[i], tt.want) {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got[i], tt.want)
		}
	}
}

func runPredictExample(t *testing.T, python string, cases []any) []json.RawMessage {
	t.Helper()
	in, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(realparts.Root(), "packaging", "testdata", "predict_example.py")
	cmd := exec.Command(python, script, filepath.Join(realparts.Root(), "infra", "bento"))
	cmd.Env = append(os.Environ(), "MLFLOW_DISABLE_TELEMETRY=true", "DO_NOT_TRACK=true")
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(in), &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", script, err, stderr.String())
	}
	var out []json.RawMessage
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("%s output %q: %v\nstderr:\n%s", script, stdout.String(), err, stderr.String())
	}
	return out
}

// jsonEqual compares JSON texts byte for byte after compaction: 0.0 and 0 differ, as they do to
// a schema-enforcing model server.
func jsonEqual(t *testing.T, got json.RawMessage, want string) bool {
	t.Helper()
	var a, b bytes.Buffer
	if err := json.Compact(&a, got); err != nil {
		t.Fatalf("result %s: %v", got, err)
	}
	if err := json.Compact(&b, []byte(want)); err != nil {
		t.Fatalf("want %s: %v", want, err)
	}
	return a.String() == b.String()
}
