#!/usr/bin/env bash
# `npm run demo`: the PKCS#11 walk-through: an identity on a throwaway SoftHSM token, signing,
# key agreement, and the token's own proof that the private key cannot be exported.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure.sh demo
exec node examples/hsm-walkthrough/walkthrough.mjs "$@"
