package harness

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ServeOptions says what `bentoml serve` serves and where.
type ServeOptions struct {
	BentoML string // the bentoml executable
	Target  string // a bento tag, a built bento's directory, or a .bento archive
	Dir     string // working directory: the log (serve.log) and, for an archive, BENTOML_HOME
	// Env is added to the server's environment (e.g. BENTOML_HOME for a tag, TD_FAULT). Servers
	// sharing a BENTOML_HOME share BentoML's prometheus_multiproc_dir in it, so each reports the
	// others' requests too: serve an archive (a home per server) to measure servers apart.
	Env   []string
	Ready time.Duration // how long /readyz may take. Defaults to 3 min.
}

// Server is a running `bentoml serve` on 127.0.0.1.
type Server struct {
	URL  string // http://127.0.0.1:<port>
	Log  string // its log file
	cmd  *exec.Cmd
	done chan struct{}
}

// Serve starts `bentoml serve` on a free loopback port and returns once /readyz answers 200. A
// .bento archive is imported first into BENTOML_HOME=<Dir>/bentoml.
func Serve(ctx context.Context, o ServeOptions) (*Server, error) {
	bin, err := filepath.Abs(o.BentoML) // the server runs in its own directory
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	env := append(append(os.Environ(), "BENTOML_DO_NOT_TRACK=true", "PYTHONUNBUFFERED=1"), o.Env...)
	target := o.Target
	if strings.HasSuffix(target, ".bento") {
		env = append(env, "BENTOML_HOME="+filepath.Join(dir, "bentoml"))
		if target, err = importBento(ctx, bin, target, env); err != nil {
			return nil, err
		}
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(dir, "serve.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", target, "--host", "127.0.0.1", "--port", strconv.Itoa(port))
	cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = env, dir, logFile, logFile
	// The server dies with whoever started it: a killed worker (or test) leaves no model server
	// behind. SIGTERM lets `bentoml serve` stop its workers, which live in sessions of their own.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := StartTied(cmd); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("bentoml serve: %w", err)
	}
	s := &Server{URL: "http://127.0.0.1:" + strconv.Itoa(port), Log: logFile.Name(), cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logFile.Close(); close(s.done) }()
	ready := o.Ready
	if ready <= 0 {
		ready = 3 * time.Minute
	}
	if err := s.waitReady(ctx, ready); err != nil {
		s.Stop()
		return nil, fmt.Errorf("bentoml serve %s: %w (log: %s)", o.Target, err, s.Log)
	}
	return s, nil
}

var importedTag = regexp.MustCompile(`Bento\(tag="([^"]+)"\)`)

func importBento(ctx context.Context, bin, archive string, env []string) (string, error) {
	abs, err := filepath.Abs(archive)
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, bin, "import", abs)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	m := importedTag.FindSubmatch(out)
	if err != nil || m == nil {
		return "", fmt.Errorf("bentoml import %s: %v: %s", abs, err, tail(string(out), 600))
	}
	return string(m[1]), nil
}

func (s *Server) waitReady(ctx context.Context, timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	last := errors.New("no answer yet")
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return errors.New("exited before it was ready")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
		resp, err := client.Get(s.URL + "/readyz")
		if err != nil {
			last = err
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return nil
		}
		last = fmt.Errorf("GET /readyz: HTTP %d", resp.StatusCode)
	}
	return fmt.Errorf("not ready within %s: %v", timeout, last)
}

// Pid is the `bentoml serve` process's.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Alive reports whether the server process still runs.
func (s *Server) Alive() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// Stop ends the server and its workers (which bentoml starts in sessions of their own).
func (s *Server) Stop() {
	if s.cmd == nil { // a server with no process of its own (tests' fakes)
		select {
		case <-s.done:
		default:
			close(s.done)
		}
		return
	}
	StopTree(s.cmd.Process.Pid, 10*time.Second)
	<-s.done
}

// spawns carries commands to the one goroutine that starts servers. The kernel sends Pdeathsig
// when the thread that forked the child exits, not the process (golang/go#27505): that goroutine
// is locked to its thread for good, so the thread lives exactly as long as the process.
var (
	spawns       = make(chan spawn)
	spawnerStart sync.Once
)

type spawn struct {
	cmd *exec.Cmd
	err chan error
}

// StartTied starts cmd so that it gets SIGTERM when this process dies, however it dies (Pdeathsig,
// Linux): a killed worker or test binary leaves none of its servers behind.
func StartTied(cmd *exec.Cmd) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGTERM
	spawnerStart.Do(func() {
		go func() {
			runtime.LockOSThread() // never unlocked
			for s := range spawns {
				s.err <- s.cmd.Start()
			}
		}()
	})
	s := spawn{cmd: cmd, err: make(chan error, 1)}
	spawns <- s
	return <-s.err
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
