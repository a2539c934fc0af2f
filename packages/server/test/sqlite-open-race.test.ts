// Issue 13, item 7: two server processes started at once on a fresh file. Opening creates the
// file, switches it to WAL and runs the migrations, and each of those takes a lock the other
// process may hold at that moment; one start in about a hundred failed with SQLITE_BUSY. Opening
// must wait on the lock and succeed, every time.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '@sigil/server';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../../..');
const dir = mkdtempSync(path.join(tmpdir(), 'sigil-open-race-'));
const children: ChildProcessWithoutNullStreams[] = [];
afterAll(() => {
  for (const c of children) c.kill();
  rmSync(dir, { recursive: true, force: true });
});

/** A process that opens the store at each file written to it and answers one line per file. */
async function opener(): Promise<(file: string) => Promise<string>> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'support/open-child.ts')], {
    cwd: repoRoot,
    env: { ...process.env, TSX_TSCONFIG_PATH: 'tsconfig.test.json' },
  });
  children.push(child);
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => ((await lines.next()).value as string | undefined) ?? `exited: ${child.exitCode}`;
  expect(await next()).toBe('ready');
  return (file) => {
    child.stdin.write(`${file}\n`);
    return next();
  };
}

describe('SQLite store, simultaneous start', () => {
  it('two processes opening one fresh file at once both succeed, every time', async () => {
    const [a, b] = await Promise.all([opener(), opener()]);
    const rounds = 150;
    const failures: string[] = [];
    for (let round = 0; round < rounds; round++) {
      const file = path.join(dir, `fresh-${round}.db`);
      for (const answer of await Promise.all([a!(file), b!(file)])) if (answer !== 'ok') failures.push(answer);
    }
    expect(failures).toEqual([]);
    const store = await openSqliteStore(path.join(dir, `fresh-${rounds - 1}.db`));
    expect(await store.treeSize()).toBe(0);
    await store.close();
  }, 120_000);
});
