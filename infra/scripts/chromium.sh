#!/usr/bin/env bash
# Headless Chromium for the Web UI check (tests/codec_webui_test.go): the pinned Debian package.
#   install   apt-get install CHROMIUM_DEBIAN_PACKAGE at CHROMIUM_VERSION (a version prefix) if
#             /usr/bin/chromium is missing or another version; idempotent
# The test runs it as its own process (--headless, a fresh --user-data-dir, background networking off).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=versions.env
. "$root/infra/scripts/versions.env"

pkg=$CHROMIUM_DEBIAN_PACKAGE
bin=/usr/bin/chromium

say() { echo "chromium.sh: $*" >&2; }
die() { say "$*"; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# version prints the installed browser's version ("156.0.8078.114" of "Chromium 156.0.8078.114 built on Debian ...").
version() { "$bin" --version 2>/dev/null | sed -n 's/^Chromium \([0-9][0-9.]*\).*/\1/p' | head -n1; }

installed() { [ -x "$bin" ] && case "$(version)" in "$CHROMIUM_VERSION"*) true ;; *) false ;; esac; }

cmd_install() {
  if installed; then
    say "$pkg $(version) already installed ($bin)"
    return
  fi
  if ! apt-cache madison "$pkg" 2>/dev/null | grep -q "| $CHROMIUM_VERSION"; then
    as_root apt-get update -qq
  fi
  local want
  want=$(apt-cache madison "$pkg" | awk -v v="$CHROMIUM_VERSION" '$3 ~ "^"v {print $3; exit}')
  [ -n "$want" ] || die "apt knows no $pkg $CHROMIUM_VERSION"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg=$want" >/dev/null ||
    die "apt-get install $pkg=$want failed"
  installed || die "$pkg installed but $bin reports version '$(version)', want $CHROMIUM_VERSION"
  say "installed $pkg $want"
}

case "${1:-}" in
install) cmd_install ;;
*) die "usage: chromium.sh install" ;;
esac
