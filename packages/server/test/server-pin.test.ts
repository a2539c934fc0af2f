// The token PIN leaves the environment as it is read: a child of the server (any process it
// starts) does not inherit it. Reproduced with real processes: a server-like process that reads
// the PIN the way sigil-server does, then starts a child that prints its environment.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { PIN_ENV, readPinFile, takePinFromEnvironment } from '../src/cli/log-key.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../../..');
const tmp = mkdtempSync(path.join(tmpdir(), 'sigil-pin-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the token PIN', () => {
  it('is removed from the environment as it is read, so a child process does not inherit it', () => {
    const script = path.join(tmp, 'reads-pin.ts');
    const logKey = path.join(repoRoot, 'packages/server/src/cli/log-key.ts');
    writeFileSync(
      script,
      `import { spawnSync } from 'node:child_process';
import { takePinFromEnvironment } from ${JSON.stringify(logKey)};
const before = spawnSync(process.execPath, ['-e', 'process.stdout.write(process.env.${PIN_ENV} ?? "(none)")']).stdout.toString();
const pin = takePinFromEnvironment();
const after = spawnSync(process.execPath, ['-e', 'process.stdout.write(process.env.${PIN_ENV} ?? "(none)")']).stdout.toString();
process.stdout.write(JSON.stringify({ before, pin, after }));
`,
    );
    const run = spawnSync(process.execPath, ['--import', 'tsx', script], {
      cwd: repoRoot,
      env: { ...process.env, TSX_TSCONFIG_PATH: 'tsconfig.test.json', [PIN_ENV]: 'pin-4711' },
    });
    expect(run.status, run.stderr.toString()).toBe(0);
    expect(JSON.parse(run.stdout.toString())).toEqual({ before: 'pin-4711', pin: 'pin-4711', after: '(none)' });
  });

  it('reads as absent when empty, and removes it then too', () => {
    const env: NodeJS.ProcessEnv = { [PIN_ENV]: '', OTHER: 'kept' };
    expect(takePinFromEnvironment(env)).toBeUndefined();
    expect(env).toEqual({ OTHER: 'kept' });
  });

  it('can come from the first line of a file instead', async () => {
    const file = path.join(tmp, 'pin');
    writeFileSync(file, '1234\n', { mode: 0o600 });
    expect(await readPinFile(file)).toBe('1234');
    writeFileSync(file, '\n1234\n');
    await expect(readPinFile(file)).rejects.toThrow(Error);
  });
});
