package seal_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/temporaldeployer/temporaldeployer/seal"
)

func TestCanonicalGolden(t *testing.T) {
	e := seal.Entry{
		Seq: 3, Key: "k<1>", WorkflowID: "wf", RunID: "run", Deployment: "fraud", Gate: "approval",
		Verdict: "approved", Reason: "line 1\nline 2 \"quoted\" \\ tab\t", Source: "caller-supplied",
		Actor: "alice", DecidedAt: time.Date(2026, 3, 1, 13, 0, 0, 250_000_999, time.FixedZone("CET", 3600)),
		ModelName: "fraud", ModelVersion: "7",
		Inputs: map[string]any{"z": 1, "a": []any{0.5, "x", nil, false}, "m": map[string]any{"b": 1e21, "a": 1e-7}},
	}
	want := `{"actor":"alice","decided_at":"2026-03-01T12:00:00.250000Z","deployment_name":"fraud",` +
		`"gate":"approval","inputs":{"a":[0.5,"x",null,false],"m":{"a":1e-7,"b":1e+21},"z":1},"key":"k<1>",` +
		`"model_name":"fraud","model_version":"7","reason":"line 1\nline 2 \"quoted\" \\ tab\t","run_id":"run",` +
		`"seq":3,"source":"caller-supplied","verdict":"approved","workflow_id":"wf"}`
	if got := mustCanonical(t, e); got != want {
		t.Fatalf("Canonical:\n got %s\nwant %s", got, want)
	}
}

// The hash of an entry must survive the store: written by the worker, read back from SQLite or
// PostgreSQL (JSONB), its canonical encoding is the same.
func TestCanonicalSurvivesTheStore(t *testing.T) {
	type point struct {
		X float64 `json:"x"`
		Y int     `json:"y,omitempty"`
	}
	when := time.Date(2026, 3, 1, 12, 0, 0, 987654321, time.FixedZone("PST", -8*3600))
	cases := []struct {
		name   string
		inputs map[string]any
	}{
		{"small int", map[string]any{"n": 3}},
		{"ints of every size", map[string]any{"i8": int8(-8), "u16": uint16(65535), "i64": int64(-1 << 40), "u": uint(7)}},
		{"ints beyond 2^53 (the store reads float64)", map[string]any{"big": int64(1<<62 + 1), "max": uint64(math.MaxUint64)}},
		{"floats", map[string]any{"a": 0.1, "b": 1.5e-7, "c": 1e21, "d": 123456789.125, "e": float32(0.1), "f": math.MaxFloat64}},
		{"negative zero", map[string]any{"z": math.Copysign(0, -1)}},
		{"nested maps and slices", map[string]any{"m": map[string]any{"b": []any{1, map[string]any{"y": 2, "x": 1}}, "a": []int{3, 2, 1}}}},
		{"time values", map[string]any{"at": when, "ptr": &when, "d": 90 * time.Second}},
		{"structs", map[string]any{"p": point{X: 1.25}, "ps": []point{{1, 2}}}},
		{"unicode", map[string]any{"naïve": "→ ✓ 😀 \u2028 <&>", "日本": "語", "\U0001F600": 1, "\uFB01": 2}},
		{"NUL in keys and values", map[string]any{"a\x00b": "c\x00d"}},
		{"json.Number", map[string]any{"n": json.Number("1.50"), "m": json.Number("1E3")}},
		{"bools and nulls", map[string]any{"t": true, "f": false, "nil": nil}},
		{"empty map", map[string]any{}},
		{"nil map", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := entry(0)
			e.Seq = 1
			e.Inputs = tc.inputs
			e.Reason = "reason with NUL \x00 and invalid UTF-8 \xff"
			want := mustCanonical(t, e)
			for name, back := range map[string]seal.Entry{
				"sqlite": sqliteRoundTrip(t, e), "postgres": postgresRoundTrip(t, e),
			} {
				if got := mustCanonical(t, back); got != want {
					t.Errorf("%s round trip changed the encoding:\n got %s\nwant %s", name, got, want)
				}
			}
		})
	}
}

func TestCanonicalNumbers(t *testing.T) {
	cases := []struct {
		in   any
		want string
	}{
		{3, "3"}, {3.0, "3"}, {-3, "-3"}, {0.1, "0.1"}, {float32(0.1), "0.1"}, {1e20, "100000000000000000000"},
		{1e21, "1e+21"}, {1e-6, "0.000001"}, {1e-7, "1e-7"}, {1.5e-10, "1.5e-10"}, {math.Copysign(0, -1), "0"},
		{int64(1<<53 + 1), "9007199254740992"}, {math.MaxFloat64, "1.7976931348623157e+308"},
		{json.Number("1.50"), "1.5"}, {json.Number("-0.0"), "0"}, {json.Number("2E3"), "2000"},
	}
	for _, tc := range cases {
		e := entry(0)
		e.Inputs = map[string]any{"n": tc.in}
		got := mustCanonical(t, e)
		if want := `"inputs":{"n":` + tc.want + `}`; !strings.Contains(got, want) {
			t.Errorf("%#v: canonical %s does not contain %s", tc.in, got, want)
		}
	}
}

func TestCanonicalStrings(t *testing.T) {
	e := entry(0)
	e.Reason = "\"\\\b\f\n\r\t\x01\x1f\x7f<>&\u2028é😀\x00\xff"
	want := `"reason":"\"\\\b\f\n\r\t\u0001\u001f` + "\x7f<>&\u2028é😀\uFFFD\uFFFD" + `"`
	if got := mustCanonical(t, e); !strings.Contains(got, want) {
		t.Fatalf("canonical %s does not contain %s", got, want)
	}
}

func TestCanonicalOrdersMembersByUTF16(t *testing.T) {
	e := entry(0)
	// U+FB01 sorts before U+1F600 in UTF-8 bytes, after it in UTF-16 code units (RFC 8785 §3.2.3).
	e.Inputs = map[string]any{"\uFB01": 1, "\U0001F600": 2, "b": 3, "a": 4, "aa": 5, "A": 6}
	want := `"inputs":{"A":6,"a":4,"aa":5,"b":3,"` + "\U0001F600" + `":2,"` + "\uFB01" + `":1}`
	if got := mustCanonical(t, e); !strings.Contains(got, want) {
		t.Fatalf("canonical %s does not contain %s", got, want)
	}
}

func TestCanonicalIgnoresMapOrder(t *testing.T) {
	a, b := entry(1), entry(1)
	a.Inputs, b.Inputs = map[string]any{}, map[string]any{}
	for i := range 200 {
		a.Inputs[string(rune('a'+i%26))+strings.Repeat("x", i)] = i
	}
	for i := 199; i >= 0; i-- {
		b.Inputs[string(rune('a'+i%26))+strings.Repeat("x", i)] = i
	}
	if mustCanonical(t, a) != mustCanonical(t, b) {
		t.Fatal("the encoding depends on map insertion order")
	}
}

func TestCanonicalDecidedAt(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 5_000, time.UTC)
	enc := func(t0 time.Time) string {
		e := entry(0)
		e.DecidedAt = t0
		return mustCanonical(t, e)
	}
	if enc(at) != enc(at.In(time.FixedZone("X", 5*3600+1800))) {
		t.Error("the same instant in another zone encodes differently")
	}
	if enc(at) != enc(at.Add(999*time.Nanosecond)) {
		t.Error("a change below a microsecond (which the store drops) changes the encoding")
	}
	if enc(at) == enc(at.Add(time.Microsecond)) {
		t.Error("a change of a microsecond does not change the encoding")
	}
	if got := enc(at); !strings.Contains(got, `"decided_at":"2026-03-01T12:00:00.000005Z"`) {
		t.Errorf("decided_at in %s", got)
	}
}

func TestCanonicalRefuses(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*seal.Entry)
		want   string
	}{
		{"zero decided_at", func(e *seal.Entry) { e.DecidedAt = time.Time{} }, "decided_at is zero"},
		{"year 10000", func(e *seal.Entry) { e.DecidedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, "years 1 to 9999"},
		{"NaN input", func(e *seal.Entry) { e.Inputs = map[string]any{"x": math.NaN()} }, "inputs"},
		{"channel input", func(e *seal.Entry) { e.Inputs = map[string]any{"c": make(chan int)} }, "inputs"},
		{"number beyond a double", func(e *seal.Entry) { e.Inputs = map[string]any{"n": json.Number("1e400")} }, "does not fit a double"},
		{"names colliding once NUL is replaced", func(e *seal.Entry) {
			e.Inputs = map[string]any{"m": map[string]any{"a\x00": 1, "a\uFFFD": 2}}
		}, "collide"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := entry(0)
			tc.mutate(&e)
			_, err := seal.Canonical(e)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Canonical error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}
