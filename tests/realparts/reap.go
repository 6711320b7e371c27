package realparts

import (
	"os"
	"os/exec"
	"syscall"
	"testing"

	"github.com/temporaldeployer/temporaldeployer/harness"
)

// reapWithTest makes the processes whose command line contains pattern die with this test binary,
// however it dies (a timeout's panic, SIGKILL): a guard process tied to the binary (Pdeathsig)
// stops them when it is told the binary is gone. It is for servers started by code that cannot tie
// them itself (the SDK's dev server, Prometheus's start script). At cleanup the guard goes quietly.
func reapWithTest(t testing.TB, pattern string) {
	t.Helper()
	guard := exec.Command("bash", "-c", `trap 'pkill -TERM -f -- "$REAP_PATTERN"; kill $! 2>/dev/null; exit 0' TERM; while :; do sleep 3600 & wait $!; done`)
	guard.Env = append(os.Environ(), "REAP_PATTERN="+pattern)
	guard.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := harness.StartTied(guard); err != nil {
		t.Logf("no guard for %q: %v", pattern, err)
		return
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-guard.Process.Pid, syscall.SIGKILL) // the guard and its sleep, without the trap
		_ = guard.Wait()
	})
}
