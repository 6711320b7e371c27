package tests

import (
	"fmt"
	"os"
	"testing"

	"github.com/temporaldeployer/temporaldeployer/tests/realparts"
)

// TestMain stops the control plane the tests share (started on first use by StartCluster) and
// removes the commands the tests built.
// Run with serveHelperEnv set, the binary is the stand-in worker of TestModelServersDieWithTheirStarter.
func TestMain(m *testing.M) {
	if archive := os.Getenv(serveHelperEnv); archive != "" {
		os.Exit(serveHelper(archive))
	}
	code := m.Run()
	if err := realparts.StopCluster(); err != nil {
		fmt.Fprintln(os.Stderr, "stop cluster:", err)
	}
	realparts.RemoveBinaries()
	os.Exit(code)
}
