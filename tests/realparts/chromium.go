package realparts

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// ChromiumBin is Debian's Chromium, installed by infra/scripts/chromium.sh (make bootstrap).
const ChromiumBin = "/usr/bin/chromium"

// chromiumFlags keep a headless Chromium to itself on a closed network: no background
// connections, a fresh profile, no sandbox (tests run as root).
func chromiumFlags(t testing.TB) []string {
	return []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--window-size=1400,1800", "--virtual-time-budget=20000"}
}

// RenderPage loads url in headless Chromium, lets its scripts run (their fetches included) and
// returns the rendered DOM; it also saves a screenshot to shot (when not empty).
func RenderPage(t testing.TB, url, shot string) string {
	t.Helper()
	_, err := os.Stat(ChromiumBin)
	Require(t, "Chromium (infra/scripts/chromium.sh install)", err)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dom, err := exec.CommandContext(ctx, ChromiumBin, append(chromiumFlags(t), "--dump-dom", url)...).Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom %s: %v%s", url, err, stderrOf(err))
	}
	if shot != "" {
		if err := os.MkdirAll(filepath.Dir(shot), 0o755); err != nil {
			t.Fatal(err)
		}
		out, err := exec.CommandContext(ctx, ChromiumBin, append(chromiumFlags(t), "--screenshot="+shot, url)...).CombinedOutput()
		if err != nil {
			t.Fatalf("chromium --screenshot %s: %v\n%s", url, err, out)
		}
	}
	return string(dom)
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok && len(ee.Stderr) > 0 {
		return "\n" + string(ee.Stderr)
	}
	return ""
}
