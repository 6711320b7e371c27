package harness

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// StopTree stops a process and all its descendants. `bentoml serve` starts its workers in sessions
// of their own, so a process-group signal misses them: the tree is read from /proc first, the root
// gets SIGTERM (a graceful stop of its workers), and whatever is still alive after grace gets SIGKILL.
func StopTree(pid int, grace time.Duration) {
	tree := Tree(pid)
	_ = syscall.Kill(pid, syscall.SIGTERM)
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) && AnyAlive(tree) {
		time.Sleep(100 * time.Millisecond)
	}
	for _, p := range tree {
		_ = syscall.Kill(p, syscall.SIGKILL)
	}
}

// Tree lists pid and every process below it, from /proc.
func Tree(pid int) []int { return append([]int{pid}, descendants(pid)...) }

// AnyAlive reports whether any of pids still runs (a zombie does not).
func AnyAlive(pids []int) bool {
	for _, p := range pids {
		if syscall.Kill(p, 0) == nil {
			if b, err := os.ReadFile("/proc/" + strconv.Itoa(p) + "/stat"); err == nil && !strings.Contains(string(b), ") Z ") {
				return true
			}
		}
	}
	return false
}

// descendants lists every process below pid, from /proc.
func descendants(pid int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// stat: pid (comm) state ppid …; comm may hold spaces, so cut after the last ')'.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 {
			continue
		}
		if ppid, err := strconv.Atoi(f[1]); err == nil {
			children[ppid] = append(children[ppid], p)
		}
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}
