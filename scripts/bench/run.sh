#!/usr/bin/env bash
# `npm run bench [name...]`: the benchmarks, each printing a table with the machine and ratios
# against a baseline run in the same process. Not part of `npm test`: shared machines are noisy,
# so speed is reported, never asserted.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/ensure.sh
shopt -s nullglob
names=("$@")
for f in scripts/bench/*.ts scripts/bench/*.mjs; do
  base=$(basename "$f"); base=${base%.*}
  if [ ${#names[@]} -gt 0 ] && [[ ! " ${names[*]} " == *" $base "* ]]; then continue; fi
  echo
  echo "## bench: $base"
  case "$f" in
    *.ts) npx --no-install tsx "$f" ;;
    *.mjs) node "$f" ;;
  esac
done
