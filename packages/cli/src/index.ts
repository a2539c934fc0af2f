// @sigil/cli: the `sigil` command line as a function, for programs and tests that run it in
// process (the executable is bin/sigil.js, which runs ./main.ts).
export { run } from './run.js';
export type { Io } from './io.js';
