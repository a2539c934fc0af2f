#!/usr/bin/env bash
# `npm test`: prepare the machine, type-check sources and tests, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure.sh test
echo "sigil: type-checking tests and examples" >&2
npx --no-install tsc -p tsconfig.test.json
npx --no-install tsc -p examples/web-chat/tsconfig.json
npx --no-install tsc -p examples/web-chat/tsconfig.node.json
echo "sigil: checking the architecture rules (.dependency-cruiser.cjs)" >&2
npx --no-install depcruise packages test scripts examples --config .dependency-cruiser.cjs --output-type err >&2
mkdir -p test-output
status=0
npx --no-install vitest run --reporter=default --reporter=json --outputFile.json=test-output/vitest.json "$@" || status=$?
# examples/ci-with-softhsm tests itself as a user's app would: its own `npm test` (its vitest
# config with the kit's globalSetup, then node --test), through the published package names
# (the dist/ that ensure.sh built). Skipped when the run was narrowed to some files.
examples_failed=0
if [ $# -eq 0 ]; then
  echo "sigil: examples/ci-with-softhsm: npm test" >&2
  npm test --silent --workspace examples/ci-with-softhsm || examples_failed=1
fi
# A plain closing line that any CI can read, whatever the runner printed above it. A test file
# that failed to run (an import that threw, a missing file) has no failed test of its own, so it
# counts as one failure here: the line never says "0 failed" over a red run.
SIGIL_EXAMPLES_FAILED=$examples_failed node -e '
  const r = JSON.parse(require("fs").readFileSync("test-output/vitest.json", "utf8"));
  const broken = r.testResults.filter((f) => f.status === "failed" && !f.assertionResults.some((a) => a.status === "failed"));
  for (const f of broken) console.error(`sigil: test file failed to run: ${require("path").relative(process.cwd(), f.name)}: ${(f.message || "").split("\n")[0]}`);
  // An example whose own npm test failed counts as one failure (its runners print their own counts above).
  const examples = Number(process.env.SIGIL_EXAMPLES_FAILED);
  if (examples > 0) console.error("sigil: examples/ci-with-softhsm: npm test failed");
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests + broken.length + examples} failed` + (skipped ? `, ${skipped} skipped` : ""));
  if (r.numTotalTests === 0) { console.error("sigil: no test ran"); process.exit(1); }
  if (broken.length > 0 || examples > 0) process.exit(1);
' || status=1
exit $status
