#!/usr/bin/env bash
# A throwaway Prometheus for tests and the demo: the pinned Debian package, run as our own process.
#   install                    apt-get install PROMETHEUS_DEBIAN_PACKAGE if /usr/bin/prometheus is missing
#                              or not PROMETHEUS_VERSION; idempotent; never starts the package's service
#   start DIR PORT TARGETS [WORKER]
#                              write DIR/prometheus.yml (1 s scrape and evaluation interval; targets from
#                              the file_sd JSON file TARGETS, re-read every second; with WORKER, a host:port,
#                              also job temporaldeployer-worker scraping the worker's /metrics there
#                              (DEPLOYER_METRICS_ADDR)), start prometheus on
#                              127.0.0.1:PORT with its TSDB in DIR/data (2 d retention), its pid in
#                              DIR/prometheus.pid and its log in DIR/prometheus.log; return once
#                              /-/ready answers; does nothing if DIR's Prometheus is already running
#   stop DIR                   stop DIR's Prometheus (if running)
# A 1 s scrape interval lets tests judge windows of a few seconds; increase() over a window needs two
# samples in it, so windows under ~2 s give no data.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=versions.env
. "$root/infra/scripts/versions.env"

pkg=$PROMETHEUS_DEBIAN_PACKAGE
bin=/usr/bin/prometheus
ready_timeout=${PROMETHEUS_READY_TIMEOUT:-60}

say() { echo "prometheus.sh: $*" >&2; }
die() { say "$*"; exit 1; }
# shellcheck source=pidfile.sh
. "$root/infra/scripts/pidfile.sh"

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# version prints the installed server's version ("2.42.0" of "prometheus, version 2.42.0+ds (...)").
version() { "$bin" --version 2>&1 | sed -n 's/^prometheus, version \([0-9][0-9.]*\).*/\1/p' | head -n1; }

installed() { [ -x "$bin" ] && [ "$(version)" = "$PROMETHEUS_VERSION" ]; }

cmd_install() {
  if installed; then
    say "$pkg $PROMETHEUS_VERSION already installed ($bin)"
    return
  fi
  if ! apt-cache show "$pkg" >/dev/null 2>&1; then
    as_root apt-get update -qq
  fi
  # The package's postinst would start its systemd service: a policy-rc.d answering 101 forbids
  # that (Docker images ship one; add a temporary one otherwise).
  local policy=/usr/sbin/policy-rc.d added=""
  if [ ! -e "$policy" ]; then
    as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
    added=1
  fi
  local want
  want=$(apt-cache madison "$pkg" | awk -v v="$PROMETHEUS_VERSION" '$3 ~ "^"v {print $3; exit}')
  [ -n "$want" ] || { [ -z "$added" ] || as_root rm -f "$policy"; die "apt knows no $pkg $PROMETHEUS_VERSION"; }
  local rc=0
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg=$want" >/dev/null || rc=$?
  [ -z "$added" ] || as_root rm -f "$policy"
  [ "$rc" = 0 ] || die "apt-get install $pkg=$want failed (exit $rc)"
  # Belt and braces: should a service manager have started it anyway, stop and disable it.
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    as_root systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
  installed || die "$pkg installed but $bin reports version '$(version)', want $PROMETHEUS_VERSION"
  say "installed $pkg $want"
}

pid_of() { [ -f "$1/prometheus.pid" ] && cat "$1/prometheus.pid"; }

running() {
  local pid
  pid=$(pid_of "$1") || return 1
  kill -0 "$pid" 2>/dev/null
}

write_config() {
  local dir=$1 targets=$2 worker=${3:-}
  cat >"$dir/prometheus.yml" <<EOF
# Written by infra/scripts/prometheus.sh.
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: temporaldeployer
    file_sd_configs:
      - files: ["$targets"]
        refresh_interval: 1s
EOF
  [ -z "$worker" ] || cat >>"$dir/prometheus.yml" <<EOF
  - job_name: temporaldeployer-worker
    static_configs:
      - targets: ["$worker"]
EOF
}

wait_ready() {
  local dir=$1 port=$2 pid=$3 deadline=$((SECONDS + ready_timeout))
  while [ "$SECONDS" -lt "$deadline" ]; do
    kill -0 "$pid" 2>/dev/null || die "prometheus exited before it was ready; log tail:
$(tail -n 20 "$dir/prometheus.log")"
    if curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/-/ready" 2>/dev/null; then
      return
    fi
    sleep 0.2
  done
  die "prometheus not ready on 127.0.0.1:$port within ${ready_timeout}s; log: $dir/prometheus.log"
}

cmd_start() {
  [ $# = 3 ] || [ $# = 4 ] || { echo "usage: $0 start DIR PORT TARGETS_FILE [WORKER_HOST:PORT]" >&2; exit 2; }
  local dir=$1 port=$2 targets=$3 worker=${4:-}
  [[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ] || die "port '$port': want 1-65535"
  installed || die "$pkg $PROMETHEUS_VERSION is not installed: run '$0 install'"
  mkdir -p "$dir/data"
  dir=$(cd "$dir" && pwd)
  case "$targets" in /*) ;; *) targets="$PWD/$targets" ;; esac
  [ -f "$targets" ] || echo "[]" >"$targets"
  if running "$dir"; then
    say "already running ($dir, pid $(pid_of "$dir"))"
    return
  fi
  write_config "$dir" "$targets" "$worker"
  # setsid: its own session, so the caller's job control and signals leave it alone; stop ends it.
  setsid "$bin" --config.file "$dir/prometheus.yml" --storage.tsdb.path "$dir/data" \
    --web.listen-address "127.0.0.1:$port" --storage.tsdb.retention.time 2d \
    >"$dir/prometheus.log" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$dir/prometheus.pid"
  wait_ready "$dir" "$port" "$pid"
  say "running on 127.0.0.1:$port (pid $pid, targets $targets)"
}

cmd_stop() {
  [ $# = 1 ] || { echo "usage: $0 stop DIR" >&2; exit 2; }
  local dir=$1
  stop_pidfile "$dir/prometheus.pid"
}

case "${1:-}" in
  install) cmd_install ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  *) echo "usage: $0 install | start DIR PORT TARGETS_FILE [WORKER_HOST:PORT] | stop DIR" >&2; exit 2 ;;
esac
