// The server's synchronous tree hashes (syncTreeHashes) are the sdk's asynchronous ones under the
// same names: known answers from RFC 9162 §2.1.1's definitions, and equality on any input.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emptyRoot, foldRange, hashChildren, hashLeaf, rangeKeys } from '@sigil/sdk/transparency';
import { syncTreeHashes } from '@sigil/server';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('syncTreeHashes', () => {
  it('gives the known answers: MTH({}) = SHA-256(), a leaf SHA-256(0x00 || d), a node SHA-256(0x01 || l || r)', () => {
    expect(hex(syncTreeHashes.emptyRoot())).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    // SHA-256(0x00): the leaf hash of the empty entry (transparency-dev/merkle's "empty leaf").
    expect(hex(syncTreeHashes.hashLeaf(new Uint8Array(0)))).toBe('6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
    // SHA-256(0x01 || 64 zero bytes), computed apart from this code (Python's hashlib).
    expect(hex(syncTreeHashes.hashChildren(new Uint8Array(32), new Uint8Array(32)))).toBe(
      'ae0798d0ecaed2b778eddebf18f071a561c53658c05e76cedecc27cafbdbc577',
    );
  });

  it('equals the sdk hashes of the same names on any input, and folds a range to the same root', async () => {
    expect(hex(syncTreeHashes.emptyRoot())).toBe(hex(await emptyRoot()));
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), async (d, l, r) => {
        expect(hex(syncTreeHashes.hashLeaf(d))).toBe(hex(await hashLeaf(d)));
        expect(hex(syncTreeHashes.hashChildren(l, r))).toBe(hex(await hashChildren(l, r)));
      }),
    );
    const leaves = await Promise.all([0, 1, 2].map((i) => hashLeaf(Uint8Array.of(i))));
    expect(rangeKeys(0, 3)).toEqual([{ level: 1, index: 0 }, { level: 0, index: 2 }]);
    const n01 = await hashChildren(leaves[0]!, leaves[1]!);
    expect(hex(foldRange([n01, leaves[2]!], syncTreeHashes))).toBe(hex(await hashChildren(n01, leaves[2]!)));
    expect(hex(foldRange([], syncTreeHashes))).toBe(hex(await emptyRoot()));
  });
});
