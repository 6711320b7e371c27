package realparts

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
)

// kustomization is the part of a kustomization.yaml ReadKustomization understands: a plain list of
// resource files. Anything else (patches, generators, a namespace override) is refused, so a
// kustomization this reader would apply differently from kustomize fails the test instead.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
}

// ReadKustomization reads the objects of a kustomize base made of plain resource files (dir's
// kustomization.yaml), in the order it lists them. rename maps namespace names to the test's own
// (a Namespace's name, every metadata.namespace, a RoleBinding subject's namespace, and a
// ConfigMap value equal to a renamed namespace), so a test on the shared API server stays apart.
func ReadKustomization(t testing.TB, dir string, rename map[string]string) []*unstructured.Unstructured {
	t.Helper()
	var k kustomization
	raw := readYAML(t, filepath.Join(dir, "kustomization.yaml"))
	if len(raw) != 1 {
		t.Fatalf("%s/kustomization.yaml: %d documents", dir, len(raw))
	}
	if err := json.Unmarshal(mustJSON(t, raw[0].Object), &k); err != nil || len(raw[0].Object) != 3 || k.Kind != "Kustomization" {
		t.Fatalf("%s/kustomization.yaml holds more than apiVersion, kind and resources (%v): apply it with kustomize", dir, err)
	}
	var out []*unstructured.Unstructured
	for _, f := range k.Resources {
		for _, o := range readYAML(t, filepath.Join(dir, f)) {
			renameNamespaces(o, rename)
			out = append(out, o)
		}
	}
	return out
}

func readYAML(t testing.TB, path string) []*unstructured.Unstructured {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewYAMLOrJSONDecoder(f, 4096)
	var out []*unstructured.Unstructured
	for {
		o := &unstructured.Unstructured{}
		if err := dec.Decode(&o.Object); err == io.EOF {
			return out
		} else if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(o.Object) > 0 {
			out = append(out, o)
		}
	}
}

func mustJSON(t testing.TB, v map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func renameNamespaces(o *unstructured.Unstructured, rename map[string]string) {
	if n, ok := rename[o.GetNamespace()]; ok {
		o.SetNamespace(n)
	}
	switch o.GetKind() {
	case "Namespace":
		if n, ok := rename[o.GetName()]; ok {
			o.SetName(n)
		}
	case "RoleBinding":
		subjects, _, _ := unstructured.NestedSlice(o.Object, "subjects")
		for _, s := range subjects {
			m := s.(map[string]any)
			if n, ok := rename[fmt.Sprint(m["namespace"])]; ok {
				m["namespace"] = n
			}
		}
		_ = unstructured.SetNestedSlice(o.Object, subjects, "subjects")
	case "ConfigMap":
		data, _, _ := unstructured.NestedStringMap(o.Object, "data")
		for k, v := range data {
			if n, ok := rename[v]; ok {
				data[k] = n
			}
		}
		_ = unstructured.SetNestedStringMap(o.Object, data, "data")
	}
}

// ApplyObjects applies objects in order with server-side apply as the admin of kubeconfig.
func ApplyObjects(t testing.TB, kubeconfig string, objs []*unstructured.Unstructured) {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Fatalf("%s %s: %v", gvk, o.GetName(), err)
		}
		var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
		if m.Scope.Name() == "namespace" {
			ri = dyn.Resource(m.Resource).Namespace(o.GetNamespace())
		}
		data := mustJSON(t, o.Object)
		if _, err := ri.Patch(ctx, o.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{FieldManager: "deploy-manifests", Force: ptr.To(true)}); err != nil {
			t.Fatalf("apply %s %s/%s: %v", strings.ToLower(gvk.Kind), o.GetNamespace(), o.GetName(), err)
		}
	}
}

// SetImage points every container of objs whose image is name (with or without a tag) at ref, as
// `kustomize edit set image name=ref` does for a build; a name no container uses fails the test.
func SetImage(t testing.TB, objs []*unstructured.Unstructured, name, ref string) {
	t.Helper()
	set := 0
	for _, o := range objs {
		for _, field := range []string{"containers", "initContainers"} {
			path := []string{"spec", "template", "spec", field}
			cs, ok, _ := unstructured.NestedSlice(o.Object, path...)
			if !ok {
				continue
			}
			for _, c := range cs {
				m := c.(map[string]any)
				if img := fmt.Sprint(m["image"]); img == name || strings.HasPrefix(img, name+":") {
					m["image"], set = ref, set+1
				}
			}
			if err := unstructured.SetNestedSlice(o.Object, cs, path...); err != nil {
				t.Fatal(err)
			}
		}
	}
	if set == 0 {
		t.Fatalf("no container runs the image %q", name)
	}
}
