package tests

import (
	"fmt"
	"os"
	"testing"

	"github.com/temporaldeployer/temporaldeployer/tests/realparts"
)

// TestMain stops the control plane the tests share (started on first use by StartCluster).
func TestMain(m *testing.M) {
	code := m.Run()
	if err := realparts.StopCluster(); err != nil {
		fmt.Fprintln(os.Stderr, "stop cluster:", err)
	}
	os.Exit(code)
}
