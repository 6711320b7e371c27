package tests

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/temporaldeployer/temporaldeployer/harness"
	"github.com/temporaldeployer/temporaldeployer/tests/realparts"
)

// serveHelperEnv, set to a .bento archive, makes the test binary a stand-in for the worker: it
// serves the archive with harness.Serve, prints "<url> <pid>" and waits to be killed.
const serveHelperEnv = "TD_TEST_SERVE_HELPER"

// serveHelper is the test binary run as that stand-in (see TestMain).
func serveHelper(archive string) int {
	dir, err := os.MkdirTemp("", "serve-helper")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	srv, err := harness.Serve(context.Background(), harness.ServeOptions{
		BentoML: realparts.VenvBin("bentoml"), Target: archive, Dir: dir, Ready: realparts.BentoStartTimeout})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("%s %d\n", srv.URL, srv.Pid())
	for {
		time.Sleep(time.Hour) // until killed
	}
}

// TestModelServersDieWithTheirStarter: a worker killed with SIGKILL leaves no model server behind
// (issue 11: they stayed alive and kept their ports). The test binary re-runs itself as the
// worker, which serves a real bento; the test kills it with -9 and waits for every process of the
// server's tree (`bentoml serve` and the workers it starts in sessions of their own) to be gone.
func TestModelServersDieWithTheirStarter(t *testing.T) {
	archive := buildBento(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), serveHelperEnv+"="+archive)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	var url string
	var pid int
	line, err := bufio.NewReader(out).ReadString('\n')
	if _, serr := fmt.Sscanf(strings.TrimSpace(line), "%s %d", &url, &pid); err != nil || serr != nil {
		t.Fatalf("helper printed %q: %v %v", line, err, serr)
	}
	tree := harness.Tree(pid)
	t.Cleanup(func() { harness.StopTree(pid, time.Second) }) // if the test fails, the server goes anyway
	if len(tree) < 2 || !answers(url) {
		t.Fatalf("server tree %v at %s: want bentoml serve and its workers, answering", tree, url)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	deadline := time.Now().Add(60 * time.Second)
	for harness.AnyAlive(tree) || answers(url) {
		if time.Now().After(deadline) {
			t.Fatalf("60 s after its starter was killed, the server tree %v is alive (answers: %v)", tree, answers(url))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func answers(url string) bool {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(url + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return true
}
