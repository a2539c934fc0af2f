#!/usr/bin/env bash
# `npm start`: the main job on the embedded defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure.sh
exec node examples/hsm-walkthrough/walkthrough.mjs "$@"
