#!/usr/bin/env node
// The `sigil` bin. npm links a bin when it installs the package, before anything is built, and
// skips a bin whose file does not exist yet: a bin pointing into dist/ is never linked in a
// fresh clone. This committed file is the bin; it runs the compiled CLI (src/main.ts).
import { existsSync } from 'node:fs';

const main = new URL('../dist/main.js', import.meta.url);
if (existsSync(main)) {
  await import(main.href);
} else {
  process.stderr.write('sigil: the CLI is not built yet: run "npm run build" at the root of the repository\n');
  process.exitCode = 1;
}
