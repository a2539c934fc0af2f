import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import Database from 'better-sqlite3';
import { SigilError, WebCryptoKeyBackend, type KeyBackend } from '@sigil/sdk';
import { CheckpointVerifier, openCheckpoint, verifyConsistency, verifyInclusion } from '@sigil/sdk/transparency';
import { SqliteStore, TransparencyLog } from '@sigil/server';
import { memoryLog } from './support/log-fixture.js';
import { NaiveTree, naiveLeafHash } from './support/naive-merkle.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const vectors = path.resolve(repoRoot, 'test/vectors/transparency-dev-merkle');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

describe('the 8-leaf RFC 6962 reference tree', () => {
  const ref = JSON.parse(readFileSync(path.join(vectors, 'rfc6962_reference_tree_8leaves.json'), 'utf8')) as {
    leafInputs: string[];
    leafHashes: string[];
    roots: string[];
    inclusion: { leafIdx: number; treeSize: number; proof: string[] }[];
    consistency: { size1: number; size2: number; proof: string[] }[];
  };
  let log: TransparencyLog;
  let store: SqliteStore;
  beforeAll(async () => {
    ({ log, store } = await memoryLog());
    for (const input of ref.leafInputs) await store.appendStatement({ accountId: 'alice', kind: 'test', bytes: unhex(input), now: 1 });
  });
  afterAll(() => store.close());

  it('has the reference leaf hashes and every root 0..8', async () => {
    expect((await store.getNodeHashes(ref.leafHashes.map((_, i) => ({ level: 0, index: i })))).map(hex)).toEqual(ref.leafHashes);
    for (let n = 0; n <= 8; n++) expect(hex(await log.rootHash(n)), `root ${n}`).toBe(ref.roots[n]);
  });
  it('reproduces all 36 inclusion paths exactly', async () => {
    expect(ref.inclusion).toHaveLength(36);
    for (const c of ref.inclusion) {
      expect((await log.inclusionProof(c.leafIdx, c.treeSize)).map(hex), `${c.leafIdx}/${c.treeSize}`).toEqual(c.proof);
    }
  });
  it('reproduces all 36 consistency paths exactly', async () => {
    expect(ref.consistency).toHaveLength(36);
    for (const c of ref.consistency) {
      expect((await log.consistencyProof(c.size1, c.size2)).map(hex), `${c.size1}->${c.size2}`).toEqual(c.proof);
    }
  });
  it('refuses proofs outside the tree', async () => {
    await expect(log.inclusionProof(8, 8)).rejects.toBeInstanceOf(RangeError);
    await expect(log.inclusionProof(0, 9)).rejects.toBeInstanceOf(RangeError);
    await expect(log.consistencyProof(5, 4)).rejects.toBeInstanceOf(RangeError);
    await expect(log.consistencyProof(1, 9)).rejects.toBeInstanceOf(RangeError);
    await expect(log.rootHash(9)).rejects.toBeInstanceOf(RangeError);
    expect(await log.consistencyProof(0, 8)).toEqual([]);
  });
});

describe('generated proofs against the naive RFC 9162 reference and the client verifier', () => {
  const N = 300;
  let log: TransparencyLog;
  let store: SqliteStore;
  let naive: NaiveTree;
  beforeAll(async () => {
    ({ log, store } = await memoryLog());
    const hashes: Uint8Array[] = [];
    for (let i = 0; i < N; i++) {
      const bytes = new TextEncoder().encode(`statement #${i}`);
      const rec = await store.appendStatement({ accountId: 'alice', kind: 'test', bytes, now: 1 });
      expect(rec.leafIndex).toBe(i);
      hashes.push(naiveLeafHash(bytes));
    }
    naive = new NaiveTree(hashes);
  });
  afterAll(() => store.close());

  it(`every tree size 0..${N}: root, first and last leaf paths, proofs from 1 and n-1`, async () => {
    for (let n = 0; n <= N; n++) {
      const root = await log.rootHash(n);
      expect(hex(root)).toBe(hex(naive.mth(0, n)));
      if (n === 0) continue;
      for (const m of new Set([0, Math.floor(n / 2), n - 1])) {
        const proof = await log.inclusionProof(m, n);
        expect(proof.map(hex)).toEqual(naive.inclusion(m, n).map(hex));
        await verifyInclusion(m, n, naive.mth(m, m + 1), proof, root);
      }
      for (const m of new Set([1, Math.ceil(n / 2), n - 1, n].filter((x) => x >= 1))) {
        const proof = await log.consistencyProof(m, n);
        expect(proof.map(hex)).toEqual(naive.consistency(m, n).map(hex));
        await verifyConsistency(m, n, proof, naive.mth(0, m), root);
      }
    }
  });
  it('every (leaf, size) pair up to 64 leaves, and every (size1, size2) pair', async () => {
    for (let n = 1; n <= 64; n++) {
      for (let m = 0; m < n; m++) expect((await log.inclusionProof(m, n)).map(hex)).toEqual(naive.inclusion(m, n).map(hex));
      for (let m = 1; m <= n; m++) expect((await log.consistencyProof(m, n)).map(hex)).toEqual(naive.consistency(m, n).map(hex));
    }
  });
  it('random inclusion proofs (fast-check) match the reference and verify; a wrong leaf does not', async () => {
    const pair = fc.integer({ min: 1, max: N }).chain((n) => fc.tuple(fc.integer({ min: 0, max: n - 1 }), fc.constant(n)));
    await fc.assert(
      fc.asyncProperty(pair, async ([m, n]) => {
        const proof = await log.inclusionProof(m, n);
        expect(proof.map(hex)).toEqual(naive.inclusion(m, n).map(hex));
        const root = naive.mth(0, n);
        await verifyInclusion(m, n, naive.mth(m, m + 1), proof, root);
        const other = (m + 1) % n;
        if (other !== m && hex(naive.mth(other, other + 1)) !== hex(naive.mth(m, m + 1))) {
          await expect(verifyInclusion(m, n, naive.mth(other, other + 1), proof, root)).rejects.toSatisfy((e) =>
            SigilError.is(e, 'E_DIRECTORY_PROOF'),
          );
        }
      }),
      { numRuns: 500 },
    );
  });
  it('random consistency proofs (fast-check) match the reference and verify', async () => {
    const pair = fc.integer({ min: 1, max: N }).chain((n) => fc.tuple(fc.integer({ min: 1, max: n }), fc.constant(n)));
    await fc.assert(
      fc.asyncProperty(pair, async ([m, n]) => {
        const proof = await log.consistencyProof(m, n);
        expect(proof.map(hex)).toEqual(naive.consistency(m, n).map(hex));
        await verifyConsistency(m, n, proof, naive.mth(0, m), naive.mth(0, n));
      }),
      { numRuns: 500 },
    );
  });
});

describe('signed checkpoints', () => {
  it('are signed for the current tree, stored once per size, and follow each other consistently', async () => {
    const { log, store } = await memoryLog();
    const key = await log.verifierKey();
    const client = new CheckpointVerifier({ logKey: key });
    let previous = 0;
    for (const grow of [0, 1, 2, 5, 13, 1]) {
      for (let i = 0; i < grow; i++) {
        await store.appendStatement({ accountId: 'alice', kind: 'test', bytes: Uint8Array.of(previous + i), now: 1 });
      }
      const cp = await log.checkpoint();
      expect(cp.size).toBe(await store.treeSize());
      const opened = await openCheckpoint(cp.note, key);
      expect(hex(opened.rootHash)).toBe(hex(await log.rootHash()));
      await client.update(cp.note, await log.consistencyProof(previous, cp.size));
      expect((await log.checkpoint()).note).toBe(cp.note); // no re-signing while the tree is unchanged
      previous = cp.size;
    }
    expect((await store.latestCheckpoint())?.size).toBe(22);
    expect((await store.getCheckpoint(8))?.size).toBe(8);
    await store.close();
  });

  it('shares one signature between concurrent callers', async () => {
    const { store } = await memoryLog();
    const inner = new WebCryptoKeyBackend();
    const key = await inner.generateKeyPair({ usage: 'sign', label: 'log' });
    let signatures = 0;
    const backend: KeyBackend = new Proxy(inner, {
      get(target, prop, receiver) {
        if (prop === 'sign') {
          return async (...args: Parameters<KeyBackend['sign']>) => {
            signatures++;
            return target.sign(...args);
          };
        }
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const log = new TransparencyLog(store, { origin: 'sigil.test/log', signer: { backend, key } });
    await store.appendStatement({ accountId: 'alice', kind: 'test', bytes: Uint8Array.of(1), now: 1 });
    const all = await Promise.all(Array.from({ length: 10 }, () => log.checkpoint()));
    expect(new Set(all.map((c) => c.note)).size).toBe(1);
    expect(signatures).toBe(1);
    await store.close();
  });
  it('waits minCheckpointIntervalMs before signing again', async () => {
    const { store } = await memoryLog();
    const backend = new WebCryptoKeyBackend();
    const key = await backend.generateKeyPair({ usage: 'sign', label: 'log' });
    let clock = 10_000;
    const log = new TransparencyLog(store, { origin: 'sigil.test/log', signer: { backend, key }, now: () => clock, minCheckpointIntervalMs: 1000 });
    await store.appendStatement({ accountId: 'alice', kind: 'test', bytes: Uint8Array.of(1), now: 1 });
    expect((await log.checkpoint()).size).toBe(1);
    await store.appendStatement({ accountId: 'alice', kind: 'test', bytes: Uint8Array.of(2), now: 1 });
    clock += 999;
    expect((await log.checkpoint()).size).toBe(1);
    clock += 1;
    expect((await log.checkpoint()).size).toBe(2);
    await store.close();
  });
  it('refuses to sign a tree that does not extend its last checkpoint (damaged store)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sigil-log-'));
    const file = path.join(dir, 'sigil.db');
    try {
      const store = new SqliteStore(file);
      await store.createAccount({ id: 'alice', kind: 'user', createdAt: 1 });
      const backend = new WebCryptoKeyBackend();
      const key = await backend.generateKeyPair({ usage: 'sign', label: 'log' });
      const log = new TransparencyLog(store, { origin: 'sigil.test/log', signer: { backend, key } });
      for (let i = 0; i < 4; i++) await store.appendStatement({ accountId: 'alice', kind: 'test', bytes: Uint8Array.of(i), now: 1 });
      await log.checkpoint();
      const raw = new Database(file);
      raw.prepare('UPDATE log_nodes SET hash = ? WHERE level = 2 AND idx = 0').run(Buffer.alloc(32, 0xee));
      raw.close();
      await store.appendStatement({ accountId: 'alice', kind: 'test', bytes: Uint8Array.of(9), now: 1 });
      // This process keeps the nodes it read before the damage in memory; a log that reads the
      // store (from memory after a restart, or node by node) sees the damage and refuses.
      const restarted = new TransparencyLog(store, { origin: 'sigil.test/log', signer: { backend, key } });
      await expect(restarted.checkpoint()).rejects.toThrow(/refusing to sign/);
      const storeReads = new TransparencyLog(store, { origin: 'sigil.test/log', signer: { backend, key }, nodesInMemory: false });
      await expect(storeReads.checkpoint()).rejects.toThrow(/refusing to sign/);
      expect((await store.latestCheckpoint())?.size).toBe(4);
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
