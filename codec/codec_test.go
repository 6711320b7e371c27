package codec

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
)

func key(id string, b byte) Key { return Key{ID: id, Secret: bytes.Repeat([]byte{b}, KeySize)} }

func ring(t *testing.T, keys ...Key) *Keyring {
	t.Helper()
	r, err := NewKeyring(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func plainPayloads(t *testing.T, values ...any) []*commonpb.Payload {
	t.Helper()
	var ps []*commonpb.Payload
	for _, v := range values {
		p, err := converter.GetDefaultDataConverter().ToPayload(v)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	return ps
}

func TestSealOpen(t *testing.T) {
	k1, k2 := key("k1", 1), key("k2", 2)
	secret := "models:/fraud/7 approved by alice@example.com"
	cases := []struct {
		name      string
		seal      []Key
		open      []Key
		mutate    func(p *commonpb.Payload)
		wantKeyID string
		wantErr   string
	}{
		{name: "one key", seal: []Key{k1}, open: []Key{k1}, wantKeyID: "k1"},
		{name: "the newest key seals", seal: []Key{k1, k2}, open: []Key{k1, k2}, wantKeyID: "k2"},
		{name: "a rotated keyring opens the old key's payloads", seal: []Key{k1}, open: []Key{k1, k2}, wantKeyID: "k1"},
		{name: "a key the keyring lacks fails loudly", seal: []Key{k1, k2}, open: []Key{k1}, wantKeyID: "k2",
			wantErr: `sealed under key "k2", which the keyring (DEPLOYER_CODEC_KEYS) does not hold (it holds k1)`},
		{name: "another key of the same name does not open", seal: []Key{k1}, open: []Key{key("k1", 9)}, wantKeyID: "k1",
			wantErr: "does not open"},
		{name: "altered data does not open", seal: []Key{k1}, open: []Key{k1}, wantKeyID: "k1",
			mutate: func(p *commonpb.Payload) { p.Data[len(p.Data)-1] ^= 1 }, wantErr: "does not open"},
		{name: "relabelled to another key does not open", seal: []Key{k1}, open: []Key{k1, k2}, wantKeyID: "k2",
			mutate: func(p *commonpb.Payload) { p.Metadata[MetadataKeyID] = []byte("k2") }, wantErr: "does not open"},
		{name: "truncated data", seal: []Key{k1}, open: []Key{k1}, wantKeyID: "k1",
			mutate: func(p *commonpb.Payload) { p.Data = p.Data[:5] }, wantErr: "shorter than its nonce"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := plainPayloads(t, secret, map[string]float64{"accuracy": 0.93})
			sealed, err := New(ring(t, tc.seal...)).Encode(in)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range sealed {
				if string(p.Metadata[MetadataEncoding]) != EncodingEncrypted || strings.Contains(string(p.Data), "fraud") ||
					strings.Contains(string(p.Data), "accuracy") {
					t.Fatalf("sealed payload not sealed: %v", p)
				}
				if tc.mutate != nil {
					tc.mutate(p)
				}
				if got := string(p.Metadata[MetadataKeyID]); got != tc.wantKeyID {
					t.Fatalf("key id %q, want %q", got, tc.wantKeyID)
				}
			}
			out, err := New(ring(t, tc.open...)).Decode(sealed)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var s string
			if err := converter.GetDefaultDataConverter().FromPayload(out[0], &s); err != nil || s != secret {
				t.Fatalf("opened %q (%v)", s, err)
			}
		})
	}
}

func TestUnknownKeyIsNonRetryable(t *testing.T) {
	sealed, _ := New(ring(t, key("new", 1))).Encode(plainPayloads(t, "x"))
	_, err := New(ring(t, key("old", 2))).Decode(sealed)
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != ErrTypeUnknownCodecKey || !app.NonRetryable() {
		t.Fatalf("err %v, want non-retryable %s", err, ErrTypeUnknownCodecKey)
	}
}

func TestPlaintextPassesThroughDecode(t *testing.T) {
	in := plainPayloads(t, "a run from before the keyring")
	out, err := New(ring(t, key("k1", 1))).Decode(in)
	if err != nil || out[0] != in[0] {
		t.Fatalf("out %v err %v", out, err)
	}
}

func TestDataConverterSealsValues(t *testing.T) {
	dc := DataConverter(New(ring(t, key("k1", 1))))
	p, err := dc.ToPayload("models:/fraud/7")
	if err != nil || strings.Contains(p.String(), "fraud") {
		t.Fatalf("payload %v err %v", p, err)
	}
	var s string
	if err := dc.FromPayload(p, &s); err != nil || s != "models:/fraud/7" {
		t.Fatalf("%q %v", s, err)
	}
	f := FailureConverter(dc).ErrorToFailure(errors.New("model models:/fraud/7 not found"))
	if strings.Contains(f.GetMessage(), "fraud") || strings.Contains(f.String(), "fraud") {
		t.Fatalf("failure carries the message in the clear: %v", f)
	}
	if back := FailureConverter(dc).FailureToError(f); !strings.Contains(back.Error(), "models:/fraud/7") {
		t.Fatalf("failure does not decode back: %v", back)
	}
}

func TestParseKeyring(t *testing.T) {
	k32 := "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
	cases := []struct{ name, in, wantErr string }{
		{"two keys", `{"keys":[{"id":"2026-06","key":"` + k32 + `"},{"id":"2026-12","key":"` + k32 + `"}]}`, ""},
		{"not JSON", `keys`, "not a keyring"},
		{"unknown field", `{"keys":[],"active":"x"}`, "not a keyring"},
		{"no key", `{"keys":[]}`, "holds no key"},
		{"bad id", `{"keys":[{"id":"a b","key":"` + k32 + `"}]}`, `id "a b" must be`},
		{"duplicate id", `{"keys":[{"id":"a","key":"` + k32 + `"},{"id":"a","key":"` + k32 + `"}]}`, "appears twice"},
		{"not base64", `{"keys":[{"id":"a","key":"!!"}]}`, "not base64"},
		{"short key", `{"keys":[{"id":"a","key":"AQEB"}]}`, "holds 3 bytes, AES-256 needs 32"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseKeyring([]byte(tc.in))
			if tc.wantErr == "" {
				if err != nil || r.Newest().ID != "2026-12" || len(r.IDs()) != 2 {
					t.Fatalf("%v %v", r, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestMarshalKeyringRoundTrips(t *testing.T) {
	b, err := MarshalKeyring(key("a", 1), key("b", 2))
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseKeyring(b)
	if err != nil || r.Newest().ID != "b" {
		t.Fatalf("%v %v", r, err)
	}
}

func TestCheckListen(t *testing.T) {
	cases := []struct {
		addr, token string
		ok          bool
	}{
		{"127.0.0.1:8081", "", true},
		{"localhost:8081", "", true},
		{"[::1]:8081", "", true},
		{"0.0.0.0:8081", "", false},
		{":8081", "", false},
		{"10.0.0.5:8081", "", false},
		{"0.0.0.0:8081", "s3cret", true},
		{"nonsense", "", false},
	}
	for _, tc := range cases {
		if err := CheckListen(tc.addr, tc.token); (err == nil) != tc.ok {
			t.Errorf("CheckListen(%q, %q) = %v, want ok %v", tc.addr, tc.token, err, tc.ok)
		}
	}
}

func TestAuthorized(t *testing.T) {
	cases := []struct {
		token, header string
		ok            bool
	}{
		{"", "", true},
		{"", "Bearer anything", true},
		{"t0k", "Bearer t0k", true},
		{"t0k", "", false},
		{"t0k", "Bearer t0", false},
		{"t0k", "bearer t0k", false},
		{"t0k", "Basic t0k", false},
	}
	for _, tc := range cases {
		if got := Authorized(tc.token, tc.header); got != tc.ok {
			t.Errorf("Authorized(%q, %q) = %v", tc.token, tc.header, got)
		}
	}
}

// TestHandler drives the codec server's handler with the SDK's own remote codec client, as the
// temporal CLI and a Go client would, and as a browser does (CORS preflight).
func TestHandler(t *testing.T) {
	c := New(ring(t, key("k1", 1)))
	srv := httptest.NewServer(Handler(c, ServerOptions{Token: "t0k", Origins: []string{"http://127.0.0.1:8233"}}))
	defer srv.Close()
	sealed, _ := c.Encode(plainPayloads(t, "models:/fraud/7"))
	remote := func(token string) converter.PayloadCodec {
		return converter.NewRemotePayloadCodec(converter.RemotePayloadCodecOptions{Endpoint: srv.URL,
			ModifyRequest: func(r *http.Request) error { r.Header.Set("Authorization", "Bearer "+token); return nil }})
	}
	if _, err := remote("wrong").Decode(sealed); err == nil || !strings.Contains(err.Error(), "nauthorized") {
		t.Fatalf("a wrong token decoded: %v", err)
	}
	out, err := remote("t0k").Decode(sealed)
	var s string
	if err != nil || converter.GetDefaultDataConverter().FromPayload(out[0], &s) != nil || s != "models:/fraud/7" {
		t.Fatalf("decode through the server: %q %v", s, err)
	}
	for _, tc := range []struct {
		origin string
		want   int
	}{{"http://127.0.0.1:8233", http.StatusNoContent}, {"http://evil.example", http.StatusForbidden}} {
		req, _ := http.NewRequest(http.MethodOptions, srv.URL+"/decode", nil)
		req.Header.Set("Origin", tc.origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want || (tc.want == http.StatusNoContent && resp.Header.Get("Access-Control-Allow-Origin") != tc.origin) {
			t.Errorf("preflight from %s: %d %v", tc.origin, resp.StatusCode, resp.Header)
		}
	}
}

func TestAddKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "codec.json")
	steps := []struct{ id, wantErr, wantNewest string }{
		{"2026-06", "", "2026-06"},
		{"2026-12", "", "2026-12"},
		{"2026-06", `already holds a key "2026-06"`, "2026-12"},
		{"bad id", "want an id", "2026-12"},
	}
	for _, s := range steps {
		err := AddKey(path, s.id)
		if (s.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), s.wantErr)) {
			t.Fatalf("AddKey(%q) = %v, want %q", s.id, err, s.wantErr)
		}
		r, err := LoadKeyring(path)
		if err != nil || r.Newest().ID != s.wantNewest {
			t.Fatalf("after AddKey(%q): %v %v", s.id, r, err)
		}
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("keyring mode %v, want 0600", fi.Mode().Perm())
	}
	if err := os.WriteFile(path, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := AddKey(path, "2027-06"); err == nil {
		t.Errorf("AddKey over a corrupt keyring succeeded")
	}
}
