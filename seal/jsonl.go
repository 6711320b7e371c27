package seal

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// jsonLine is one line of a JSONL export: the entry with the store's JSON names, and its seal,
// null for an entry recorded before sealing existed.
type jsonLine struct {
	Entry Entry `json:"entry"`
	Seal  *Link `json:"seal"`
}

// ExportJSONL writes entries to w as JSON lines, one object per entry, in the order given:
//
//	{"entry":{"seq":1,"key":"...","workflow_id":"...",...,"decided_at":"...","model_version":"7"},
//	 "seal":{"seq":1,"prev_hash":"...","hash":"...","key_id":"...","algorithm":"EdDSA","signature":"..."}}
//
// (on one line). "seal" is null for an unsealed entry. ReadJSONL reads it back, and Verify of
// what it reads gives the same report as Verify of entries.
func ExportJSONL(w io.Writer, entries []SealedEntry) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for i, se := range entries {
		l := jsonLine{Entry: se.Entry}
		if !se.Link.IsZero() {
			l.Seal = &se.Link
		}
		if err := enc.Encode(l); err != nil {
			return fmt.Errorf("export entry %d (key %q): %w", i+1, se.Entry.Key, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("export ledger: %w", err)
	}
	return nil
}

// ReadJSONL reads what ExportJSONL wrote. Blank lines are skipped; a line that is not exactly one
// object with the members "entry" and "seal" (and the entry and seal members only) is an error
// naming the line.
func ReadJSONL(r io.Reader) ([]SealedEntry, error) {
	br := bufio.NewReader(r)
	var out []SealedEntry
	for n := 1; ; n++ {
		text, err := br.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read ledger export: line %d: %w", n, err)
		}
		if len(bytes.TrimSpace(text)) > 0 {
			se, perr := parseLine(text)
			if perr != nil {
				return nil, fmt.Errorf("read ledger export: line %d: %w", n, perr)
			}
			out = append(out, se)
		}
		if err != nil { // io.EOF
			return out, nil
		}
	}
}

// parseLine decodes one line of an export.
func parseLine(text []byte) (SealedEntry, error) {
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.DisallowUnknownFields()
	var l jsonLine
	if err := dec.Decode(&l); err != nil {
		return SealedEntry{}, err
	}
	if dec.More() {
		return SealedEntry{}, errors.New("more than one JSON value")
	}
	se := SealedEntry{Entry: l.Entry}
	if l.Seal != nil {
		if l.Seal.IsZero() {
			return SealedEntry{}, errors.New(`"seal" is empty: write null for an unsealed entry`)
		}
		se.Link = *l.Seal
	}
	return se, nil
}
