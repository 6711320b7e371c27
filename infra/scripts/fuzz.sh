#!/usr/bin/env bash
# Fuzzes each target for FUZZTIME (default 10m; make test runs 15s each). A failing input is
# written to the package's testdata/fuzz/<Target>/ and becomes a seed for every later `go test`.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
fuzztime=${FUZZTIME:-10m}
status=0
for target in workflows:FuzzNormalize workflows:FuzzSignalPayload; do
  pkg=./${target%%:*} name=${target#*:}
  echo "fuzz: $name ($pkg) for $fuzztime"
  if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg" 2>&1 | tail -n 4; then
    status=1
  fi
done
exit "$status"
