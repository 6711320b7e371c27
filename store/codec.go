package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// sqliteTimeLayout is how SQLite stores timestamps: UTC, fixed width, so TEXT order is time order.
const sqliteTimeLayout = "2006-01-02T15:04:05.000000Z"

// timeArg is t as the dialect stores it: UTC, truncated to microseconds (PostgreSQL's precision,
// used on both backends so they agree).
func (d dialect) timeArg(t time.Time) any {
	t = t.UTC().Truncate(time.Microsecond)
	if d.postgres() {
		return t
	}
	return t.Format(sqliteTimeLayout)
}

// nullTimeArg is timeArg, or NULL for nil.
func (d dialect) nullTimeArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return d.timeArg(*t)
}

// timeCol scans a timestamp of either dialect (time.Time or TEXT) into a UTC time; NULL → zero.
type timeCol struct{ dst *time.Time }

func (c timeCol) Scan(src any) error {
	t, ok, err := parseTime(src)
	if err != nil {
		return err
	}
	*c.dst = time.Time{}
	if ok {
		*c.dst = t
	}
	return nil
}

// nullTimeCol scans a nullable timestamp; NULL → nil.
type nullTimeCol struct{ dst **time.Time }

func (c nullTimeCol) Scan(src any) error {
	t, ok, err := parseTime(src)
	if err != nil {
		return err
	}
	*c.dst = nil
	if ok {
		*c.dst = &t
	}
	return nil
}

func parseTime(src any) (time.Time, bool, error) {
	var text string
	switch v := src.(type) {
	case nil:
		return time.Time{}, false, nil
	case time.Time:
		return v.UTC(), true, nil
	case string:
		text = v
	case []byte:
		text = string(v)
	default:
		return time.Time{}, false, fmt.Errorf("scan timestamp: unsupported type %T", src)
	}
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(text))
	if err != nil {
		return time.Time{}, false, fmt.Errorf("scan timestamp %q: %w", text, err)
	}
	return t.UTC(), true, nil
}

// jsonArg encodes m as a JSON document (TEXT in SQLite, JSONB in PostgreSQL); nil → NULL. NUL
// characters in its strings become U+FFFD (JSONB refuses \u0000).
func jsonArg[M ~map[string]V, V any](m M) (any, error) {
	if m == nil {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode JSON: %w", err)
	}
	if bytes.Contains(b, []byte(`\u0000`)) { // maybe a NUL (or a backslash before "u0000"): decode to know
		var v any
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		if err := d.Decode(&v); err != nil {
			return nil, fmt.Errorf("encode JSON: %w", err)
		}
		if b, err = json.Marshal(nulSafeValue(v)); err != nil {
			return nil, fmt.Errorf("encode JSON: %w", err)
		}
	}
	return string(b), nil
}

// nulSafe replaces NUL characters, which PostgreSQL's TEXT refuses, with U+FFFD; both stores keep
// the same text.
func nulSafe(s string) string { return strings.ReplaceAll(s, "\x00", "\uFFFD") }

// nulSafeValue applies nulSafe to every string (keys included) of a decoded JSON value.
func nulSafeValue(v any) any {
	switch x := v.(type) {
	case string:
		return nulSafe(x)
	case []any:
		for i := range x {
			x[i] = nulSafeValue(x[i])
		}
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[nulSafe(k)] = nulSafeValue(e)
		}
		return out
	}
	return v
}

// nulSafeArgs applies nulSafe to the string arguments of a statement.
func nulSafeArgs(args []any) []any {
	for i, a := range args {
		if s, ok := a.(string); ok {
			args[i] = nulSafe(s)
		}
	}
	return args
}

// jsonCol scans a JSON column into dst; NULL leaves dst at its zero value (a nil map).
type jsonCol[T any] struct{ dst *T }

func (c jsonCol[T]) Scan(src any) error {
	var zero T
	*c.dst = zero
	var b []byte
	switch v := src.(type) {
	case nil:
		return nil
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("scan JSON: unsupported type %T", src)
	}
	if err := json.Unmarshal(b, c.dst); err != nil {
		return fmt.Errorf("scan JSON: %w", err)
	}
	return nil
}

// nullString stores "" as NULL.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nullStringCol scans a nullable TEXT column; NULL → "".
type nullStringCol struct{ dst *string }

func (c nullStringCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.dst = ""
	case string:
		*c.dst = v
	case []byte:
		*c.dst = string(v)
	default:
		return fmt.Errorf("scan text: unsupported type %T", src)
	}
	return nil
}
