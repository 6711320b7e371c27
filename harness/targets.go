package harness

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/temporaldeployer/temporaldeployer/kube"
	"github.com/temporaldeployer/temporaldeployer/metrics"
)

// Target labels the harness puts on each model server besides the three that select a workload
// (metrics.LabelDeployment, LabelEnvironment, LabelRole).
const (
	LabelModelVersion = "td_model_version" // kube.Spec.ModelVersion
	LabelService      = "td_service"       // the Kubernetes Service the server stands in for
)

// TargetGroup is one entry of a Prometheus file_sd targets file: the servers at Targets
// (host:port) and the labels Prometheus puts on their series. A load generator reads the same file
// (ReadTargets) to find where each workload is served.
type TargetGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

// targetGroup describes the server at serverURL (http://127.0.0.1:PORT, as Serve makes it)
// serving s for service.
func targetGroup(serverURL string, s kube.Spec, service string) TargetGroup {
	return TargetGroup{Targets: []string{strings.TrimPrefix(serverURL, "http://")}, Labels: map[string]string{
		metrics.LabelDeployment: s.DeploymentName, metrics.LabelEnvironment: s.Environment,
		metrics.LabelRole: string(s.Role), LabelModelVersion: s.ModelVersion, LabelService: service,
	}}
}

// sortGroups orders groups by their labels (deployment, environment, role, service, version),
// then by target, so the same servers always give the same file.
func sortGroups(groups []TargetGroup) {
	key := func(g TargetGroup) string {
		l := g.Labels
		return strings.Join([]string{l[metrics.LabelDeployment], l[metrics.LabelEnvironment], l[metrics.LabelRole],
			l[LabelService], l[LabelModelVersion], strings.Join(g.Targets, ",")}, "\x00")
	}
	sort.SliceStable(groups, func(i, j int) bool { return key(groups[i]) < key(groups[j]) })
}

// WriteTargets writes groups as a Prometheus file_sd JSON file at path, sorted, atomically (a
// temporary file in the same directory renamed over path), so Prometheus and readers never see a
// partial file. No groups write an empty list.
func WriteTargets(path string, groups []TargetGroup) error {
	sorted := append([]TargetGroup{}, groups...)
	sortGroups(sorted)
	b, err := json.MarshalIndent(sorted, "", "  ")
	if err != nil {
		return fmt.Errorf("targets file %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("targets file %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // after the rename, there is nothing left to remove
	_, err = tmp.Write(append(b, '\n'))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644) // Prometheus may run as another user
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("targets file %s: %w", path, err)
	}
	return nil
}

// ReadTargets reads a Prometheus file_sd JSON file written by WriteTargets (or by hand). A group
// without targets is an error, as Prometheus would ignore it silently.
func ReadTargets(path string) ([]TargetGroup, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("targets file: %w", err)
	}
	var groups []TargetGroup
	if err := json.Unmarshal(b, &groups); err != nil {
		return nil, fmt.Errorf("targets file %s: %w", path, err)
	}
	for i, g := range groups {
		if len(g.Targets) == 0 {
			return nil, fmt.Errorf("targets file %s: group %d has no targets", path, i)
		}
	}
	return groups, nil
}

// writeTargets rewrites in.TargetsFile (if set) from the servers ready now, each labelled with
// its workload and the Service of its role. Callers hold in.mu.
func (in *Ingress) writeTargets() error {
	if in.TargetsFile == "" {
		return nil
	}
	groups := []TargetGroup{}
	for _, b := range in.backends {
		select {
		case <-b.ready:
		default:
			continue
		}
		if b.err == nil && b.srv.Alive() {
			groups = append(groups, targetGroup(b.srv.URL, b.spec, roleService(b.spec)))
		}
	}
	if err := WriteTargets(in.TargetsFile, groups); err != nil {
		return fmt.Errorf("loopback harness: %w", err)
	}
	return nil
}

// roleService is the Service a workload's role answers behind: the environment's for the stable.
func roleService(s kube.Spec) string {
	if s.Role == kube.RoleStable {
		return kube.ServiceName(s.DeploymentName, s.Environment)
	}
	return kube.RoleServiceName(s.DeploymentName, s.Environment, s.Role)
}
