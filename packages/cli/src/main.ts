// The `sigil` executable, started by bin/sigil.js. See ./run.ts and `sigil --help`.
import { run } from './run.js';

process.exitCode = await run(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
