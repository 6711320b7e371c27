package realparts

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Postgres is a PostgreSQL cluster of a test's own (infra/scripts/postgres.sh with PG_DIR and
// PGPORT), so that the test may stop and start it without disturbing the shared one.
type Postgres struct {
	URL  string
	env  []string
	dir  string
	port int
}

// StartOwnPostgres initialises and starts a cluster on a free port in a directory the postgres
// user can reach (not t.TempDir(), which is private to root); it is stopped and removed at cleanup.
func StartOwnPostgres(t testing.TB) *Postgres {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("/var/tmp", "temporaldeployer-pg-test-")
	if err != nil {
		t.Fatal(err)
	}
	pg := &Postgres{dir: dir, port: port, env: []string{"PG_DIR=" + dir, "PGPORT=" + strconv.Itoa(port)}}
	if out, err := pg.script("install"); err != nil {
		Require(t, "PostgreSQL", fmt.Errorf("postgres.sh install: %v\n%s", err, out))
	}
	t.Cleanup(func() {
		_, _ = pg.script("stop")
		_ = os.RemoveAll(dir)
	})
	pg.Start(t)
	url, err := pg.script("url")
	if err != nil {
		t.Fatal(err)
	}
	pg.URL = strings.TrimSpace(url)
	return pg
}

// Start starts the cluster (again, on the same data and port).
func (pg *Postgres) Start(t testing.TB) {
	t.Helper()
	if out, err := pg.script("start"); err != nil {
		t.Fatalf("postgres.sh start (%s): %v\n%s", pg.dir, err, out)
	}
}

// Stop stops the cluster (fast shutdown: open connections are closed).
func (pg *Postgres) Stop(t testing.TB) {
	t.Helper()
	if out, err := pg.script("stop"); err != nil {
		t.Fatalf("postgres.sh stop (%s): %v\n%s", pg.dir, err, out)
	}
}

// Restart stops the cluster, waits down, and starts it again.
func (pg *Postgres) Restart(t testing.TB, down time.Duration) {
	t.Helper()
	pg.Stop(t)
	time.Sleep(down)
	pg.Start(t)
}

func (pg *Postgres) script(cmd string) (string, error) {
	c := exec.Command("bash", filepath.Join(Root(), "infra", "scripts", "postgres.sh"), cmd)
	c.Env = append(os.Environ(), pg.env...)
	out, err := c.CombinedOutput()
	return string(out), err
}
