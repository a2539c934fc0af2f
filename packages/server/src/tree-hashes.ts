// The RFC 9162 §2.1.1 hashes of @sigil/sdk/transparency (hashLeaf, hashChildren, emptyRoot: the
// same names, the same results), synchronous through node:crypto: the store hashes a leaf and the
// nodes it completes inside its append transaction, which cannot await WebCrypto, and the log
// folds proofs on every lookup that misses its mirror. The tree math itself is the sdk's
// (@sigil/sdk/transparency, tree-math.ts), which takes these as its argument.
import { createHash } from 'node:crypto';
import type { SyncTreeHashes } from '@sigil/sdk/transparency';

const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

/**
 * SHA-256 Merkle tree hashes for the server's hot paths: `hashLeaf(data)` = SHA-256(0x00 ||
 * data), `hashChildren(left, right)` = SHA-256(0x01 || left || right), `emptyRoot()` = SHA-256()
 * (RFC 9162 §2.1.1). Each call returns a new array the caller owns.
 *
 * @example
 * ```ts
 * const root = foldRange(await store.getNodeHashes(rangeKeys(0, size)), syncTreeHashes);
 * ```
 */
export const syncTreeHashes: SyncTreeHashes = Object.freeze({
  hashLeaf(data: Uint8Array): Uint8Array {
    return new Uint8Array(createHash('sha256').update(LEAF_PREFIX).update(data).digest());
  },
  hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
    return new Uint8Array(createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest());
  },
  emptyRoot(): Uint8Array {
    return new Uint8Array(createHash('sha256').digest());
  },
});
