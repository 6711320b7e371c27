package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/temporaldeployer/temporaldeployer/codec"
)

func TestCodecKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "codec.json")
	cases := []struct {
		args     []string
		code     int
		contains string
	}{
		{[]string{"-keyring", path}, 2, "want -keyring FILE -id ID"},
		{[]string{"-keyring", path, "-id", "2026-06"}, 0, "added key 2026-06"},
		{[]string{"-keyring", path, "-id", "2026-12"}, 0, "added key 2026-12"},
		{[]string{"-keyring", path, "-id", "2026-12"}, 1, "already holds"},
	}
	for _, tc := range cases {
		var out, errOut bytes.Buffer
		if code := codecKey(tc.args, &out, &errOut); code != tc.code || !strings.Contains(out.String()+errOut.String(), tc.contains) {
			t.Errorf("codec-key %v: exit %d, %s%s", tc.args, code, out.String(), errOut.String())
		}
	}
	ring, err := codec.LoadKeyring(path)
	if err != nil || strings.Join(ring.IDs(), ",") != "2026-06,2026-12" {
		t.Fatalf("keyring %v %v", ring, err)
	}
}
