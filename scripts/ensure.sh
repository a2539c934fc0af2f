#!/usr/bin/env bash
# Prepares this checkout on a fresh machine, idempotently: Debian packages (when running as root
# and they are missing), npm packages (when missing or older than package-lock.json), then the
# TypeScript build. Nothing is downloaded from anywhere but the npm registry and Debian's archive.
#   ensure.sh test    everything `npm test` runs against (SoftHSM, OpenSC, Chromium)
#   ensure.sh demo    SoftHSM only (the PKCS#11 walk-through)
#   ensure.sh start   no Debian package: the web chat and directory need Node alone
set -euo pipefail
cd "$(dirname "$0")/.."
purpose=${1:-test}

# Debian packages the project runs against: SoftHSM (the PKCS#11 token of every test) and
# OpenSC's pkcs11-tool (the third-party client of the interop tests).
missing=()
if [ "$purpose" = test ] || [ "$purpose" = demo ]; then
  [ -e /usr/lib/softhsm/libsofthsm2.so ] || command -v softhsm2-util >/dev/null 2>&1 || missing+=(softhsm2)
fi
if [ "$purpose" = test ]; then
  command -v pkcs11-tool >/dev/null 2>&1 || missing+=(opensc)
  [ -x /usr/bin/chromium ] && command -v chromium >/dev/null 2>&1 || missing+=(chromium) # the browser tests (playwright-core drives /usr/bin/chromium)
fi
for extra in ${SIGIL_EXTRA_DEBIAN_PACKAGES:-}; do missing+=("$extra"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "sigil: installing Debian packages: ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "sigil: missing Debian packages: ${missing[*]} (run: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi

# npm packages: a clean install from the lock file when node_modules is missing; when the lock
# file changed since the last install, an incremental install that keeps what is built (native
# addons take a minute to rebuild, and a running process may be using them).
# Long steps say every 15 s that they are still going (npm prints nothing while node-gyp
# compiles pkcs11js and better-sqlite3 from source).
with_progress() {
  local what=$1; shift
  local started=$SECONDS
  ( while sleep 15; do echo "sigil: ... still $what ($((SECONDS - started)) s)" >&2; done ) &
  local ticker=$!
  local status=0
  "$@" || status=$?
  kill "$ticker" 2>/dev/null; wait "$ticker" 2>/dev/null || true
  [ $status = 0 ] && echo "sigil: done $what in $((SECONDS - started)) s" >&2
  return $status
}

stamp=node_modules/.sigil-installed
if [ ! -d node_modules ]; then
  echo "sigil: installing npm packages; native addons (pkcs11js, better-sqlite3) build from source, 1 to 3 minutes on a fresh machine" >&2
  with_progress "installing npm packages" npm ci --no-audit --no-fund --loglevel=error
  touch "$stamp"
elif [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  echo "sigil: package-lock.json changed: updating npm packages" >&2
  with_progress "updating npm packages" npm install --no-audit --no-fund --loglevel=error
  touch "$stamp"
fi

# Build (and type-check) every package: project references, in dependency order.
with_progress "building the packages (tsc -b)" npx --no-install tsc -b
