// Inclusion and consistency proof verification, RFC 9162 §2.1.3.2 and §2.1.4.2, with the strict
// policy of transparency-dev/merkle (proof/verify.go), which the vectors in
// test/vectors/transparency-dev-merkle encode:
// - a leaf hash, root or proof element that is not exactly 32 bytes is rejected;
// - a proof must have exactly the length the tree shape implies (no trailing or missing nodes);
// - a consistency proof from size 0 is rejected, even 0 -> 0: it proves nothing, and a client
//   that accepted it could be walked onto any history.
//
// The iterative form here is the one of RFC 9162 split in two: the "inner" part of the path,
// where the leaf's position decides left or right at each level, and the "border" part, the
// right edge of the tree, where the running hash is always the right child.
import { SigilError } from '../errors.js';
import { equalConstantTime } from '../internal/bytes.js';
import { HASH_SIZE, hashChildren } from './hashing.js';
import { bitLength, popCount, toUint64, trailingZeros, type TreeIndex } from './tree-size.js';

function fail(message: string, detail: string): never {
  throw new SigilError('E_DIRECTORY_PROOF', message, { detail });
}

function checkHashes(name: string, hashes: readonly Uint8Array[]): void {
  if (!Array.isArray(hashes)) throw new TypeError(`"${name}" expected an array of Uint8Array`);
  for (const h of hashes) {
    if (!(h instanceof Uint8Array)) throw new TypeError(`"${name}" expected an array of Uint8Array`);
    if (h.length !== HASH_SIZE) fail('A proof node is not a 32-byte hash.', 'proof-node-length');
  }
}

function checkHash(name: string, hash: Uint8Array): void {
  if (!(hash instanceof Uint8Array)) throw new TypeError(`"${name}" expected Uint8Array, got ${typeof hash}`);
  if (hash.length !== HASH_SIZE) fail(`The ${name} is not a 32-byte hash.`, `${name}-length`);
}

/** Sizes of the inner and border parts of the inclusion path of `index` in a tree of `size`. */
function decompose(index: bigint, size: bigint): { inner: number; border: number } {
  const inner = bitLength(index ^ (size - 1n));
  const border = popCount(index >> BigInt(inner));
  return { inner, border };
}

async function chainInner(seed: Uint8Array, proof: readonly Uint8Array[], index: bigint): Promise<Uint8Array> {
  let h = seed;
  for (let i = 0; i < proof.length; i++) {
    const p = proof[i] as Uint8Array;
    h = ((index >> BigInt(i)) & 1n) === 0n ? await hashChildren(h, p) : await hashChildren(p, h);
  }
  return h;
}

// Only the levels where the running node is a right child: used to rebuild the older root in a
// consistency proof, whose tree has nothing to the right of the old last leaf.
async function chainInnerRight(seed: Uint8Array, proof: readonly Uint8Array[], index: bigint): Promise<Uint8Array> {
  let h = seed;
  for (let i = 0; i < proof.length; i++) {
    if (((index >> BigInt(i)) & 1n) === 1n) h = await hashChildren(proof[i] as Uint8Array, h);
  }
  return h;
}

async function chainBorderRight(seed: Uint8Array, proof: readonly Uint8Array[]): Promise<Uint8Array> {
  let h = seed;
  for (const p of proof) h = await hashChildren(p, h);
  return h;
}

/**
 * Computes the root that an inclusion proof implies (RFC 9162 §2.1.3.2), without comparing it.
 *
 * @throws SigilError `E_DIRECTORY_PROOF` if `leafIndex >= treeSize`, a hash is not 32 bytes or
 *   the proof does not have exactly the expected length.
 * @throws TypeError / RangeError on arguments of the wrong type or out of the uint64 range.
 */
export async function rootFromInclusionProof(
  leafIndex: TreeIndex,
  treeSize: TreeIndex,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
): Promise<Uint8Array> {
  const index = toUint64('leafIndex', leafIndex);
  const size = toUint64('treeSize', treeSize);
  checkHash('leafHash', leafHash);
  checkHashes('proof', proof);
  if (index >= size) fail('The leaf index is not inside the tree.', 'index-out-of-range');
  const { inner, border } = decompose(index, size);
  if (proof.length !== inner + border) fail('The inclusion proof has the wrong length.', 'proof-length');
  const h = await chainInner(leafHash, proof.slice(0, inner), index);
  return chainBorderRight(h, proof.slice(inner));
}

/**
 * Verifies that the leaf with hash `leafHash` is at `leafIndex` in the tree of `treeSize` leaves
 * whose root is `root` (RFC 9162 §2.1.3.2).
 *
 * @example
 * ```ts
 * await verifyInclusion(5, checkpoint.size, await hashLeaf(statement), proof, checkpoint.rootHash);
 * ```
 * @throws SigilError `E_DIRECTORY_PROOF` if the proof does not lead to `root`, or is malformed.
 * @throws TypeError / RangeError on arguments of the wrong type or out of the uint64 range.
 */
export async function verifyInclusion(
  leafIndex: TreeIndex,
  treeSize: TreeIndex,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): Promise<void> {
  checkHash('root', root);
  const computed = await rootFromInclusionProof(leafIndex, treeSize, leafHash, proof);
  if (!equalConstantTime(computed, root)) fail('The inclusion proof does not lead to the root.', 'root-mismatch');
}

/**
 * Verifies that the tree of `size2` leaves with root `root2` extends the tree of `size1` leaves
 * with root `root1` (RFC 9162 §2.1.4.2): the log only appended.
 *
 * Equal sizes need an empty proof and equal roots. A proof from size 0 is always rejected (see
 * the module comment); a client that holds no checkpoint yet has nothing to check.
 *
 * @throws SigilError `E_DIRECTORY_PROOF` if the proof is malformed or does not connect the roots.
 * @throws TypeError / RangeError on arguments of the wrong type or out of the uint64 range.
 */
export async function verifyConsistency(
  size1: TreeIndex,
  size2: TreeIndex,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): Promise<void> {
  const m = toUint64('size1', size1);
  const n = toUint64('size2', size2);
  checkHashes('proof', proof);
  if (!(root1 instanceof Uint8Array)) throw new TypeError(`"root1" expected Uint8Array, got ${typeof root1}`);
  if (!(root2 instanceof Uint8Array)) throw new TypeError(`"root2" expected Uint8Array, got ${typeof root2}`);
  if (m === 0n) fail('A consistency proof from the empty tree proves nothing.', 'size1-zero');
  if (n < m) fail('The second tree is smaller than the first.', 'size2-smaller');
  if (m === n) {
    if (proof.length !== 0) fail('Trees of equal size need an empty consistency proof.', 'proof-length');
    // Equal sizes compare the roots as given, whatever their length (as upstream does).
    if (!equalConstantTime(root1, root2)) fail('Two roots for the same tree size.', 'root-mismatch');
    return;
  }
  checkHash('root1', root1);
  checkHash('root2', root2);
  // The path is, from level `shift` up, the inclusion path of leaf m-1 in the tree of n leaves.
  // Below level `shift` the old tree's last complete subtree is shared whole; when m is itself a
  // power of two that subtree is the old root and is not repeated in the proof.
  const { inner: fullInner, border } = decompose(m - 1n, n);
  const shift = trailingZeros(m);
  const inner = fullInner - shift;
  const startsWithRoot1 = m === 1n << BigInt(shift);
  const start = startsWithRoot1 ? 0 : 1;
  if (proof.length !== start + inner + border) fail('The consistency proof has the wrong length.', 'proof-length');
  const seed = startsWithRoot1 ? root1 : (proof[0] as Uint8Array);
  const path = proof.slice(start);
  const mask = (m - 1n) >> BigInt(shift);
  const h1 = await chainBorderRight(await chainInnerRight(seed, path.slice(0, inner), mask), path.slice(inner));
  if (!equalConstantTime(h1, root1)) fail('The consistency proof does not lead to the first root.', 'root-mismatch');
  const h2 = await chainBorderRight(await chainInner(seed, path.slice(0, inner), mask), path.slice(inner));
  if (!equalConstantTime(h2, root2)) fail('The consistency proof does not lead to the second root.', 'root-mismatch');
}
