package seal_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/temporaldeployer/temporaldeployer/seal"
)

func TestJSONLRoundTrip(t *testing.T) {
	k := testKey(t, "worker-1")
	kr := keyring(t, k)
	chain := append([]seal.SealedEntry{{Entry: entry(100)}}, sealChain(t, entries(chainLen), k)...)
	var buf bytes.Buffer
	if err := seal.ExportJSONL(&buf, chain); err != nil {
		t.Fatalf("ExportJSONL: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != len(chain) {
		t.Fatalf("%d lines for %d entries", len(lines), len(chain))
	}
	var first, second map[string]json.RawMessage
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil || string(first["seal"]) != "null" {
		t.Fatalf("unsealed line: %s (%v)", lines[0], err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &second); err != nil || !bytes.Contains(second["seal"], []byte(`"algorithm":"EdDSA"`)) {
		t.Fatalf("sealed line: %s (%v)", lines[1], err)
	}
	back, err := seal.ReadJSONL(strings.NewReader(buf.String() + "\n\n"))
	if err != nil {
		t.Fatalf("ReadJSONL: %v", err)
	}
	if want, got := seal.Verify(chain, kr), seal.Verify(back, kr); !got.OK() || got != want {
		t.Fatalf("Verify of the export = %v, want %v", got, want)
	}
	for i := range chain {
		if mustCanonical(t, back[i].Entry) != mustCanonical(t, chain[i].Entry) || back[i].Link != chain[i].Link {
			t.Fatalf("entry %d changed in the round trip", i)
		}
	}
}

// An export edited by hand fails verification at the edited line.
func TestJSONLEditedExportFails(t *testing.T) {
	k := testKey(t, "worker-1")
	var buf bytes.Buffer
	if err := seal.ExportJSONL(&buf, sealChain(t, entries(chainLen), k)); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(buf.String(), "\n")
	lines[4] = strings.Replace(lines[4], `"actor":"worker"`, `"actor":"alice"`, 1)
	back, err := seal.ReadJSONL(strings.NewReader(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	wantFailure(t, "edited export", seal.Verify(back, keyring(t, k)), 4, seal.KindContentEdited)
}

func TestReadJSONLRefuses(t *testing.T) {
	k := testKey(t, "worker-1")
	var buf bytes.Buffer
	if err := seal.ExportJSONL(&buf, sealChain(t, entries(2), k)); err != nil {
		t.Fatal(err)
	}
	good := strings.Split(strings.TrimSpace(buf.String()), "\n")[0]
	cases := []struct{ name, text, want string }{
		{"unknown member", strings.Replace(good, `{"entry"`, `{"extra":1,"entry"`, 1), "line 2"},
		{"unknown entry member", strings.Replace(good, `"gate"`, `"gait":"x","gate"`, 1), "unknown field"},
		{"two values on a line", good + " {}", "more than one"},
		{"empty seal", `{"entry":{"key":"k"},"seal":{}}`, "write null"},
		{"not JSON", "{", "line 2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := seal.ReadJSONL(strings.NewReader(good + "\n" + tc.text + "\n"))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ReadJSONL error = %v, want one containing %q", err, tc.want)
			}
		})
	}
	if got, err := seal.ReadJSONL(strings.NewReader("")); err != nil || len(got) != 0 {
		t.Fatalf("ReadJSONL of nothing = %v, %v", got, err)
	}
	if got, err := seal.ReadJSONL(strings.NewReader(good)); err != nil || len(got) != 1 || got[0].Link.Hash == "" {
		t.Fatalf("ReadJSONL without a final newline = %v, %v", got, err)
	}
}
