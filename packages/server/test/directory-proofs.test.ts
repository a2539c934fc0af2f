// The lookup's proof path (inclusionProofs with its range-hash cache) gives exactly the log's
// own inclusion proofs, whatever the cache size, also when concurrent calls evict each other's
// entries while they wait for the store.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebCryptoKeyBackend } from '@sigil/sdk';
import { SqliteStore, TransparencyLog } from '@sigil/server';
import { BoundedCache, inclusionProofs } from '../src/directory/account-view.js';

let store: SqliteStore;
let log: TransparencyLog;
const N = 300;
beforeAll(async () => {
  store = new SqliteStore(':memory:');
  await store.createAccount({ id: 'a', kind: 'service', createdAt: 1 });
  for (let i = 0; i < N; i++) await store.appendStatement({ accountId: 'a', kind: 'test', bytes: Uint8Array.of(i & 0xff, i >> 8), now: 1 });
  const backend = new WebCryptoKeyBackend();
  log = new TransparencyLog(store, { origin: 'sigil.test/log', signer: { backend, key: await backend.generateKeyPair({ usage: 'sign', label: 'l' }) } });
});
afterAll(() => store.close());

const hex = (proofs: Uint8Array[][]) => proofs.map((p) => p.map((h) => Buffer.from(h).toString('hex')));

describe('inclusionProofs with a range-hash cache', () => {
  it('equals TransparencyLog.inclusionProof for random leaves, sizes and cache sizes, with concurrent callers', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 64 }),
        fc.array(fc.tuple(fc.integer({ min: 1, max: N }), fc.array(fc.nat(), { minLength: 1, maxLength: 3 })), { minLength: 1, maxLength: 8 }),
        async (cacheSize, calls) => {
          const cache = new BoundedCache<Uint8Array>(cacheSize);
          const requests = calls.map(([size, picks]) => ({ size, leaves: picks.map((p) => p % size) }));
          // One after the other (each finds what the previous cached, and evicts some of it),
          // then all at once on the same cache.
          const sequential: Uint8Array[][][] = [];
          for (const r of requests) sequential.push(await inclusionProofs(store, r.leaves, r.size, cache));
          const concurrent = await Promise.all(requests.map((r) => inclusionProofs(store, r.leaves, r.size, cache)));
          for (const [i, r] of requests.entries()) {
            const expected = hex(await Promise.all(r.leaves.map((leaf) => log.inclusionProof(leaf, r.size))));
            expect(hex(sequential[i]!)).toEqual(expected);
            expect(hex(concurrent[i]!)).toEqual(expected);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
