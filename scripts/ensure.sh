#!/usr/bin/env bash
# Prepares this checkout on a fresh machine, idempotently, before `npm test` or `npm start`:
# Debian packages (when running as root and they are missing), npm packages (when missing or
# older than package-lock.json), then the TypeScript build. Nothing is downloaded from anywhere
# but the npm registry and Debian's archive.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the project runs against: SoftHSM (the PKCS#11 token of every test) and
# OpenSC's pkcs11-tool (the third-party client of the interop tests).
missing=()
[ -e /usr/lib/softhsm/libsofthsm2.so ] || command -v softhsm2-util >/dev/null 2>&1 || missing+=(softhsm2)
command -v pkcs11-tool >/dev/null 2>&1 || missing+=(opensc)
[ -x /usr/bin/chromium ] && command -v chromium >/dev/null 2>&1 || missing+=(chromium) # the browser tests (playwright-core drives /usr/bin/chromium)
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
stamp=node_modules/.sigil-installed
if [ ! -d node_modules ]; then
  echo "sigil: installing npm packages (native addons build from source; about a minute)" >&2
  npm ci --no-audit --no-fund --loglevel=error
  touch "$stamp"
elif [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  echo "sigil: package-lock.json changed: updating npm packages" >&2
  npm install --no-audit --no-fund --loglevel=error
  touch "$stamp"
fi

# Build (and type-check) every package: project references, in dependency order.
npx --no-install tsc -b
