#!/usr/bin/env bash
# make demo: a local Temporal dev server with its Web UI, an MLflow server, a small real
# scikit-learn model, and the worker (SQLite records); then deployments driven through the temporal
# CLI, as far as the landed backends allow. Services keep running for you to look at the Web UI;
# `make demo-stop` stops them. Everything lives under .cache/demo (git-ignored).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
demo=.cache/demo
bin=.cache/venv/bin
TEMPORAL_PORT=${DEMO_TEMPORAL_PORT:-7233}
UI_PORT=${DEMO_UI_PORT:-8233}
MLFLOW_PORT=${DEMO_MLFLOW_PORT:-5000}
address=127.0.0.1:$TEMPORAL_PORT
mlflow_uri=http://127.0.0.1:$MLFLOW_PORT

stop() {
  for p in "$demo"/*.pid; do
    [ -f "$p" ] || continue
    kill "$(cat "$p")" 2>/dev/null || true
    rm -f "$p"
  done
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
wait_http "http://127.0.0.1:$UI_PORT" "the Temporal Web UI"
wait_http "$mlflow_uri/health" "MLflow"

echo "== logging a small real scikit-learn model to MLflow"
model=$(MLFLOW_TRACKING_URI=$mlflow_uri "$bin/python" tests/realparts/log_model.py demo | tail -n 1)
run_id=$(echo "$model" | "$bin/python" -c 'import json,sys; print(json.load(sys.stdin)["run_id"])')
experiment=$(echo "$model" | "$bin/python" -c 'import json,sys; print(json.load(sys.stdin)["experiment_id"])')
uri="runs:/$run_id/model"
echo "model: $uri (experiment $experiment)"

echo "== starting the worker (records in $demo/deployer.db)"
go build -o "$demo/worker" ./cmd/worker
TEMPORAL_ADDRESS=$address MLFLOW_TRACKING_URI=$mlflow_uri DATABASE_URL="$demo/deployer.db" \
  "$demo/worker" >"$demo/worker.log" 2>&1 &
echo $! >"$demo/worker.pid"
sleep 2

name=fraud-detector
base="\"model_uri\":\"$uri\",\"experiment_id\":\"$experiment\",\"deployment_name\":\"$name\",\"validation_metrics\":{\"accuracy\":0.93},\"success_criteria_met\":true,\"requested_by\":\"demo@example.com\""
evidence='"shadow_mode_duration_hours":26,"shadow_mode_requests":18000,"shadow_mode_error_rate":0.002,"shadow_mode_latency_p99_ms":84'
tctl() { "$bin/temporal" "$@" --address "$address"; }
execute() { # id, json
  echo "\$ temporal workflow execute --type ModelDeployment --task-queue model-deployments --workflow-id $1 --input '$2'"
  tctl workflow execute --type ModelDeployment --task-queue model-deployments --workflow-id "$1" --input "$2" || true
}
ts=$(date +%s)

echo; echo "== 1. promote: None → Staging (registry only)"
execute "promote-$name-staging-$ts" "{$base,\"deployment_action\":\"promote\",\"target_environment\":\"staging\"}"
echo; echo "== 2. a skip is denied: promote to production from Staging"
execute "promote-$name-skip-$ts" "{$base,\"deployment_action\":\"promote\",\"target_environment\":\"production\"}"
echo; echo "== 3. deploy to staging: needs the packaging and cluster backends, which have not landed yet"
execute "deploy-$name-staging-$ts" "{$base,\"deployment_action\":\"deploy\",\"target_environment\":\"staging\"}"
echo; echo "== 4. promote: Staging → Shadow"
execute "promote-$name-shadow-$ts" "{$base,\"deployment_action\":\"promote\",\"target_environment\":\"shadow\"}"
echo; echo "== 5. promote: Shadow → Production with shadow evidence; it waits for a human approval"
id="promote-$name-production-$ts"
tctl workflow start --type ModelDeployment --task-queue model-deployments --workflow-id "$id" \
  --input "{$base,\"deployment_action\":\"promote\",\"target_environment\":\"production\",$evidence}" >/dev/null
sleep 3
run "$bin/temporal" workflow query --workflow-id "$id" --name status --address "$address"
run "$bin/temporal" workflow signal --workflow-id "$id" --name approve --input '{"approver":"alice@example.com","comment":"shadow metrics look good"}' --address "$address"
run "$bin/temporal" workflow result --workflow-id "$id" --address "$address"

cat <<TXT

== done. Still running for you to look at:
   Temporal Web UI : http://127.0.0.1:$UI_PORT/namespaces/default/workflows
   MLflow          : $mlflow_uri/#/models/$name
   records (SQLite): $demo/deployer.db   (tables ml_deployments, ml_model_registry, evidence_ledger)
   logs            : $demo/*.log
   stop with       : make demo-stop
TXT
