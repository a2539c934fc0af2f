#!/usr/bin/env bash
# `npm start`: the web chat (examples/web-chat) and the key directory on ONE origin,
# http://localhost:8787, loopback only, on the embedded defaults: SQLite and a software log key in
# ./.sigil-data (pass --pkcs11-module/--token to keep the log key in a token; --help for all).
# Ctrl-C stops it. The PKCS#11 walk-through is `npm run demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure.sh start

# Build the page (type-check + Vite) when it is missing or older than its sources or than the
# SDK build it bundles; otherwise this costs one `find`.
app=examples/web-chat
stamp="$app/dist/index.html"
if [ ! -f "$stamp" ] || [ -n "$(find "$app/index.html" "$app/src" "$app/vite.config.mjs" "$app/tsconfig.json" "$app/package.json" packages/sdk/dist -newer "$stamp" -print -quit)" ]; then
  echo "sigil: building the web chat ($app)" >&2
  npm run --silent build -w @sigil/example-web-chat
fi
exec node "$app/serve.mjs" "$@"
