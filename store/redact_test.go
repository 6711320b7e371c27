package store

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestOpenErrorsHideThePassword: a DATABASE_URL's password never reaches an error, even when the
// URL does not parse (a bad escape, a raw "/" in the password) or the driver refuses it.
func TestOpenErrorsHideThePassword(t *testing.T) {
	const secret = "Pw9secret"
	for _, raw := range []string{
		"mysql://deployer:" + secret + "@db/td",
		"mysql://deployer:" + secret + "%zz@db/td",
		"postgres://deployer:" + secret + "%zz@127.0.0.1:1/td",
		"postgres://deployer:" + secret + "/x@127.0.0.1:1/td",
		"postgres://deployer:" + secret + "@127.0.0.1:1/td?connect_timeout=1",
		"file:" + t.TempDir() + "/x.db?password=" + secret + "%zz",
		"sqlite::memory:?password=" + secret,
	} {
		t.Run(raw, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			s, err := Open(ctx, raw)
			if err == nil {
				s.Close()
				t.Fatal("opened")
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("the password is in the error: %v", err)
			}
		})
	}
}
