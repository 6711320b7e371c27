package approval

import (
	"strings"
	"testing"
)

// TestCheckJSON: exactly one value, no repeated member names at any depth, and (when asked)
// lower-case member names, each error naming where.
func TestCheckJSON(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    string
		lower bool
		want  string // "" = valid
	}{
		{"object", `{"a": 1, "b": [1, {"c": null}], "d": {"e": "f"}}`, true, ""},
		{"scalar", `"x"`, false, ""},
		{"same name in sibling objects", `[{"a": 1}, {"a": 2}]`, false, ""},
		{"empty", ``, false, "exactly one JSON value"},
		{"two values", `{} {}`, false, "exactly one JSON value"},
		{"unclosed", `{"a": [1, 2}`, false, "invalid JSON"},
		{"repeated at top", `{"a": 1, "a": 2}`, false, `duplicate field "a"`},
		{"repeated deep", `{"x": [{"k": 1}, {"k": 1, "k": 2}]}`, false, `x[1]: duplicate field "k"`},
		{"upper case allowed", `{"A": 1}`, false, ""},
		{"upper case refused", `{"a": {"B": 1}}`, true, `a: unknown field "B"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkJSON([]byte(tc.in), tc.lower)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("checkJSON(%s) = %v, want %q", tc.in, err, tc.want)
			}
		})
	}
}
