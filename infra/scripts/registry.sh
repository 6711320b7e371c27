#!/usr/bin/env bash
# A local OCI registry that keeps what it stores: CNCF distribution's registry (cmd/registry of
# github.com/distribution/distribution/v3 at DISTRIBUTION_VERSION), built from the Go module proxy,
# run as our own process with filesystem storage. For the demo and the tests that are about a
# registry's persistence (tests that are not use go-containerregistry's in-process registry).
#   install             build the binary into .cache/registry/<version>/registry if it is missing
#                       (go install <module>/cmd/registry@<version>: the module's own go.mod and
#                       go.sum, checked against the checksum database); idempotent
#   path                print the binary's path
#   start DIR PORT      write DIR/config.yml (listen on 127.0.0.1:PORT only, no auth, storage in
#                       DIR/storage, delete enabled; the upload secret in DIR/http-secret), start the registry with its pid in
#                       DIR/registry.pid and its log in DIR/registry.log, return once /v2/ answers;
#                       does nothing if DIR's registry is already running
#   stop DIR            stop DIR's registry (if running); its storage stays
# Env: REGISTRY_BIN_DIR (default .cache/registry), REGISTRY_READY_TIMEOUT (seconds, default 30).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=versions.env
. "$root/infra/scripts/versions.env"

module=github.com/distribution/distribution/v3
bindir=${REGISTRY_BIN_DIR:-$root/.cache/registry}/$DISTRIBUTION_VERSION
bin=$bindir/registry
ready_timeout=${REGISTRY_READY_TIMEOUT:-30}

say() { echo "registry.sh: $*" >&2; }
die() { say "$*"; exit 1; }
# shellcheck source=pidfile.sh
. "$root/infra/scripts/pidfile.sh"

# installed: the binary is there and reports the pinned version ("registry <module> v3.1.2+unknown").
installed() { [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q " $module ${DISTRIBUTION_VERSION}\(+\| \|$\)"; }

cmd_install() {
  command -v go >/dev/null || die "go is not on PATH"
  mkdir -p "$bindir"
  # One build at a time (parallel test binaries or a demo may call this); the others find it done.
  exec 9>"$bindir/.build.lock"
  flock 9
  if installed; then
    say "distribution $DISTRIBUTION_VERSION already built ($bin)"
    return
  fi
  say "building distribution $DISTRIBUTION_VERSION from the Go module proxy -> $bin (~2 min cold)"
  local tmp start=$SECONDS
  tmp=$(mktemp -d "$bindir/.build.XXXXXX")
  # GOFLAGS from the caller (-mod=...) would not apply to `go install pkg@version`; -trimpath keeps
  # local paths out of the binary.
  if ! GOBIN=$tmp CGO_ENABLED=0 GOFLAGS=-trimpath go install -ldflags "-s -w" "$module/cmd/registry@$DISTRIBUTION_VERSION"; then
    rm -rf "$tmp"
    die "go install $module/cmd/registry@$DISTRIBUTION_VERSION failed"
  fi
  mv "$tmp/registry" "$bin"
  rmdir "$tmp"
  installed || die "$bin built but reports '$("$bin" --version 2>&1)', want $DISTRIBUTION_VERSION"
  say "built in $((SECONDS - start))s ($(du -h "$bin" | cut -f1))"
}

pid_of() { [ -f "$1/registry.pid" ] && cat "$1/registry.pid"; }

running() {
  local pid
  pid=$(pid_of "$1") || return 1
  kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$1/config.yml"
}

write_config() {
  local dir=$1 port=$2
  cat >"$dir/config.yml" <<EOF
# Written by infra/scripts/registry.sh: a loopback-only registry without auth, for the demo and tests.
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$port
  headers:
    X-Content-Type-Options: [nosniff]
EOF
}

wait_ready() {
  local dir=$1 port=$2 pid=$3 deadline=$((SECONDS + ready_timeout))
  while [ "$SECONDS" -lt "$deadline" ]; do
    kill -0 "$pid" 2>/dev/null || die "the registry exited before it was ready; log tail:
$(tail -n 20 "$dir/registry.log")"
    curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/v2/" 2>/dev/null && return
    sleep 0.2
  done
  die "the registry did not answer on 127.0.0.1:$port within ${ready_timeout}s; log: $dir/registry.log"
}

cmd_start() {
  [ $# = 2 ] || { echo "usage: $0 start DIR PORT" >&2; exit 2; }
  local dir=$1 port=$2
  [[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ] || die "port '$port': want 1-65535"
  installed || die "distribution $DISTRIBUTION_VERSION is not built: run '$0 install'"
  mkdir -p "$dir/storage"
  dir=$(cd "$dir" && pwd)
  if running "$dir"; then
    say "already running ($dir, pid $(pid_of "$dir"))"
    return
  fi
  write_config "$dir" "$port"
  # The secret that signs upload state: kept with the storage, so an upload survives a restart.
  [ -s "$dir/http-secret" ] || (umask 077 && openssl rand -hex 32 >"$dir/http-secret")
  # setsid: its own session, so the caller's job control and signals leave it alone; stop ends it.
  # OTEL_TRACES_EXPORTER=none: v3 sets up OpenTelemetry tracing, which would try to export.
  REGISTRY_HTTP_SECRET=$(cat "$dir/http-secret") OTEL_TRACES_EXPORTER=none setsid "$bin" serve "$dir/config.yml" >"$dir/registry.log" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$dir/registry.pid"
  wait_ready "$dir" "$port" "$pid"
  say "running on 127.0.0.1:$port (pid $pid, storage $dir/storage)"
}

cmd_stop() {
  [ $# = 1 ] || { echo "usage: $0 stop DIR" >&2; exit 2; }
  local dir=$1
  [ -d "$dir" ] && dir=$(cd "$dir" && pwd)
  stop_pidfile "$dir/registry.pid"
}

case "${1:-}" in
  install) cmd_install ;;
  path) echo "$bin" ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  *) echo "usage: $0 install | path | start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
