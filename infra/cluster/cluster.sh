#!/usr/bin/env bash
# A real local Kubernetes control plane on 127.0.0.1: etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler and KWOK (which plays the kubelet for fake nodes: it keeps them Ready and moves the
# pods bound to them to Running/Ready). Binaries come from infra/cluster/build.sh.
#
#   cluster.sh start       start everything, create the fake nodes, print the kubeconfig path
#   cluster.sh stop        stop every component (pid files); no process is left behind
#   cluster.sh status      each component's pid and the API server's /readyz
#   cluster.sh kubeconfig  print the kubeconfig path
#   cluster.sh clean       stop, then delete the run dir (etcd data, certificates, logs)
#   cluster.sh gateway-crds  install the Gateway API standard CRDs shipped in the Go module the
#                          project pins (server-side apply), so HTTPRoutes (canary weights, shadow mirror) exist
#
# Env: CLUSTER_RUN_DIR (default .cache/cluster/run: state, pki/, logs/, pids/, kubeconfig),
#      CLUSTER_BIN_DIR (default .cache/cluster/bin), CLUSTER_NODES (fake nodes, default 3),
#      CLUSTER_{ETCD,ETCD_PEER,APISERVER,KCM,SCHEDULER,KWOK}_PORT (default: free ports, picked on the
#      first start and kept in the run dir's ports.env), CLUSTER_OWNER_PID (stop the cluster when
#      that process exits, and with CLUSTER_OWNER_CLEAN=1 delete the run dir too; used by the Go
#      test helper so even a killed test binary leaves no orphans).
#
# Authorization is the production setting, --authorization-mode=Node,RBAC: every component has its
# own client certificate (kube-controller-manager and kube-scheduler as their system: users, bound by
# the bootstrap RBAC policy) and the admin kubeconfig is in group system:masters.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${CLUSTER_BIN_DIR:-$root/.cache/cluster/bin}
run=${CLUSTER_RUN_DIR:-$root/.cache/cluster/run}
pki="$run/pki" logs="$run/logs" pids="$run/pids"
components=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)
service_cidr=10.96.0.0/16 # the API server's Service ClusterIP range; 10.96.0.1 is "kubernetes"
pod_cidr=10.244.0.0/16    # pod IPs KWOK hands out

say() { echo "cluster: $*" >&2; }

# --- processes ------------------------------------------------------------------------------------
# alive NAME: its pid file names a live process that is still that program (guards against pid reuse).
alive() {
  local f="$pids/$1.pid" pid
  [ -f "$f" ] || return 1
  pid=$(cat "$f")
  kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2"
}
# launch NAME CMD...: runs CMD in its own session (so a Ctrl-C or a test's process-group kill does
# not reach it), stdio to logs/NAME.log, pid to pids/NAME.pid.
launch() {
  local name=$1
  shift
  setsid "$@" >"$logs/$name.log" 2>&1 </dev/null &
  echo $! >"$pids/$name.pid"
}
# stop_pids NAME...: TERM to all at once, up to 15 s of grace, then KILL whatever is left.
stop_pids() {
  local name pid i left
  local -a live=()
  for name in "$@"; do
    [ -f "$pids/$name.pid" ] || continue
    pid=$(cat "$pids/$name.pid")
    kill -TERM "$pid" 2>/dev/null && live+=("$name:$pid")
  done
  for i in $(seq 150); do
    left=0
    for name in "${live[@]}"; do kill -0 "${name#*:}" 2>/dev/null && left=1; done
    [ $left = 0 ] && break
    sleep 0.1
  done
  for name in "${live[@]}"; do
    if kill -0 "${name#*:}" 2>/dev/null; then
      say "${name%%:*} (pid ${name#*:}) ignored TERM; killing"
      kill -KILL "${name#*:}" 2>/dev/null || true
    fi
  done
  for name in "$@"; do rm -f "$pids/$name.pid"; done
}

do_stop() {
  [ -d "$pids" ] || { say "not running ($run)"; return 0; }
  # The watchdog first, unless it is the one stopping us (it runs `cluster.sh stop` as its child).
  if [ -f "$pids/watchdog.pid" ]; then
    local w; w=$(cat "$pids/watchdog.pid")
    if [ "$w" != "$$" ] && [ "$w" != "$PPID" ]; then stop_pids watchdog; else rm -f "$pids/watchdog.pid"; fi
  fi
  # Everything that talks to etcd first, together (each takes 1-3 s to shut down), then etcd.
  stop_pids kwok kube-scheduler kube-controller-manager kube-apiserver
  stop_pids etcd
  say "stopped ($run)"
}

# --- ports, certificates, kubeconfigs -------------------------------------------------------------
load_ports() {
  if [ ! -f "$run/ports.env" ]; then
    # Six distinct free ports: all sockets are held open until every port is known.
    read -r -a free < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(6)]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))')
    cat >"$run/ports.env" <<EOF
ETCD_PORT=${CLUSTER_ETCD_PORT:-${free[0]}}
ETCD_PEER_PORT=${CLUSTER_ETCD_PEER_PORT:-${free[1]}}
APISERVER_PORT=${CLUSTER_APISERVER_PORT:-${free[2]}}
KCM_PORT=${CLUSTER_KCM_PORT:-${free[3]}}
SCHEDULER_PORT=${CLUSTER_SCHEDULER_PORT:-${free[4]}}
KWOK_PORT=${CLUSTER_KWOK_PORT:-${free[5]}}
EOF
  fi
  # shellcheck disable=SC1091
  . "$run/ports.env"
  api="https://127.0.0.1:$APISERVER_PORT"
}

# ca NAME CN: a self-signed EC P-256 certificate authority.
ca() {
  [ -f "$pki/$1.crt" ] && return 0
  openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -days 3650 \
    -subj "/CN=$2" -keyout "$pki/$1.key" -out "$pki/$1.crt" 2>/dev/null
}
# cert CA NAME SUBJECT EXTENDED_KEY_USAGE [SUBJECT_ALT_NAMES]: an EC P-256 key and a certificate
# signed by CA.
cert() {
  local ca=$1
  shift
  [ -f "$pki/$1.crt" ] && return 0
  local ext="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=$3"
  [ -n "${4:-}" ] && ext+=$'\n'"subjectAltName=$4"
  openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -subj "$2" \
    -keyout "$pki/$1.key" -out "$pki/$1.csr" 2>/dev/null
  openssl x509 -req -in "$pki/$1.csr" -CA "$pki/$ca.crt" -CAkey "$pki/$ca.key" -days 3650 \
    -set_serial "0x$(openssl rand -hex 12)" -extfile <(echo "$ext") -out "$pki/$1.crt" 2>/dev/null
  rm -f "$pki/$1.csr"
}

make_pki() {
  mkdir -p "$pki"
  ca ca temporaldeployer-local-ca
  cert ca apiserver "/CN=kube-apiserver" serverAuth \
    "IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  cert ca admin "/O=system:masters/CN=temporaldeployer-admin" clientAuth
  cert ca kcm "/CN=system:kube-controller-manager" clientAuth
  cert ca scheduler "/CN=system:kube-scheduler" clientAuth
  # The aggregation layer's front proxy (as kubeadm sets it up): the API server authenticates to
  # aggregated API servers with it, and kube-controller-manager/kube-scheduler read its CA.
  ca front-proxy-ca temporaldeployer-front-proxy-ca
  cert front-proxy-ca front-proxy-client "/CN=front-proxy-client" clientAuth
  # Service-account token signing key pair (ES256).
  if [ ! -f "$pki/sa.key" ]; then
    openssl ecparam -name prime256v1 -genkey -noout -out "$pki/sa.key"
    openssl ec -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
  fi
  chmod 600 "$pki"/*.key
}

# kubeconfig FILE CERT_NAME: a self-contained kubeconfig (certificates embedded).
kubeconfig() {
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: $api
    certificate-authority-data: $(base64 -w0 "$pki/ca.crt")
users:
- name: $2
  user:
    client-certificate-data: $(base64 -w0 "$pki/$2.crt")
    client-key-data: $(base64 -w0 "$pki/$2.key")
contexts:
- name: local
  context: {cluster: local, user: $2}
current-context: local
EOF
  chmod 600 "$1"
}

# --- waiting --------------------------------------------------------------------------------------
# api_curl PATH [CURL ARGS...]: a request to the API server as admin.
api_curl() {
  local path=$1
  shift
  curl -sS --max-time 10 --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" "$@" "$api$path"
}
# wait_for WHAT SECONDS COMMAND...: polls COMMAND every 0.25 s; fails naming WHAT.
wait_for() {
  local what=$1 limit=$2 deadline
  shift 2
  deadline=$(($(date +%s) + limit))
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      say "timed out after ${limit}s waiting for $what"
      return 1
    fi
    local c
    for c in "${components[@]}"; do
      if [ -f "$pids/$c.pid" ] && ! kill -0 "$(cat "$pids/$c.pid")" 2>/dev/null; then
        say "$c exited while waiting for $what"
        return 1
      fi
    done
    sleep 0.25
  done
}
etcd_healthy() { curl -sf --max-time 2 "http://127.0.0.1:$ETCD_PORT/health" | grep -q '"health":"true"'; }
api_ready() { [ "$(api_curl /readyz)" = ok ]; }
healthz() { [ "$(curl -sk --max-time 2 "https://127.0.0.1:$1/healthz")" = ok ]; }
controllers_running() {
  api_curl /api/v1/namespaces/default/serviceaccounts/default -f -o /dev/null &&
    api_curl /api/v1/namespaces/default/configmaps/kube-root-ca.crt -f -o /dev/null
}
# nodes_ready: all CLUSTER_NODES fake nodes report Ready=True (KWOK sets it).
nodes_ready() {
  api_curl "/api/v1/nodes?labelSelector=type%3Dkwok" | python3 -c '
import json, sys
items = json.load(sys.stdin)["items"]
ready = [n for n in items if any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"].get("conditions", []))]
sys.exit(0 if len(ready) >= int(sys.argv[1]) else 1)' "$nodes"
}

# create_node NAME: a Node with generous allocatable resources, annotated for KWOK. Its status is
# taken on create (as a kubelet registers); KWOK then keeps it Ready and renews its lease.
create_node() {
  local code
  code=$(api_curl /api/v1/nodes -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d @- <<EOF
{"apiVersion": "v1", "kind": "Node",
 "metadata": {"name": "$1",
   "labels": {"type": "kwok", "kubernetes.io/hostname": "$1", "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"},
   "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"}},
 "status": {
   "capacity": {"cpu": "32", "memory": "256Gi", "pods": "110", "ephemeral-storage": "1Ti"},
   "allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110", "ephemeral-storage": "1Ti"},
   "nodeInfo": {"architecture": "amd64", "operatingSystem": "linux", "kubeletVersion": "kwok", "kubeProxyVersion": "kwok"}}}
EOF
  )
  case $code in
    201 | 409) ;; # created, or kept from an earlier start with the same run dir
    *) say "creating node $1: HTTP $code"; return 1 ;;
  esac
}

# --- start ----------------------------------------------------------------------------------------
fail_start() {
  say "start failed; last lines of each log:"
  local c
  for c in "${components[@]}"; do
    [ -f "$logs/$c.log" ] && { echo "--- $c ($logs/$c.log)" >&2; tail -n 15 "$logs/$c.log" >&2; }
  done
  do_stop
  exit 1
}

do_start() {
  local c t0 missing=()
  for c in "${components[@]}"; do [ -x "$bin/$c" ] || missing+=("$c"); done
  if [ ${#missing[@]} -gt 0 ]; then
    say "missing ${missing[*]} in $bin; run infra/cluster/build.sh"
    exit 2
  fi
  command -v openssl >/dev/null && command -v curl >/dev/null && command -v python3 >/dev/null ||
    { say "needs openssl, curl and python3"; exit 2; }
  mkdir -p "$run" "$logs" "$pids"
  load_ports
  local any=0 all=1
  for c in "${components[@]}"; do
    if alive "$c" "$bin/$c"; then any=1; else all=0; fi
  done
  if [ $all = 1 ] && api_ready; then
    say "already running"
    echo "$run/kubeconfig"
    return 0
  fi
  if [ $any = 1 ] || alive watchdog bash; then
    say "partly running; restarting"
    do_stop
  fi
  rm -f "$pids"/*.pid # stale ones, from a run that ended without `stop` (a reboot)
  t0=$(date +%s.%N)
  make_pki
  kubeconfig "$run/admin.kubeconfig" admin
  kubeconfig "$run/kcm.kubeconfig" kcm
  kubeconfig "$run/scheduler.kubeconfig" scheduler
  trap fail_start ERR

  # etcd: one member, no fsync (a throwaway test store).
  launch etcd "$bin/etcd" --name local --data-dir "$run/etcd" --unsafe-no-fsync --log-level warn \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "local=http://127.0.0.1:$ETCD_PEER_PORT"
  wait_for "etcd /health" 30 etcd_healthy

  # kube-apiserver. The advertise address is loopback, which the Endpoints of Service "kubernetes"
  # may not hold, so the endpoint reconciler is off (nothing in-cluster dials the API server here).
  launch kube-apiserver "$bin/kube-apiserver" --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$APISERVER_PORT" \
    --endpoint-reconciler-type none --cert-dir "$run/apiserver" \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --client-ca-file "$pki/ca.crt" --authorization-mode Node,RBAC --allow-privileged \
    --requestheader-client-ca-file "$pki/front-proxy-ca.crt" --requestheader-allowed-names front-proxy-client \
    --requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group \
    --requestheader-extra-headers-prefix X-Remote-Extra- \
    --proxy-client-cert-file "$pki/front-proxy-client.crt" --proxy-client-key-file "$pki/front-proxy-client.key" \
    --service-cluster-ip-range "$service_cidr" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --profiling=false
  wait_for "kube-apiserver /readyz" 90 api_ready

  # kube-controller-manager: all default controllers (deployment, replicaset, horizontalpodautoscaling,
  # disruption, garbagecollector, namespace, serviceaccount, nodelifecycle, ...), each with its own
  # service-account credentials as on a real cluster.
  launch kube-controller-manager "$bin/kube-controller-manager" --kubeconfig "$run/kcm.kubeconfig" \
    --authentication-kubeconfig "$run/kcm.kubeconfig" --authorization-kubeconfig "$run/kcm.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$KCM_PORT" --cert-dir "$run/kcm" --leader-elect=false \
    --controllers '*,horizontalpodautoscaling,disruption' --use-service-account-credentials \
    --root-ca-file "$pki/ca.crt" --service-account-private-key-file "$pki/sa.key" \
    --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
    --service-cluster-ip-range "$service_cidr" --profiling=false
  launch kube-scheduler "$bin/kube-scheduler" --kubeconfig "$run/scheduler.kubeconfig" \
    --authentication-kubeconfig "$run/scheduler.kubeconfig" --authorization-kubeconfig "$run/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$SCHEDULER_PORT" --cert-dir "$run/scheduler" --leader-elect=false \
    --profiling=false
  # KWOK: only nodes annotated kwok.x-k8s.io/node=fake; an empty config file keeps ~/.kwok out of it.
  echo "apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options: {}" >"$run/kwok.yaml"
  launch kwok "$bin/kwok" --config "$run/kwok.yaml" --kubeconfig "$run/admin.kubeconfig" \
    --manage-all-nodes=false --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --server-address "127.0.0.1:$KWOK_PORT" --cidr "$pod_cidr" --node-lease-duration-seconds 40

  nodes=${CLUSTER_NODES:-3}
  local i
  for ((i = 0; i < nodes; i++)); do create_node "kwok-node-$i"; done
  wait_for "kube-controller-manager /healthz" 60 healthz "$KCM_PORT"
  wait_for "kube-scheduler /healthz" 60 healthz "$SCHEDULER_PORT"
  wait_for "$nodes Ready nodes" 60 nodes_ready
  # kube-controller-manager answers /healthz long before its controllers run: it starts the shared
  # informers only after starting every controller (~4 s here). The "default" ServiceAccount and the
  # kube-root-ca.crt ConfigMap in namespace default appear once they do.
  wait_for "kube-controller-manager's controllers" 60 controllers_running
  trap - ERR

  if [ -n "${CLUSTER_OWNER_PID:-}" ]; then
    # Watchdog: stop the cluster once the owning process is gone, even if it was killed.
    export CLUSTER_RUN_DIR=$run CLUSTER_BIN_DIR=$bin
    # With CLUSTER_OWNER_CLEAN=1 it also deletes the run dir (a temp dir nobody else will remove).
    local action=stop
    [ "${CLUSTER_OWNER_CLEAN:-}" = 1 ] && action=clean
    launch watchdog bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; bash "$2" "$3"' \
      watchdog "$CLUSTER_OWNER_PID" "$root/infra/cluster/cluster.sh" "$action"
  fi
  cp "$run/admin.kubeconfig" "$run/kubeconfig"
  say "ready in $(python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 1))" "$t0" "$(date +%s.%N)")s:" \
    "API server $api, $nodes KWOK nodes, logs in $logs"
  echo "$run/kubeconfig"
}

do_status() {
  local c rc=0
  for c in "${components[@]}"; do
    if alive "$c" "$bin/$c"; then echo "$c: running (pid $(cat "$pids/$c.pid"))"; else echo "$c: stopped"; rc=3; fi
  done
  if [ -f "$run/ports.env" ] && [ -f "$pki/admin.crt" ]; then
    load_ports
    echo "api server: $api readyz=$(api_curl /readyz 2>/dev/null || echo unreachable)"
  fi
  return $rc
}

# do_gateway_crds: apply config/crd/standard/*.yaml of sigs.k8s.io/gateway-api (the version in go.mod)
# with server-side apply, then wait until each CRD is Established.
do_gateway_crds() {
  load_ports
  local dir f name
  dir=$(cd "$root" && go list -m -f '{{.Dir}}' sigs.k8s.io/gateway-api)
  for f in "$dir"/config/crd/standard/*.yaml; do
    name=$(awk '/^  name: /{print $2; exit}' "$f")
    api_curl "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/$name?fieldManager=temporaldeployer&force=true" \
      -X PATCH -H 'Content-Type: application/apply-patch+yaml' --data-binary "@$f" -o /dev/null -w '' || return 1
  done
  for f in "$dir"/config/crd/standard/*.yaml; do
    name=$(awk '/^  name: /{print $2; exit}' "$f")
    for _ in $(seq 1 60); do
      api_curl "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/$name" | tr -d ' \n' |
        grep -q '"type":"Established","status":"True"' && break
      sleep 0.5
    done
  done
  say "gateway api CRDs installed from $dir"
}

case "${1:-}" in
  start) do_start ;;
  stop) do_stop ;;
  status) do_status ;;
  kubeconfig)
    [ -f "$run/kubeconfig" ] || { say "no kubeconfig yet; run: cluster.sh start"; exit 1; }
    echo "$run/kubeconfig" ;;
  clean) do_stop; rm -rf "$run"; say "removed $run" ;;
  gateway-crds) do_gateway_crds ;;
  *) echo "usage: $0 start|stop|status|kubeconfig|clean" >&2; exit 2 ;;
esac
