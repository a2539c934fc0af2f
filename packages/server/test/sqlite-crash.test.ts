// Kill -9 during load: a child process appends statements to a SQLite file as fast as it can and
// is killed with SIGKILL at a random moment, several times over the same file. After each kill the
// file is reopened and must be whole: every statement has its leaf, every leaf its statement,
// every completed Merkle node is there and right, the root recomputes from the statement bytes,
// nothing acknowledged is lost, and the log still extends the checkpoint signed before the kill.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { WebCryptoKeyBackend } from '@sigil/sdk';
import { CheckpointVerifier } from '@sigil/sdk/transparency';
import { TransparencyLog, openSqliteStore, syncTreeHashes } from '@sigil/server';
import { NaiveTree } from './support/naive-merkle.js';

const { hashLeaf, hashChildren } = syncTreeHashes;

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../../..');
const dir = mkdtempSync(path.join(tmpdir(), 'sigil-crash-'));
const file = path.join(dir, 'sigil.db');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the child until it has acknowledged `appends` more statements, then SIGKILLs it after `delayMs`. */
function loadAndKill(appends: number, delayMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    // tsx as a loader in this one process (its CLI would fork a grandchild that SIGKILL misses);
    // tsconfig.test.json maps @sigil/* to the sources.
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'support/crash-child.ts'), file], {
      cwd: repoRoot,
      env: { ...process.env, TSX_TSCONFIG_PATH: 'tsconfig.test.json' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let acknowledged = -1;
    let seen = 0;
    let killing = false;
    let pending = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (line === 'ready') continue;
        acknowledged = Math.max(acknowledged, Number(line));
        if (++seen >= appends && !killing) {
          killing = true;
          setTimeout(() => child.kill('SIGKILL'), delayMs);
        }
      }
    });
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(acknowledged);
      else reject(new Error(`child exited with ${code}: ${stderr}`));
    });
  });
}

async function checkWhole(minSize: number): Promise<void> {
  const db = new Database(file, { readonly: true });
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const statements = db.prepare('SELECT leaf_index, bytes FROM statements ORDER BY leaf_index').all() as {
      leaf_index: number;
      bytes: Buffer;
    }[];
    const n = statements.length;
    expect(n).toBeGreaterThanOrEqual(minSize);
    statements.forEach((s, i) => expect(s.leaf_index).toBe(i));
    const nodes = new Map<string, Uint8Array>();
    for (const r of db.prepare('SELECT level, idx, hash FROM log_nodes').all() as { level: number; idx: number; hash: Buffer }[]) {
      nodes.set(`${r.level},${r.idx}`, new Uint8Array(r.hash));
    }
    // Exactly the complete subtrees of an n-leaf tree: floor(n / 2^level) nodes at each level.
    let expected = 0;
    for (let level = 0; 2 ** level <= n; level++) {
      const count = Math.floor(n / 2 ** level);
      expected += count;
      for (let idx = 0; idx < count; idx++) {
        const h = nodes.get(`${level},${idx}`);
        expect(h, `node ${level},${idx}`).toBeDefined();
        const want =
          level === 0 ? hashLeaf(statements[idx]!.bytes) : hashChildren(nodes.get(`${level - 1},${2 * idx}`)!, nodes.get(`${level - 1},${2 * idx + 1}`)!);
        expect(Buffer.from(h!).equals(Buffer.from(want)), `node ${level},${idx}`).toBe(true);
      }
    }
    expect(nodes.size).toBe(expected);
  } finally {
    db.close();
  }
}

describe('SQLite store killed with SIGKILL during appends', () => {
  it('reopens whole every time, loses nothing acknowledged, and never forks the log', async () => {
    const backend = new WebCryptoKeyBackend();
    const key = await backend.generateKeyPair({ usage: 'sign', label: 'log' });
    let client: CheckpointVerifier | undefined;
    let lastSize = 0;
    const rounds = [
      [30, 0],
      [60, 3],
      [10, 11],
      [90, 1],
      [40, 7],
    ] as const;
    for (const [appends, delay] of rounds) {
      const acknowledged = await loadAndKill(appends, delay);
      await checkWhole(acknowledged + 1);
      const store = await openSqliteStore(file);
      try {
        const log = new TransparencyLog(store, { origin: 'sigil.test/crash', signer: { backend, key } });
        client ??= new CheckpointVerifier({ logKey: await log.verifierKey() });
        const size = await store.treeSize();
        expect(size).toBeGreaterThan(acknowledged);
        const leaves = [];
        for (let i = 0; i < size; i++) leaves.push(hashLeaf((await store.getStatement(i))!.bytes));
        expect(Buffer.from(await log.rootHash()).toString('hex')).toBe(Buffer.from(new NaiveTree(leaves).mth(0, size)).toString('hex'));
        const cp = await log.checkpoint();
        await client.update(cp.note, await log.consistencyProof(lastSize, cp.size));
        lastSize = cp.size;
      } finally {
        await store.close();
      }
    }
  }, 300_000); // five SIGKILLed writers and reopenings: 157 s at load 15, far less on a quiet machine
});
