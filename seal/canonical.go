package seal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// decidedAtLayout is how Canonical writes decided_at: RFC 3339 in UTC with exactly six fractional
// digits, the layout the SQLite store uses.
const decidedAtLayout = "2006-01-02T15:04:05.000000Z"

// Canonical is the canonical encoding of e: the bytes its hash covers. They are the same for the
// entry as the worker built it and as the store reads it back from SQLite or PostgreSQL, whatever
// the order of its maps. The encoding is JSON in the style of RFC 8785 (JCS):
//
//   - one object with exactly the members actor, decided_at, deployment_name, gate, inputs, key,
//     model_name, model_version, reason, run_id, seq, source, verdict, workflow_id;
//   - no whitespace; object members sorted by their names' UTF-16 code units (RFC 8785 §3.2.3);
//   - strings: `"` and `\` escaped, U+0008, U+0009, U+000A, U+000C, U+000D as \b \t \n \f \r, other
//     characters below U+0020 as \u00xx (lower-case hex), everything else as UTF-8 as it is; a NUL
//     becomes U+FFFD (the store writes it so: PostgreSQL refuses NUL), and so does each byte of
//     invalid UTF-8 (as encoding/json does);
//   - seq: a decimal integer;
//   - decided_at: a string, the time in UTC truncated to microseconds (PostgreSQL's precision; the
//     store truncates the same way), RFC 3339 with exactly six fractional digits,
//     e.g. "2026-03-01T12:00:00.250000Z"; a zero time, or a year outside 1..9999, is an error;
//   - inputs: the JSON form of the map, as the store keeps it: encoded with encoding/json (times
//     become RFC 3339 strings, structs objects, ...), decoded again, and written canonically. A nil
//     and an empty map are both {}. Numbers are IEEE 754 doubles written as RFC 8785 §3.2.2.3 (and
//     encoding/json) write them: 3 → 3, 0.1 → 0.1, 1e21 → 1e+21, 1e-7 → 1e-7, -0 → 0. The store
//     reads JSON numbers back as float64, so an integer beyond 2^53 is hashed as the double nearest
//     to it, as the store would give it back; a number beyond the double range is an error.
//     Two member names that become equal once NUL is replaced are an error.
func Canonical(e Entry) ([]byte, error) {
	if e.DecidedAt.IsZero() {
		return nil, errors.New("canonical encoding: decided_at is zero (set it before sealing: the store would replace it)")
	}
	at := e.DecidedAt.UTC().Truncate(time.Microsecond)
	if y := at.Year(); y < 1 || y > 9999 {
		return nil, fmt.Errorf("canonical encoding: decided_at %s is outside the years 1 to 9999", at)
	}
	inputs, err := jsonForm(e.Inputs)
	if err != nil {
		return nil, fmt.Errorf("canonical encoding of entry %q: inputs: %w", e.Key, err)
	}
	// Members in UTF-16 order of their (ASCII) names.
	members := []struct {
		name  string
		value any
	}{
		{"actor", e.Actor}, {"decided_at", at.Format(decidedAtLayout)}, {"deployment_name", e.Deployment},
		{"gate", e.Gate}, {"inputs", inputs}, {"key", e.Key}, {"model_name", e.ModelName},
		{"model_version", e.ModelVersion}, {"reason", e.Reason}, {"run_id", e.RunID}, {"seq", e.Seq},
		{"source", e.Source}, {"verdict", e.Verdict}, {"workflow_id", e.WorkflowID},
	}
	b := make([]byte, 0, 512)
	b = append(b, '{')
	for i, m := range members {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, m.name)
		b = append(b, ':')
		if b, err = appendValue(b, m.value); err != nil {
			return nil, fmt.Errorf("canonical encoding of entry %q: %s: %w", e.Key, m.name, err)
		}
	}
	return append(b, '}'), nil
}

// jsonForm is inputs as the store gives it back: encoded with encoding/json and decoded with
// UseNumber (numbers stay json.Number until appendNumber reads them). nil becomes an empty map.
func jsonForm(inputs map[string]any) (map[string]any, error) {
	if len(inputs) == 0 {
		return map[string]any{}, nil
	}
	raw, err := json.Marshal(inputs)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out map[string]any
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}

// appendValue writes v, a decoded JSON value (or a Canonical member), canonically.
func appendValue(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case string:
		return appendString(b, x), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case json.Number:
		return appendNumber(b, x)
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendValue(b, e); err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
		}
		return append(b, ']'), nil
	case map[string]any:
		return appendObject(b, x)
	}
	return nil, fmt.Errorf("unexpected %T in decoded JSON", v)
}

// appendObject writes m's members sorted by the UTF-16 code units of their (NUL-replaced) names.
func appendObject(b []byte, m map[string]any) ([]byte, error) {
	type member struct {
		name  string
		units []uint16
		value any
	}
	members := make([]member, 0, len(m))
	for k, v := range m {
		name := strings.ReplaceAll(k, "\x00", "\uFFFD") // decoded JSON: otherwise valid UTF-8
		members = append(members, member{name, utf16.Encode([]rune(name)), v})
	}
	slices.SortFunc(members, func(a, b member) int { return slices.Compare(a.units, b.units) })
	b = append(b, '{')
	for i, mb := range members {
		if i > 0 {
			if mb.name == members[i-1].name {
				return nil, fmt.Errorf("member names collide once NUL is replaced: %q", mb.name)
			}
			b = append(b, ',')
		}
		b = appendString(b, mb.name)
		b = append(b, ':')
		var err error
		if b, err = appendValue(b, mb.value); err != nil {
			return nil, fmt.Errorf("%s: %w", strconv.Quote(mb.name), err)
		}
	}
	return append(b, '}'), nil
}

// appendNumber writes n as a double, the way RFC 8785 and encoding/json write float64.
func appendNumber(b []byte, n json.Number) ([]byte, error) {
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, fmt.Errorf("number %s does not fit a double", n)
	}
	if f == 0 {
		return append(b, '0'), nil // also -0
	}
	format := byte('f')
	if abs := math.Abs(f); abs < 1e-6 || abs >= 1e21 {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' { // 1e-07 → 1e-7, as ECMAScript writes it
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

// appendString writes s as a JSON string (see Canonical for the escapes).
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == 0 || r == utf8.RuneError: // NUL as the store keeps it; invalid UTF-8
			b = append(b, "\uFFFD"...)
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r == '\b':
			b = append(b, '\\', 'b')
		case r == '\t':
			b = append(b, '\\', 't')
		case r == '\n':
			b = append(b, '\\', 'n')
		case r == '\f':
			b = append(b, '\\', 'f')
		case r == '\r':
			b = append(b, '\\', 'r')
		case r < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[r>>4], hex[r&0xf])
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return append(b, '"')
}
