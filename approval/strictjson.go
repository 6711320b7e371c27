package approval

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// jsonFrame is one open object or array while checkJSON walks a document.
type jsonFrame struct {
	object  bool            // an object (else an array)
	wantKey bool            // the next token in this object is a member name
	path    string          // JSON path of this value, e.g. "approvers[1].keys"
	name    string          // the member being read (objects)
	index   int             // the element being read (arrays)
	names   map[string]bool // member names seen so far (objects)
}

// child is the JSON path of the member or element being read.
func (f *jsonFrame) child() string {
	if !f.object {
		return fmt.Sprintf("%s[%d]", f.path, f.index)
	}
	if f.path == "" {
		return f.name
	}
	return f.path + "." + f.name
}

// checkJSON is the strictness encoding/json lacks: data must be exactly one JSON value, no object
// may repeat a member name (a signed payload must mean one thing), and, with lowerNames, member
// names must be lower case (encoding/json would otherwise match "ID" to the field tagged "id").
// Unknown fields are left to the decoder's DisallowUnknownFields or to the caller.
func checkJSON(data []byte, lowerNames bool) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []*jsonFrame
	values := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("invalid JSON: %w", err)
		}
		var top *jsonFrame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			values += valueDone(stack)
			continue
		}
		if top != nil && top.object && top.wantKey {
			if err := top.member(tok.(string), lowerNames); err != nil {
				return err
			}
			continue
		}
		if d, ok := tok.(json.Delim); ok {
			f := &jsonFrame{object: d == '{', wantKey: d == '{', names: map[string]bool{}}
			if top != nil {
				f.path = top.child()
			}
			stack = append(stack, f)
			continue
		}
		values += valueDone(stack)
	}
	if values != 1 || len(stack) != 0 {
		return errors.New("invalid JSON: want exactly one JSON value")
	}
	return nil
}

// member records a member name of f, refusing a repeated or (with lower) non-lower-case one.
func (f *jsonFrame) member(name string, lower bool) error {
	where := ""
	if f.path != "" {
		where = f.path + ": "
	}
	if f.names[name] {
		return fmt.Errorf("%sduplicate field %q", where, name)
	}
	if lower && name != strings.ToLower(name) {
		return fmt.Errorf("%sunknown field %q", where, name)
	}
	f.names[name] = true
	f.name = name
	f.wantKey = false
	return nil
}

// valueDone advances the innermost open value past one member or element; it returns 1 when the
// finished value was the document itself.
func valueDone(stack []*jsonFrame) int {
	if len(stack) == 0 {
		return 1
	}
	top := stack[len(stack)-1]
	if top.object {
		top.wantKey = true
	} else {
		top.index++
	}
	return 0
}
