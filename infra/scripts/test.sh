#!/usr/bin/env bash
# make test: install what the tests need, start PostgreSQL, run the whole Go suite, stop PostgreSQL.
# Under CI=true no test skips for a missing component: it fails.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
bash infra/scripts/bootstrap.sh || exit 1
# The control plane's first build (~15-20 min cold on 2 cores) stays out of the tests' timing.
bash infra/cluster/build.sh || exit 1
bash infra/scripts/postgres.sh install || exit 1
bash infra/scripts/prometheus.sh install || exit 1
bash infra/scripts/postgres.sh start || exit 1
trap 'bash infra/scripts/postgres.sh stop >/dev/null 2>&1 || true' EXIT
export TEST_POSTGRES_URL
TEST_POSTGRES_URL=$(bash infra/scripts/postgres.sh url)
go test -count=1 -timeout 60m "$@" ./... 2>&1 | tee .cache/test.log
status=${PIPESTATUS[0]}
pass=$(grep -c '^ok ' .cache/test.log || true)
fail=$(grep -cE '^FAIL[[:space:]]+[^[:space:]]' .cache/test.log || true)
echo "go test: $pass packages ok, $fail failed (exit $status)"
exit "$status"
