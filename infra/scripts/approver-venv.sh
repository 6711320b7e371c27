#!/usr/bin/env bash
# Installs the Python approver example's pinned dependencies (examples/python-approver/: temporalio,
# cryptography) into their own venv, .cache/venv-approver, apart from .cache/venv (mlflow/bentoml),
# whose `pip check` it leaves alone. Idempotent: a warm machine only compares a stamp. Progress goes
# to stderr; the last line on stdout is the venv's python, so `py=$(infra/scripts/approver-venv.sh)`.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=versions.env
. "$root/infra/scripts/versions.env"
venv="$root/.cache/venv-approver"
req="$root/examples/python-approver/requirements.txt"

want="temporalio==$TEMPORALIO_VERSION cryptography==$CRYPTOGRAPHY_VERSION"
for pin in $want; do
  if ! grep -qxF "$pin" "$req"; then
    echo "approver-venv: $req does not pin $pin as versions.env does" >&2
    exit 1
  fi
done
stamp="$venv/.installed"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/python" ]; then
  echo "approver-venv: up to date in $venv" >&2
  echo "$venv/bin/python"
  exit 0
fi
mkdir -p "$root/.cache"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --disable-pip-version-check -q --upgrade pip >&2
# shellcheck disable=SC2086
"$venv/bin/pip" install --disable-pip-version-check -q $want >&2
"$venv/bin/python" -c 'import temporalio.client, cryptography.hazmat.primitives.asymmetric.ed25519' >&2
"$venv/bin/pip" check >&2
echo "$want" > "$stamp"
echo "approver-venv: installed $want into $venv" >&2
echo "$venv/bin/python"
