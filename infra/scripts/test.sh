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
bash infra/scripts/chromium.sh install || exit 1
# The OCI registry the persistence test and the demo run (CNCF distribution, built from the Go
# module proxy into .cache/registry on first use, ~2 min cold).
bash infra/scripts/registry.sh install || exit 1
bash infra/scripts/postgres.sh start || exit 1
trap 'bash infra/scripts/postgres.sh stop >/dev/null 2>&1 || true' EXIT
export TEST_POSTGRES_URL
TEST_POSTGRES_URL=$(bash infra/scripts/postgres.sh url)
# A short fuzzing of each target first (FUZZTIME, 15s each; `make fuzz` runs them long); the suite
# still runs after a fuzz failure, and the exit status counts it.
fuzz_status=0
FUZZTIME=${FUZZTIME:-15s} bash infra/scripts/fuzz.sh || fuzz_status=1
go test -count=1 -timeout 60m "$@" ./... 2>&1 | tee .cache/test.log
status=${PIPESTATUS[0]}
if [ "$fuzz_status" != 0 ] && [ "$status" = 0 ]; then
  echo "fuzz: a target failed (see above): its input is in workflows/testdata/fuzz/"
  status=1
fi
pass=$(grep -c '^ok ' .cache/test.log || true)
fail=$(grep -cE '^FAIL[[:space:]]+[^[:space:]]' .cache/test.log || true)
echo "go test: $pass packages ok, $fail failed (exit $status)"
exit "$status"
