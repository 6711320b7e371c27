#!/usr/bin/env bash
# Regenerates the wrapper modules' go.mod and go.sum from the pins in infra/scripts/versions.env.
# Run it by hand after bumping K8S_VERSION / ETCD_VERSION / KWOK_VERSION, then commit both modules'
# go.mod and go.sum. build.sh never runs it: builds use the committed files, so they are reproducible.
#
# Why two modules:
#   build/       k8s.io/kubernetes (kube-apiserver, kube-controller-manager, kube-scheduler) + etcd.
#                `go install k8s.io/kubernetes/cmd/...@vX` fails because k8s.io/kubernetes replaces
#                every staging module with ./staging/src/k8s.io/<m>; here each one is replaced by its
#                published release instead (k8s v1.Y.Z <-> staging v0.Y.Z).
#   build/kwok/  KWOK v0.7.x is written against k8s.io/* v0.33 and does not compile against v0.34
#                (metav1.InitialEventsListBlueprintAnnotationKey is gone), so it keeps its own graph.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
# shellcheck source=../../scripts/versions.env
. "$root/infra/scripts/versions.env"
go_version=$(go env GOVERSION | sed 's/^go//')
staging_version="v0.${K8S_VERSION#v1.}"   # v1.34.4 -> v0.34.4
module=github.com/temporaldeployer/temporaldeployer/infra/cluster/build
export GOFLAGS=-mod=mod

# The staging modules are the `k8s.io/<m> v0.0.0` require lines of the tag's own go.mod.
k8s_gomod=$(cd "$(mktemp -d)" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" |
  sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
mapfile -t staging < <(grep -E '^[[:space:]]+k8s\.io/[a-z0-9-]+ v0\.0\.0( |$)' "$k8s_gomod" | awk '{print $1}' | sort -u)
echo "update: k8s.io/kubernetes $K8S_VERSION has ${#staging[@]} staging modules -> $staging_version"
pinned_etcd=$(awk '$1 == "go.etcd.io/etcd/server/v3" {print $2}' "$k8s_gomod")
if [ "$pinned_etcd" != "$ETCD_VERSION" ]; then
  echo "update: WARNING: $K8S_VERSION pins etcd server $pinned_etcd, versions.env says $ETCD_VERSION" >&2
fi

# build/: kubernetes + etcd.
cd "$here"
rm -f go.mod go.sum
go mod init "$module" 2>/dev/null
go mod edit -go="$go_version"
for m in "${staging[@]}"; do
  go mod edit -replace="$m=$m@$staging_version"
done
# Explicit @versions: a bare `go get -tool` would move k8s.io/kubernetes to the newest release.
go get -tool \
  "k8s.io/kubernetes/cmd/kube-apiserver@$K8S_VERSION" \
  "k8s.io/kubernetes/cmd/kube-controller-manager@$K8S_VERSION" \
  "k8s.io/kubernetes/cmd/kube-scheduler@$K8S_VERSION" \
  "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
go mod tidy

# build/kwok/: KWOK on its own dependency graph.
cd "$here/kwok"
rm -f go.mod go.sum
go mod init "$module/kwok" 2>/dev/null
go mod edit -go="$go_version"
go get -tool "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
go mod tidy

# Check that MVS kept the pins (another requirement may not drag a module past them).
check() { # dir module want
  got=$(cd "$1" && go list -m -f '{{with .Replace}}{{.Version}}{{else}}{{.Version}}{{end}}' "$2")
  [ "$got" = "$3" ] || { echo "update: $2 resolved to $got, want $3" >&2; exit 1; }
}
check "$here" k8s.io/kubernetes "$K8S_VERSION"
check "$here" k8s.io/client-go "$staging_version"
check "$here" go.etcd.io/etcd/server/v3 "$ETCD_VERSION"
check "$here/kwok" sigs.k8s.io/kwok "$KWOK_VERSION"
echo "update: wrote $here/{go.mod,go.sum} and $here/kwok/{go.mod,go.sum}"
