#!/usr/bin/env bash
# Builds the local control plane's binaries from the Go module proxy into .cache/cluster/bin
# (git-ignored): kube-apiserver, kube-controller-manager, kube-scheduler (k8s.io/kubernetes), etcd
# (go.etcd.io/etcd/server/v3) and kwok (sigs.k8s.io/kwok/cmd/kwok), at the versions pinned in
# infra/scripts/versions.env and resolved by the committed wrapper modules in infra/cluster/build/.
#
# Idempotent: each binary has a stamp (pinned version + hash of its wrapper module's go.mod/go.sum +
# Go version); a binary whose stamp matches is skipped, so a warm machine does nothing. Go's build
# cache makes a rebuild after `rm -rf .cache/cluster` take a few minutes instead of ~20.
#
# Env: CLUSTER_BIN_DIR (default .cache/cluster/bin).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../scripts/versions.env
. "$root/infra/scripts/versions.env"
wrapper="$root/infra/cluster/build"
bin=${CLUSTER_BIN_DIR:-$root/.cache/cluster/bin}
mkdir -p "$bin"

command -v go >/dev/null || { echo "build: go is not on PATH" >&2; exit 1; }
# One build at a time (parallel test binaries may all call this); the others then find it done.
exec 9>"$bin/.build.lock"
flock 9
export CGO_ENABLED=0
# Builds use the committed go.sum (readonly); -trimpath keeps the binaries free of local paths.
export GOFLAGS="${GOFLAGS:-} -mod=readonly -trimpath"
go_version=$(go env GOVERSION)

# stamp_for DIR VERSION: what a binary built from wrapper module DIR at VERSION records.
stamp_for() {
  echo "$2 $go_version $(cat "$1/go.mod" "$1/go.sum" | sha256sum | cut -c1-16)"
}
# needs NAME STAMP: true when bin/NAME is missing or was built from something else.
needs() {
  [ -x "$bin/$1" ] && [ -f "$bin/.$1.stamp" ] && [ "$(cat "$bin/.$1.stamp")" = "$2" ] && return 1
  return 0
}
# resolved DIR MODULE: the version MVS picked (or the replacement's), to catch a go.mod/pin mismatch.
resolved() {
  (cd "$1" && go list -m -f '{{with .Replace}}{{.Version}}{{else}}{{.Version}}{{end}}' "$2")
}

# --- Kubernetes + etcd (build/) ---------------------------------------------------------------------
k8s_stamp=$(stamp_for "$wrapper" "k8s=$K8S_VERSION etcd=$ETCD_VERSION")
k8s_pkgs=() k8s_names=()
for name in kube-apiserver kube-controller-manager kube-scheduler etcd; do
  if needs "$name" "$k8s_stamp"; then
    k8s_names+=("$name")
    if [ "$name" = etcd ]; then k8s_pkgs+=(go.etcd.io/etcd/server/v3); else k8s_pkgs+=("k8s.io/kubernetes/cmd/$name"); fi
  fi
done

if [ ${#k8s_pkgs[@]} -gt 0 ]; then
  for pair in "k8s.io/kubernetes $K8S_VERSION" "go.etcd.io/etcd/server/v3 $ETCD_VERSION"; do
    set -- $pair
    got=$(resolved "$wrapper" "$1")
    [ "$got" = "$2" ] || { echo "build: $wrapper resolves $1 $got, versions.env pins $2 (run infra/cluster/build/update.sh)" >&2; exit 1; }
  done
  minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  build_date=$(cd "$wrapper" && go list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' k8s.io/kubernetes)
  etcd_sha=$(cd "$wrapper" && go list -m -f '{{with .Origin}}{{.Hash}}{{end}}' go.etcd.io/etcd/server/v3)
  # Without these the binaries report v0.0.0-master; kube-apiserver's /version and the
  # controllers' compatibility checks read them.
  ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
  done
  ldflags+=" -X go.etcd.io/etcd/api/v3/version.GitSHA=${etcd_sha:-$ETCD_VERSION}"

  echo "build: ${k8s_names[*]} (k8s $K8S_VERSION, etcd $ETCD_VERSION) -> $bin"
  start=$(date +%s)
  tmp=$(mktemp -d "$bin/.build.XXXXXX")
  (cd "$wrapper" && go build -ldflags "$ldflags" -o "$tmp/" "${k8s_pkgs[@]}")
  [ -f "$tmp/server" ] && mv "$tmp/server" "$tmp/etcd"   # go names go.etcd.io/etcd/server/v3 "server"
  for f in "$tmp"/*; do
    name=$(basename "$f")
    mv "$f" "$bin/$name"
    echo "$k8s_stamp" > "$bin/.$name.stamp"
  done
  rmdir "$tmp"
  echo "build: kubernetes/etcd built in $(( $(date +%s) - start ))s"
fi

# --- KWOK (build/kwok/) -----------------------------------------------------------------------------
kwok_stamp=$(stamp_for "$wrapper/kwok" "kwok=$KWOK_VERSION")
if needs kwok "$kwok_stamp"; then
  got=$(resolved "$wrapper/kwok" sigs.k8s.io/kwok)
  [ "$got" = "$KWOK_VERSION" ] || { echo "build: kwok resolves $got, versions.env pins $KWOK_VERSION" >&2; exit 1; }
  echo "build: kwok $KWOK_VERSION -> $bin"
  start=$(date +%s)
  (cd "$wrapper/kwok" && go build -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v}" \
    -o "$bin/kwok.tmp" sigs.k8s.io/kwok/cmd/kwok)
  mv "$bin/kwok.tmp" "$bin/kwok"
  echo "$kwok_stamp" > "$bin/.kwok.stamp"
  echo "build: kwok built in $(( $(date +%s) - start ))s"
fi

echo "build: control plane binaries up to date in $bin ($(du -shc "$bin"/{kube-apiserver,kube-controller-manager,kube-scheduler,etcd,kwok} | tail -1 | cut -f1) total)"
