// One append per account head across processes: two processes on one SQLite file race to append
// successors of the same head, over and over. Every statement that lands must name, as the head
// it was made for, the statement just before it in the account's history: no head ever has two
// successors, and every refusal was a real conflict (the counts add up).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '@sigil/server';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../../..');
const dir = mkdtempSync(path.join(tmpdir(), 'sigil-race-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Racer {
  readonly ready: Promise<void>;
  go(): void;
  readonly done: Promise<{ landed: number; conflicts: number }>;
}

function startChild(file: string, tag: string, rounds: number): Racer {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'support/race-child.ts'), file, tag, String(rounds)], {
    cwd: repoRoot,
    env: { ...process.env, TSX_TSCONFIG_PATH: 'tsconfig.test.json' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const ready = new Promise<void>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.startsWith('ready\n')) resolve();
    });
  });
  const done = new Promise<{ landed: number; conflicts: number }>((resolve, reject) => {
    child.once('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out.slice('ready\n'.length)) as { landed: number; conflicts: number }) : reject(new Error(`child ${tag} exited ${code}: ${err}`)),
    );
  });
  return { ready, done, go: () => child.stdin.write('go\n') };
}

describe('SQLite store, two processes', () => {
  it('never appends two successors of one account head', async () => {
    const file = path.join(dir, 'race.db');
    const setup = await openSqliteStore(file);
    await setup.createAccount({ id: 'race', kind: 'service', createdAt: 1 });
    await setup.close();
    const rounds = 150;
    const racers = [startChild(file, 'a', rounds), startChild(file, 'b', rounds)];
    await Promise.all(racers.map((r) => r.ready));
    for (const r of racers) r.go();
    const results = await Promise.all(racers.map((r) => r.done));
    const store = await openSqliteStore(file);
    try {
      const history = await store.listStatements('race', { limit: 1000 });
      const landed = results.reduce((n, r) => n + r.landed, 0);
      expect(results.reduce((n, r) => n + r.landed + r.conflicts, 0)).toBe(2 * rounds);
      expect(history).toHaveLength(landed);
      history.forEach((s, i) => {
        const { after } = JSON.parse(new TextDecoder().decode(s.bytes)) as { after: number | null };
        expect(after).toBe(i === 0 ? null : history[i - 1]!.leafIndex);
      });
    } finally {
      await store.close();
    }
  }, 60_000);
});
