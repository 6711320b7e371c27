package realparts

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// StartPrometheus starts a real Prometheus (the pinned Debian package, through
// infra/scripts/prometheus.sh) on a free loopback port, scraping the servers listed in the file_sd
// targets file every second, and stops it when the test ends. It returns the base URL.
func StartPrometheus(t testing.TB, targetsFile string) string {
	t.Helper()
	return startPrometheus(t, targetsFile)
}

// StartPrometheusScrapingWorker is StartPrometheus with the demo's worker job too: job
// temporaldeployer-worker scrapes the worker's metrics endpoint at workerAddr (host:port).
func StartPrometheusScrapingWorker(t testing.TB, targetsFile, workerAddr string) string {
	t.Helper()
	return startPrometheus(t, targetsFile, workerAddr)
}

func startPrometheus(t testing.TB, targetsFile string, worker ...string) string {
	t.Helper()
	_, err := os.Stat("/usr/bin/prometheus")
	Require(t, "prometheus (infra/scripts/prometheus.sh install)", err)
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	script := filepath.Join(Root(), "infra", "scripts", "prometheus.sh")
	args := append([]string{script, "start", dir, strconv.Itoa(port), targetsFile}, worker...)
	if out, err := exec.Command("bash", args...).CombinedOutput(); err != nil {
		t.Fatalf("start prometheus: %v\n%s\n%s", err, out, Tail(filepath.Join(dir, "prometheus.log"), 20))
	}
	t.Cleanup(func() { _ = exec.Command("bash", script, "stop", dir).Run() })
	reapWithTest(t, "--storage.tsdb.path "+dir+"/")
	return "http://127.0.0.1:" + strconv.Itoa(port)
}
