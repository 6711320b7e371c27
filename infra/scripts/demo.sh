#!/usr/bin/env bash
# make demo: a local Temporal dev server with its Web UI, an MLflow server, a local OCI registry, a
# local Kubernetes control plane (built from the Go module proxy on first use), two small real
# scikit-learn models and the worker (SQLite records); then deployments driven through the temporal
# CLI: staging, a denied skip, production through shadow and approval, and a canary. KWOK pods run no
# containers, so the worker's loopback harness serves each workload's real bento on 127.0.0.1.
# Services keep running for you to look at the Web UI; `make demo-stop` stops them. Everything lives
# under .cache/demo (git-ignored).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
demo=.cache/demo
bin=.cache/venv/bin
TEMPORAL_PORT=${DEMO_TEMPORAL_PORT:-7233}
UI_PORT=${DEMO_UI_PORT:-8233}
MLFLOW_PORT=${DEMO_MLFLOW_PORT:-5000}
OCI_PORT=${DEMO_OCI_PORT:-5001}
export CLUSTER_RUN_DIR=$root/$demo/cluster
address=127.0.0.1:$TEMPORAL_PORT
mlflow_uri=http://127.0.0.1:$MLFLOW_PORT

stop() {
  for p in "$demo"/worker.pid "$demo"/*.pid; do
    [ -f "$p" ] || continue
    kill "$(cat "$p")" 2>/dev/null || true
    rm -f "$p"
    sleep 1
  done
  bash infra/cluster/cluster.sh stop >/dev/null 2>&1 || true
  echo "demo: stopped"
}
if [ "${1:-}" = stop ]; then stop; exit 0; fi
stop >/dev/null
mkdir -p "$demo"

wait_http() { # url, what
  for _ in $(seq 1 120); do curl -fs -o /dev/null "$1" && return 0; sleep 1; done
  echo "demo: $2 did not come up; see $demo/*.log" >&2; exit 1
}
run() { echo "\$ $*"; "$@"; }

echo "== starting the Temporal dev server (Web UI on http://127.0.0.1:$UI_PORT)"
sa=(); for n in DeploymentName ModelVersion TargetEnvironment DeploymentStage; do sa+=(--search-attribute "$n=Keyword"); done
"$bin/temporal" server start-dev --ip 127.0.0.1 --port "$TEMPORAL_PORT" --ui-port "$UI_PORT" \
  --db-filename "$demo/temporal.db" "${sa[@]}" --log-level error >"$demo/temporal.log" 2>&1 &
echo $! >"$demo/temporal.pid"
echo "== starting MLflow on $mlflow_uri"
"$bin/mlflow" server --backend-store-uri "sqlite:///$root/$demo/mlflow.db" --default-artifact-root "$root/$demo/artifacts" \
  --host 127.0.0.1 --port "$MLFLOW_PORT" --workers 1 >"$demo/mlflow.log" 2>&1 &
echo $! >"$demo/mlflow.pid"
echo "== starting a local OCI registry on 127.0.0.1:$OCI_PORT"
go build -o "$demo/ociregistry" ./cmd/ociregistry
"$demo/ociregistry" -addr "127.0.0.1:$OCI_PORT" -dir "$demo/oci" >"$demo/ociregistry.log" 2>&1 &
echo $! >"$demo/ociregistry.pid"
echo "== the local Kubernetes control plane (first build: ~15-20 min, then cached)"
bash infra/cluster/build.sh
kubeconfig=$(bash infra/cluster/cluster.sh start | tail -n 1)
bash infra/cluster/cluster.sh gateway-crds
wait_http "http://127.0.0.1:$UI_PORT" "the Temporal Web UI"
wait_http "$mlflow_uri/health" "MLflow"

echo "== logging two small real scikit-learn models to MLflow"
field() { "$bin/python" -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
model=$(MLFLOW_TRACKING_URI=$mlflow_uri "$bin/python" tests/realparts/log_model.py demo | tail -n 1)
uri="runs:/$(echo "$model" | field run_id)/model"
experiment=$(echo "$model" | field experiment_id)
model2=$(MLFLOW_TRACKING_URI=$mlflow_uri "$bin/python" tests/realparts/log_model.py demo | tail -n 1)
uri2="runs:/$(echo "$model2" | field run_id)/model"
echo "models: $uri and $uri2 (experiment $experiment)"

echo "== starting the worker (records in $demo/deployer.db)"
go build -o "$demo/worker" ./cmd/worker
# The demo lowers the policy's minimum holds so a shadow hold lasts 20 s and a canary step 5 s.
TEMPORAL_ADDRESS=$address MLFLOW_TRACKING_URI=$mlflow_uri DATABASE_URL="$demo/deployer.db" \
  KUBECONFIG="$kubeconfig" DEPLOYER_ENDPOINTS=loopback-harness DEPLOYER_HARNESS_DIR="$demo/harness" \
  DEPLOYER_OCI_REPOSITORY="127.0.0.1:$OCI_PORT/models" DEPLOYER_OCI_INSECURE=true \
  DEPLOYER_SHADOW_HOLD_MIN=20s DEPLOYER_SHADOW_HOLD_DEFAULT=20s DEPLOYER_CANARY_HOLD_MIN=5s \
  DEPLOYER_CANARY_HOLD_DEFAULT=5s DEPLOYER_SCALE_DOWN_DELAY=2s \
  "$demo/worker" >"$demo/worker.log" 2>&1 &
echo $! >"$demo/worker.pid"
sleep 2

name=fraud-detector
common="\"experiment_id\":\"$experiment\",\"deployment_name\":\"$name\",\"validation_metrics\":{\"accuracy\":0.93},\"success_criteria_met\":true,\"requested_by\":\"demo@example.com\",\"resources\":{\"cpu\":\"500m\",\"memory\":\"512Mi\"}"
evidence='"shadow_mode_duration_hours":26,"shadow_mode_requests":18000,"shadow_mode_error_rate":0.002,"shadow_mode_latency_p99_ms":84,"shadow_hold":"20s","canary_hold":"5s"'
tctl() { "$bin/temporal" "$@" --address "$address"; }
execute() { # id, json
  echo "\$ temporal workflow execute --type ModelDeployment --task-queue model-deployments --workflow-id $1 --input '$2'"
  tctl workflow execute --type ModelDeployment --task-queue model-deployments --workflow-id "$1" --input "$2" 2>&1 | sed -n '/^Results:/,$p' || true
}
approve_when_waiting() { # id
  for _ in $(seq 1 120); do
    tctl workflow query --workflow-id "$1" --name status 2>/dev/null | grep -q '"waiting_for":"approval"' && break
    sleep 2
  done
  run "$bin/temporal" workflow query --workflow-id "$1" --name status --address "$address"
  run "$bin/temporal" workflow signal --workflow-id "$1" --name approve --input '{"approver":"alice@example.com","comment":"shadow metrics look good"}' --address "$address"
}
ts=$(date +%s)

echo; echo "== 1. deploy v1 to staging: register, package (BentoML → OCI, digest-pinned), roll out, probe"
execute "deploy-$name-staging-$ts" "{\"model_uri\":\"$uri\",$common,\"target_environment\":\"staging\"}"
echo; echo "== 2. a skip is denied: promote v1 from Staging straight to Production"
execute "promote-$name-skip-$ts" "{\"model_uri\":\"$uri\",$common,\"deployment_action\":\"promote\",\"target_environment\":\"production\"}"
echo; echo "== 3. deploy v1 to production: the Shadow rung (mirror + 20 s hold), then approval"
id="deploy-$name-production-v1-$ts"
tctl workflow start --type ModelDeployment --task-queue model-deployments --workflow-id "$id" \
  --input "{\"model_uri\":\"$uri\",$common,\"target_environment\":\"production\",$evidence}" >/dev/null
approve_when_waiting "$id"
run "$bin/temporal" workflow result --workflow-id "$id" --address "$address"
echo; echo "== 4. deploy v2 to production: staging, shadow, approval, then a canary 5 → 20 → 50 → 100 %"
id="deploy-$name-production-v2-$ts"
tctl workflow start --type ModelDeployment --task-queue model-deployments --workflow-id "$id" \
  --input "{\"model_uri\":\"$uri2\",$common,\"target_environment\":\"production\",$evidence}" >/dev/null
approve_when_waiting "$id"
sleep 12
run "$bin/temporal" workflow query --workflow-id "$id" --name status --address "$address"
run "$bin/temporal" workflow result --workflow-id "$id" --address "$address"

cat <<TXT

== done. Still running for you to look at:
   Temporal Web UI : http://127.0.0.1:$UI_PORT/namespaces/default/workflows
   MLflow          : $mlflow_uri/#/models/$name
   kubeconfig      : $kubeconfig   (namespace models)
   OCI registry    : 127.0.0.1:$OCI_PORT/models
   records (SQLite): $demo/deployer.db   (tables ml_deployments, ml_model_registry, evidence_ledger)
   logs            : $demo/*.log
   stop with       : make demo-stop
TXT
