#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and CI, in .cache/pg (git-ignored).
#   install  apt-get install the pinned Debian package (POSTGRES_DEBIAN_PACKAGE) if its binaries are missing
#   start    initdb (first time) and start the cluster on 127.0.0.1:${PGPORT:-55432} with trust auth,
#            create database deployer_test; does nothing if the cluster is already running
#   stop     stop the cluster (if running)
#   status   say whether it runs
#   url      print the database URL for TEST_POSTGRES_URL / DATABASE_URL
# As root, the cluster is owned by and run as the `postgres` OS user (initdb refuses root); under a
# private parent directory it lives in /var/tmp/temporaldeployer-pg-<hash of the clone's path>.
# PG_DIR (with PGPORT) runs another cluster in that directory instead: a test's own instance, which
# it may stop and start without disturbing the others.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=versions.env
. "$root/infra/scripts/versions.env"

pkg=$POSTGRES_DEBIAN_PACKAGE
major=${pkg#postgresql-}
bin=/usr/lib/postgresql/$major/bin
port=${PGPORT:-55432}
db=deployer_test
pgdir="$root/.cache/pg"
# As root the cluster runs as `postgres`, which cannot reach a clone under a private parent (root's
# home, any 0700 directory): the cluster then lives in a postgres-owned directory keyed by the clone.
if [ -n "${PG_DIR:-}" ]; then
  pgdir=$PG_DIR
elif [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$root" 2>/dev/null; then
  pgdir="/var/tmp/temporaldeployer-pg-$(printf %s "$root" | sha256sum | cut -c1-12)"
fi
data="$pgdir/data"
log="$pgdir/postgres.log"

say() { echo "postgres.sh: $*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# as_pg runs a command as the cluster owner: `postgres` when we are root, ourselves otherwise.
as_pg() {
  # From /: the postgres user may not be able to enter the clone.
  if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

installed() { [ -x "$bin/initdb" ] && [ -x "$bin/pg_ctl" ] && [ -x "$bin/postgres" ]; }

running() { [ -f "$data/PG_VERSION" ] && as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; }

cmd_install() {
  if installed; then
    say "$pkg already installed ($bin)"
    return
  fi
  # Refresh the package lists only if apt does not know the package yet.
  if ! apt-cache show "$pkg" >/dev/null 2>&1; then
    as_root apt-get update -qq
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null
  installed || { say "$pkg installed but $bin/initdb is missing"; exit 1; }
  say "installed $pkg"
}

init_cluster() {
  [ -f "$data/PG_VERSION" ] && return
  mkdir -p "$data"
  if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$pgdir"; chmod 700 "$pgdir"; fi
  chmod 700 "$data"
  as_pg "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C >/dev/null
  say "initialised cluster in $data"
}

cmd_start() {
  installed || { say "$pkg is not installed: run '$0 install'"; exit 1; }
  if running; then
    say "already running ($data)"
    return
  fi
  init_cluster
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$pgdir"; touch "$log"; chown postgres:postgres "$log"; fi
  # TCP on 127.0.0.1 only; no Unix socket, so no system directory is needed.
  as_pg "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=''" start >/dev/null
  if ! as_pg "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
    as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres "$db"
  fi
  say "running on 127.0.0.1:$port, database $db"
}

cmd_stop() {
  if ! running; then
    say "not running"
    return
  fi
  as_pg "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
  say "stopped"
}

cmd_status() {
  if running; then say "running ($data)"; else say "not running"; exit 3; fi
}

cmd_url() { echo "postgres://postgres@127.0.0.1:$port/$db?sslmode=disable"; }

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  url) cmd_url ;;
  *) echo "usage: $0 install|start|stop|status|url" >&2; exit 2 ;;
esac
