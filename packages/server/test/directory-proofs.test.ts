// The log's in-memory copy of the tree (log/tree-mirror.ts) gives exactly the proofs and roots
// computed from the store's nodes, while the tree grows between calls (the mirror syncs only
// what is new) and with concurrent callers sharing one sync. log-tree.test.ts checks the same
// log (in memory, the default) against the reference vectors and a naive RFC 9162 reference.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebCryptoKeyBackend } from '@sigil/sdk';
import { SqliteStore, TransparencyLog } from '@sigil/server';

let store: SqliteStore;
let fromStore: TransparencyLog;
const N = 300;
beforeAll(async () => {
  store = new SqliteStore(':memory:');
  await store.createAccount({ id: 'a', kind: 'service', createdAt: 1 });
  const backend = new WebCryptoKeyBackend();
  const signer = { backend, key: await backend.generateKeyPair({ usage: 'sign', label: 'l' }) };
  fromStore = new TransparencyLog(store, { origin: 'sigil.test/log', signer, nodesInMemory: false });
});
afterAll(() => store.close());

const hex = (hashes: Uint8Array[]) => hashes.map((h) => Buffer.from(h).toString('hex'));

describe('TransparencyLog with its nodes in memory', () => {
  it('equals the store-read proofs and roots for random leaves and sizes, as the tree grows, with concurrent callers', async () => {
    const backend = new WebCryptoKeyBackend();
    const inMemory = new TransparencyLog(store, { origin: 'sigil.test/log', signer: { backend, key: await backend.generateKeyPair({ usage: 'sign', label: 'm' }) } });
    let size = 0;
    let mirrored = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 12 }),
        fc.array(fc.tuple(fc.nat(), fc.array(fc.nat(), { minLength: 1, maxLength: 3 }), fc.nat()), { minLength: 1, maxLength: 6 }),
        async (grow, calls) => {
          for (let i = 0; i < grow && size < N; i++, size++) {
            await store.appendStatement({ accountId: 'a', kind: 'test', bytes: Uint8Array.of(size & 0xff, size >> 8), now: 1 });
          }
          if (size === 0) return;
          const requests = calls.map(([n, picks, from]) => {
            const treeSize = 1 + (n % size);
            return { treeSize, leaves: picks.map((p) => p % treeSize), from: from % (treeSize + 1) };
          });
          // Synchronously, only for sizes the mirror already holds (a log without one: never).
          expect(inMemory.inclusionPathsInMemory([size - 1], size) === undefined).toBe(size > mirrored);
          await inMemory.rootHash(size);
          mirrored = size;
          const early = requests.map((r) => inMemory.inclusionPathsInMemory(r.leaves, r.treeSize));
          expect(fromStore.inclusionPathsInMemory(requests[0]!.leaves, requests[0]!.treeSize)).toBeUndefined();
          const got = await Promise.all(
            requests.map(async (r) => ({
              many: await inMemory.inclusionProofsAt(r.leaves, r.treeSize),
              paths: await inMemory.inclusionPathsAt(r.leaves, r.treeSize),
              one: await inMemory.inclusionProof(r.leaves[0]!, r.treeSize),
              consistency: await inMemory.consistencyProof(r.from, r.treeSize),
              root: await inMemory.rootHash(r.treeSize),
            })),
          );
          for (const [i, r] of requests.entries()) {
            const expected = await Promise.all(r.leaves.map((leaf) => fromStore.inclusionProof(leaf, r.treeSize)));
            expect(got[i]!.many.map(hex)).toEqual(expected.map(hex));
            expect(got[i]!.paths.map((p) => Buffer.from(p).toString('hex'))).toEqual(expected.map((p) => hex(p).join('')));
            expect(early[i]!.map((p) => Buffer.from(p).toString('hex'))).toEqual(expected.map((p) => hex(p).join('')));
            expect(hex(got[i]!.one)).toEqual(hex(expected[0]!));
            expect(hex(got[i]!.consistency)).toEqual(hex(await fromStore.consistencyProof(r.from, r.treeSize)));
            expect(hex([got[i]!.root])).toEqual(hex([await fromStore.rootHash(r.treeSize)]));
          }
          // What the log returns is the caller's: changing it changes nothing in the log.
          got[0]!.root.fill(0);
          for (const p of got[0]!.many) for (const h of p) h.fill(0);
          expect(hex([await inMemory.rootHash(requests[0]!.treeSize)])).toEqual(hex([await fromStore.rootHash(requests[0]!.treeSize)]));
          const again = await inMemory.inclusionProofsAt(requests[0]!.leaves, requests[0]!.treeSize);
          expect(again.map(hex)).toEqual((await Promise.all(requests[0]!.leaves.map((l) => fromStore.inclusionProof(l, requests[0]!.treeSize)))).map(hex));
        },
      ),
      { numRuns: 150 },
    );
    expect(size).toBeGreaterThan(100);
  });

  it('refuses sizes beyond the log and leaves beyond the size with RangeError', async () => {
    const backend = new WebCryptoKeyBackend();
    const log = new TransparencyLog(store, { origin: 'sigil.test/log', signer: { backend, key: await backend.generateKeyPair({ usage: 'sign', label: 'r' }) } });
    const n = await store.treeSize();
    await expect(log.inclusionProof(0, n + 1)).rejects.toThrow(RangeError);
    await expect(log.inclusionProofsAt([n], n)).rejects.toThrow(RangeError);
    await expect(log.inclusionProofsAt([-1], n)).rejects.toThrow(RangeError);
    await expect(log.inclusionPathsAt([n], n)).rejects.toThrow(RangeError);
    await log.rootHash(n); // the mirror now holds the tree, so the synchronous form checks too
    expect(() => log.inclusionPathsInMemory([n], n)).toThrow(RangeError);
    expect(() => log.inclusionPathsInMemory([-1], n)).toThrow(RangeError);
    await expect(log.rootHash(n + 1)).rejects.toThrow(RangeError);
  });
});
