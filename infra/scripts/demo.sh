#!/usr/bin/env bash
# make demo: a local Temporal dev server with its Web UI, an MLflow server, a local OCI registry, a
# local Kubernetes control plane (built from the Go module proxy on first use), Prometheus, three
# small real scikit-learn models and the worker (SQLite records); then the whole journey driven
# through the temporal CLI, unattended: staging, a denied skip, production through a measured shadow
# hold and an approval, a canary 5 → 20 → 50 → 100 % judged on measured metrics, and a candidate
# whose canary is slowed (the bento's fault switch) rolled back automatically. KWOK pods run no
# containers, so the loopback harness (its own process, cmd/loopback-harness) serves each workload's
# real bento on 127.0.0.1 and answers for the Services, the worker reaching them through it as through
# an ingress; the load generator (harness) sends real predictions there, split by the live canary
# weight and copied to the shadow.
#   DEMO_SHADOW_HOLD   the shadow hold, shortened for the demo (default 60s; production policy: 24h)
#   DEMO_AUTO_APPROVE  1 (default): the demo approves as alice@example.com with her signing key (tdctl
#                      approve); 0: you run the printed command
#   DEMO_DIR           where the demo's state lives (default .cache/demo, git-ignored)
# Payloads are sealed with a keyring kept in DEMO_DIR (codec-keys.json); the codec server
# (cmd/codec-server, DEMO_CODEC_PORT, default 8081) lets the Web UI and the temporal CLI show them.
# Services keep running for you to look at the Web UI; `make demo-stop` stops them. Every part keeps
# its state in DEMO_DIR, so a second `make demo` goes on where the first stopped: the records
# (deployer.db), the Temporal dev server's history (temporal.db), MLflow (mlflow.db, artifacts/), the
# OCI registry (CNCF distribution, filesystem storage in registry/, infra/scripts/registry.sh), the
# cluster (cluster/: etcd, certificates), Prometheus's TSDB, the worker's bentos (bentoml/), the ledger
# and approver keys. The harness and the load generator keep nothing: they start from what the cluster
# runs (the harness on a fixed port, DEMO_INGRESS_PORT, default 5080, so kept endpoint URLs answer).
# The demo checks that the registry answers every image the records and the cluster name
# (demo-images.py).
# `make demo-clean` stops the demo and deletes DEMO_DIR: the next `make demo` starts from nothing.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
demo=${DEMO_DIR:-.cache/demo}
case "$demo" in /*) ;; *) demo=$root/$demo ;; esac
# The state's layout; a DEMO_DIR without this stamp (or with another) is started clean.
layout="2: OCI registry CNCF distribution, filesystem storage in registry/"
bin=.cache/venv/bin
TEMPORAL_PORT=${DEMO_TEMPORAL_PORT:-7233}
UI_PORT=${DEMO_UI_PORT:-8233}
MLFLOW_PORT=${DEMO_MLFLOW_PORT:-5000}
OCI_PORT=${DEMO_OCI_PORT:-5001}
PROM_PORT=${DEMO_PROMETHEUS_PORT:-9090}
WORKER_METRICS_PORT=${DEMO_WORKER_METRICS_PORT:-9464}
CODEC_PORT=${DEMO_CODEC_PORT:-8081}
codec_url=http://127.0.0.1:$CODEC_PORT
# The harness's ingress: a fixed port, so the endpoint URLs the records keep still answer next time.
INGRESS_PORT=${DEMO_INGRESS_PORT:-5080}
SHADOW_HOLD=${DEMO_SHADOW_HOLD:-60s}
AUTO_APPROVE=${DEMO_AUTO_APPROVE:-1}
export CLUSTER_RUN_DIR=$demo/cluster
address=127.0.0.1:$TEMPORAL_PORT
mlflow_uri=http://127.0.0.1:$MLFLOW_PORT

stop() {
  # The worker goes first and is waited for (its stop timeout, then -9), then the harness, whose
  # model servers stop with it (each is told by the kernel when its starter dies).
  for p in "$demo"/worker.pid "$demo"/harness.pid "$demo"/*.pid; do
    [ -f "$p" ] || continue
    pid=$(cat "$p")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 80); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$p"
  done
  bash infra/scripts/prometheus.sh stop "$demo/prometheus" >/dev/null 2>&1 || true
  bash infra/scripts/registry.sh stop "$demo/registry" >/dev/null 2>&1 || true
  bash infra/cluster/cluster.sh stop >/dev/null 2>&1 || true
  echo "demo: stopped"
}
case "${1:-}" in
  stop) stop; exit 0 ;;
  clean) stop; rm -rf "$demo"; echo "demo: removed $demo; the next demo starts from nothing"; exit 0 ;;
esac
stop >/dev/null
if [ -d "$demo" ] && [ "$(cat "$demo/LAYOUT" 2>/dev/null)" != "$layout" ]; then
  # A demo from before the registry kept its manifests (go-containerregistry's in-memory one): its
  # records and cluster name images no registry has any more.
  echo "demo: $demo holds an earlier demo's state in another layout (its registry lost its manifests); starting clean"
  rm -rf "$demo"
fi
if [ -f "$demo/LAYOUT" ]; then
  echo "demo: going on from the state in $demo (records, Temporal, MLflow, registry, cluster); make demo-clean starts from nothing"
fi
mkdir -p "$demo"
echo "$layout" >"$demo/LAYOUT"

wait_http() { # url, what
  for _ in $(seq 1 120); do curl -fs -o /dev/null "$1" && return 0; sleep 1; done
  echo "demo: $2 did not come up; see $demo/*.log" >&2; exit 1
}
run() { echo "\$ $*"; "$@"; }

echo "== payloads sealed (AES-256-GCM): the keyring $demo/codec-keys.json, the codec server on $codec_url for the Web UI and the CLI"
go build -o "$demo/tdctl" ./cmd/tdctl
go build -o "$demo/codec-server" ./cmd/codec-server
# Kept with the rest of the state: the history a kept temporal.db holds was sealed with it.
[ -s "$demo/codec-keys.json" ] || "$demo/tdctl" codec-key -keyring "$demo/codec-keys.json" -id "demo-$(date +%Y%m%d)" | sed 's/^/   /'
DEPLOYER_CODEC_KEYS="$demo/codec-keys.json" DEPLOYER_CODEC_ADDR="127.0.0.1:$CODEC_PORT" \
  DEPLOYER_CODEC_ORIGINS="http://127.0.0.1:$UI_PORT,http://localhost:$UI_PORT" \
  "$demo/codec-server" >"$demo/codec-server.log" 2>&1 &
echo $! >"$demo/codec-server.pid"
# The worker and tdctl seal and open with the keyring; the temporal CLI goes through the codec server.
export DEPLOYER_CODEC_KEYS="$demo/codec-keys.json" TEMPORAL_CODEC_ENDPOINT="$codec_url"
echo "== starting the Temporal dev server (Web UI on http://127.0.0.1:$UI_PORT, decoding through $codec_url)"
sa=(); for n in DeploymentName ModelVersion TargetEnvironment DeploymentStage; do sa+=(--search-attribute "$n=Keyword"); done
"$bin/temporal" server start-dev --ip 127.0.0.1 --port "$TEMPORAL_PORT" --ui-port "$UI_PORT" --ui-codec-endpoint "$codec_url" \
  --db-filename "$demo/temporal.db" "${sa[@]}" --log-level error >"$demo/temporal.log" 2>&1 &
echo $! >"$demo/temporal.pid"
echo "== starting MLflow on $mlflow_uri"
"$bin/mlflow" server --backend-store-uri "sqlite:///$demo/mlflow.db" --default-artifact-root "$demo/artifacts" \
  --host 127.0.0.1 --port "$MLFLOW_PORT" --workers 1 >"$demo/mlflow.log" 2>&1 &
echo $! >"$demo/mlflow.pid"
echo "== starting a local OCI registry on 127.0.0.1:$OCI_PORT (CNCF distribution, storage in $demo/registry/storage)"
bash infra/scripts/registry.sh install
bash infra/scripts/registry.sh start "$demo/registry" "$OCI_PORT"
echo "== the local Kubernetes control plane (first build: ~15-20 min, then cached)"
bash infra/cluster/build.sh
kubeconfig=$(bash infra/cluster/cluster.sh start | tail -n 1)
bash infra/cluster/cluster.sh gateway-crds
if [ -f "$demo/deployer.db" ]; then
  echo "== the kept records and cluster name these images; the registry must answer each (a registry HEAD by digest)"
  python3 infra/scripts/demo-images.py "$demo/deployer.db" "$CLUSTER_RUN_DIR" || {
    echo "demo: the registry lacks images the records or the cluster name; start clean with: make demo-clean" >&2
    exit 1
  }
fi
echo "== starting Prometheus on http://127.0.0.1:$PROM_PORT (scrapes the model servers the harness lists, and the worker's metrics on 127.0.0.1:$WORKER_METRICS_PORT)"
bash infra/scripts/prometheus.sh install
# The harness keeps nothing (its URL file, model servers' dirs): it starts again from the cluster.
rm -rf "$demo/harness"
mkdir -p "$demo/prometheus" "$demo/harness"
echo '[]' >"$demo/harness/targets.json"
bash infra/scripts/prometheus.sh start "$demo/prometheus" "$PROM_PORT" "$demo/harness/targets.json" "127.0.0.1:$WORKER_METRICS_PORT"
wait_http "http://127.0.0.1:$UI_PORT" "the Temporal Web UI"
wait_http "$mlflow_uri/health" "MLflow"
wait_http "$codec_url/healthz" "the codec server"

name=fraud-detector
# The registry versions this demo's four models will get: after a kept state's, v<n+1>..v<n+4>.
base=$("$bin/python" -c '
import json, sys, urllib.error, urllib.parse, urllib.request
q = urllib.parse.urlencode({"filter": "name=\x27%s\x27" % sys.argv[2], "max_results": 10000})
try:
    found = json.load(urllib.request.urlopen(sys.argv[1] + "/api/2.0/mlflow/model-versions/search?" + q))
except urllib.error.HTTPError:
    found = {}
print(max([int(v["version"]) for v in found.get("model_versions", [])], default=0))' "$mlflow_uri" "$name")
v1n=$((base + 1)) v2n=$((base + 2)) v3n=$((base + 3)) v4n=$((base + 4))
echo "== logging four small real scikit-learn models to MLflow (v$v1n..v$v4n), each with a model card, test evidence and a drift reference profile"
field() { "$bin/python" -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
uris=()
for _ in 1 2 3 4; do
  model=$(MLFLOW_TRACKING_URI=$mlflow_uri "$bin/python" tests/realparts/log_model.py demo | tail -n 1)
  uris+=("runs:/$(echo "$model" | field run_id)/model")
  experiment=$(echo "$model" | field experiment_id)
done
echo "models: ${uris[*]} (experiment $experiment)"

echo "== starting the worker (records in $demo/deployer.db, metrics from Prometheus)"
go build -o "$demo/worker" ./cmd/worker
go build -o "$demo/loadgen" ./cmd/loadgen
go build -o "$demo/loopback-harness" ./cmd/loopback-harness
echo "== the worker's own OCI image (cmd/worker-image, no Docker engine), pushed by digest to the demo's registry"
worker_image=$(go run ./cmd/worker-image -repository "127.0.0.1:$OCI_PORT/temporaldeployer/worker" -insecure 2>"$demo/worker-image.log") ||
  { cat "$demo/worker-image.log" >&2; echo "demo: the worker's image did not build or push" >&2; exit 1; }
echo "   $worker_image ($(sed -n 's/.*(\([0-9]*\) bytes.*/\1/p' "$demo/worker-image.log") bytes to pull)"
echo "   for a cluster: kustomize edit set image temporaldeployer-worker=$worker_image; kubectl apply -k deploy"
cat <<TXT
   Shortened for the demo (the production defaults in brackets):
     shadow hold $SHADOW_HOLD [24h], sampled every 10s [5m], needing 500 requests [1000];
     canary holds 15s [10m], at least 10 canary requests per analysis [50], extended up to 6 times [3]
     (a p99 is judged over 200 canary requests, whatever the minimum).
   The harness slows v$v3n's canary (TD_FAULT_LATENCY_MS=200 on its model server) so its analysis fails.
TXT
echo "== an approver key for alice@example.com (tdctl keygen) and the worker's approver policy: production needs her signed approval"
mkdir -p "$demo/approvers"
# Kept from an earlier demo: her key (and the policy naming it) verify that demo's approvals too.
[ -s "$demo/approvers/policy.json" ] && [ -s "$demo/approvers/alice.jwk" ] ||
"$demo/tdctl" keygen -kid alice-demo -out "$demo/approvers/alice.jwk" -approver alice@example.com | "$bin/python" -c '
import json, sys
text, docs, dec, i = sys.stdin.read(), [], json.JSONDecoder(), 0
while text[i:].strip():
    doc, i = dec.raw_decode(text, len(text) - len(text[i:].lstrip()))
    docs.append(doc)
policy = {"approvers": [docs[-1]], "environments": {"production": {"approvers": ["alice@example.com"], "required": 1, "max_age": "1h"}}}
json.dump(policy, sys.stdout, indent=2)' >"$demo/approvers/policy.json"
echo "   private key $demo/approvers/alice.jwk; policy $demo/approvers/policy.json (DEPLOYER_APPROVERS_FILE)"
echo "== starting the loopback harness (a test and demo aid): the model servers of namespace models, behind one ingress URL"
"$demo/loopback-harness" -kubeconfig "$kubeconfig" -namespace models -url-file "$demo/harness/url" -dir "$demo/harness" \
  -listen "127.0.0.1:$INGRESS_PORT" \
  -bentoml "$bin/bentoml" -insecure -targets "$demo/harness/targets.json" -faults "$v3n/canary:TD_FAULT_LATENCY_MS=200" \
  >"$demo/harness.log" 2>&1 &
echo $! >"$demo/harness.pid"
for _ in $(seq 1 120); do [ -s "$demo/harness/url" ] && break; sleep 0.5; done
[ -s "$demo/harness/url" ] || { echo "demo: the loopback harness did not start; see $demo/harness.log" >&2; exit 1; }
ingress=$(cat "$demo/harness/url")
echo "   ingress $ingress/<service>/... (DEPLOYER_ENDPOINTS=ingress)"
export DATABASE_URL="$demo/deployer.db" DEPLOYER_LEDGER_KEY="$demo/ledger/worker.jwk"
TEMPORAL_ADDRESS=$address MLFLOW_TRACKING_URI=$mlflow_uri \
  KUBECONFIG="$kubeconfig" DEPLOYER_ENDPOINTS=ingress DEPLOYER_INGRESS_URL="$ingress" DEPLOYER_PROBE_TIMEOUT=60s \
  DEPLOYER_PROMETHEUS_URL="http://127.0.0.1:$PROM_PORT" DEPLOYER_APPROVERS_FILE="$demo/approvers/policy.json" \
  DEPLOYER_METRICS_ADDR="127.0.0.1:$WORKER_METRICS_PORT" \
  DEPLOYER_OCI_REPOSITORY="127.0.0.1:$OCI_PORT/models" DEPLOYER_OCI_INSECURE=true DEPLOYER_BENTOML_HOME="$demo/bentoml" \
  DEPLOYER_SHADOW_HOLD_MIN="$SHADOW_HOLD" DEPLOYER_SHADOW_HOLD_DEFAULT="$SHADOW_HOLD" DEPLOYER_SHADOW_MIN_DURATION="$SHADOW_HOLD" \
  DEPLOYER_SHADOW_MIN_REQUESTS=500 DEPLOYER_SHADOW_SAMPLE_EVERY=10s \
  DEPLOYER_CANARY_HOLD_MIN=5s DEPLOYER_CANARY_HOLD_DEFAULT=15s DEPLOYER_CANARY_MIN_REQUESTS_FLOOR=5 DEPLOYER_CANARY_SAMPLE_EVERY=3s DEPLOYER_CANARY_WARMUP=3s DEPLOYER_SCALE_DOWN_DELAY=2s \
  "$demo/worker" >"$demo/worker.log" 2>&1 &
echo $! >"$demo/worker.pid"
sleep 2

echo "== starting the load generator (harness): 40 predictions/s (rows drawn from the models' training distribution) for at most 30 min, split by the canary weight read from the cluster, copied to the shadow"
echo 0 >"$demo/shadow-shift"
KUBECONFIG="$kubeconfig" "$demo/loadgen" -targets "$demo/harness/targets.json" -deployment "$name" \
  -rate 40 -count 72000 -duration 30m -inputs 3 -shadow-shift-file "$demo/shadow-shift" -weight-from-cluster \
  >"$demo/loadgen.log" 2>&1 &
echo $! >"$demo/loadgen.pid"

common="\"experiment_id\":\"$experiment\",\"deployment_name\":\"$name\",\"validation_metrics\":{\"accuracy\":0.93},\"success_criteria_met\":true,\"requested_by\":\"demo@example.com\",\"resources\":{\"cpu\":\"500m\",\"memory\":\"512Mi\"},\"canary_analysis\":{\"min_requests\":10,\"max_extensions\":6}"
tctl() { "$bin/temporal" "$@" --address "$address"; }
execute() { # id, json
  echo "\$ temporal workflow execute --type ModelDeployment --task-queue model-deployments --workflow-id $1 --input '$2'"
  local out; out=$(tctl workflow execute --type ModelDeployment --task-queue model-deployments --workflow-id "$1" --input "$2" 2>&1 || true)
  printf '%s\n' "$out" | sed -n '/^Results:/,$p'
  if [[ $out == *"Encoded failure"* ]]; then
    # The failure's message is sealed too; the temporal CLI does not open failures through the codec
    # server (the Web UI does), tdctl opens them with the keyring.
    echo "   the failure, opened by tdctl status:"
    "$demo/tdctl" status "$1" | sed 's/^/   /'
  fi
}
approve_when_waiting() { # id [show-forgery]
  for _ in $(seq 1 300); do
    tctl workflow query --workflow-id "$1" --name status 2>/dev/null | grep -q '"waiting_for":"approval"' && break
    # A run that ended before waiting (refused, or blocked in the shadow) needs no approval.
    # (Read whole first: with pipefail, grep -q closing the pipe early would fail the describe.)
    local described; described=$(tctl workflow describe --workflow-id "$1" --output json 2>/dev/null || true)
    [[ $described == *STATUS_RUNNING* ]] || return 0
    sleep 2
  done
  if [ "${2:-}" = show-forgery ]; then
    echo "   an unsigned approval (a name anyone can type) is rejected, and the run goes on waiting:"
    run "$bin/temporal" workflow update execute --workflow-id "$1" --name approve \
      --input '{"approver":"mallory@evil.example","comment":"ship it"}' --address "$address" 2>&1 | sed 's/^/   /' || true
  fi
  local cmd=("$demo/tdctl" approve -key "$demo/approvers/alice.jwk" -approver alice@example.com -comment "measured shadow looks good" "$1")
  echo "   waiting for approval; to approve: TEMPORAL_ADDRESS=$address $(printf '%q ' "${cmd[@]}")"
  if [ "$AUTO_APPROVE" = 1 ]; then TEMPORAL_ADDRESS=$address run "${cmd[@]}"; fi
}
deploy_production() { # id, uri [show-forgery]
  tctl workflow start --type ModelDeployment --task-queue model-deployments --workflow-id "$1" \
    --input "{\"model_uri\":\"$2\",$common,\"target_environment\":\"production\"}" >/dev/null
  approve_when_waiting "$1" "${3:-}"
  tctl workflow result --workflow-id "$1" 2>&1 | tail -n 25 || true
}
ledger() { # id, gates...
  local id=$1; shift
  for g in "$@"; do "$demo/tdctl" ledger -gate "$g" "$id" | sed 's/^/   /'; done
}
ts=$(date +%s)
started=$(date +%s)

echo; echo "== 1. deploy v$v1n to staging: register, package (BentoML → OCI, digest-pinned), roll out, probe with a synthetic inference"
execute "deploy-$name-staging-$ts" "{\"model_uri\":\"${uris[0]}\",$common,\"target_environment\":\"staging\"}"
echo; echo "== 2. a skip is denied: promote v$v1n from Staging straight to Production"
execute "promote-$name-skip-$ts" "{\"model_uri\":\"${uris[0]}\",$common,\"deployment_action\":\"promote\",\"target_environment\":\"production\"}"
echo; echo "== 3. deploy v$v1n to production: the Shadow rung (mirrored traffic, a measured $SHADOW_HOLD hold), approval"
v1="deploy-$name-production-v$v1n-$ts"; deploy_production "$v1" "${uris[0]}" show-forgery
echo; echo "== 4. deploy v$v2n to production: staging, measured shadow, approval, canary 5 → 20 → 50 → 100 % with analysis"
v2="deploy-$name-production-v$v2n-$ts"; deploy_production "$v2" "${uris[1]}"
echo; echo "== 5. deploy v$v3n to production: its canary is slowed, the analysis fails, stable v$v2n is back at 100 % at once"
v3="deploy-$name-production-v$v3n-$ts"; deploy_production "$v3" "${uris[2]}"
echo; echo "== 6. deploy v$v4n to production while the shadow's copies come from a shifted distribution (+1.5 σ): the drift gate blocks it in the shadow"
echo 1.5 >"$demo/shadow-shift"
v4="deploy-$name-production-v$v4n-$ts"; deploy_production "$v4" "${uris[3]}"
echo 0 >"$demo/shadow-shift"

echo; echo "== the evidence, as measured (tdctl ledger <workflow-id>)"
echo "-- v$v1n: registry evidence (R1 tests, R10 model card, R11 drift profile, R12 pinned), shadow, drift and approvals (the unsigned one rejected, alice's verified)"
ledger "$v1" R1_test_evidence R10_model_card R11_drift_profile R12_pinned_requirements shadow_criteria drift approval
echo "-- v$v2n: shadow and each canary step"; ledger "$v2" shadow_criteria canary_analysis
echo "-- v$v3n: the failed canary step and the verified rollback"; ledger "$v3" canary_analysis rollback_verified
echo "-- v$v4n: the drift gate, per feature"; ledger "$v4" drift
echo; echo "== the ledger is sealed (chained and signed by the worker's key): tdctl verify recomputes every chain"
"$demo/tdctl" verify | sed 's/^/   /'
echo "== Temporal holds only sealed payloads: v$v1n's input read raw (no codec server) and through the codec server"
raw=$(env -u TEMPORAL_CODEC_ENDPOINT "$bin/temporal" workflow show --workflow-id "$v1" --output json --address "$address" 2>/dev/null || true)
opened=$(tctl workflow show --workflow-id "$v1" --output json 2>/dev/null || true)
for view in raw opened; do
  printf '%s' "${!view}" | "$bin/python" -c '
import base64, json, sys
p = json.load(sys.stdin)["events"][0]["workflowExecutionStartedEventAttributes"]["input"]["payloads"][0]
enc, data = base64.b64decode(p["metadata"]["encoding"]).decode(), base64.b64decode(p["data"])
print("   %-7s encoding %-17s %s" % (sys.argv[1], enc, data[:90].decode("utf-8", "replace") if enc == "json/plain" else "%d sealed bytes" % len(data)))' "$view" || true
done
echo "== every image the records and the cluster name is in the registry (kept for the next make demo)"
python3 infra/scripts/demo-images.py "$demo/deployer.db" "$CLUSTER_RUN_DIR" || true
echo "   journey took $(( $(date +%s) - started )) s"

cat <<TXT

== done. Still running for you to look at:
   Temporal Web UI : http://127.0.0.1:$UI_PORT/namespaces/default/workflows
   MLflow          : $mlflow_uri/#/models/$name   (shadow evidence as temporaldeployer.shadow.* version tags)
   Prometheus      : http://127.0.0.1:$PROM_PORT/graph   (the worker's own: deployer_deployments_total, deployer_gate_verdicts_total, …)
   worker metrics  : http://127.0.0.1:$WORKER_METRICS_PORT/metrics
   codec server    : $codec_url   (payloads in Temporal are sealed; the Web UI and the CLI decode through it:
                     TEMPORAL_CODEC_ENDPOINT=$codec_url temporal workflow show ...; keyring $demo/codec-keys.json)
   kubeconfig      : $kubeconfig   (namespace models)
   OCI registry    : 127.0.0.1:$OCI_PORT/models   (the models' images), and the worker's: $worker_image
   records (SQLite): $demo/deployer.db   (tdctl ledger <workflow-id>; tables ml_deployments, ml_model_registry, evidence_ledger)
   logs            : $demo/*.log
   state           : $demo   (kept: a second make demo goes on from it; make demo-clean deletes it)
   stop with       : make demo-stop
TXT
