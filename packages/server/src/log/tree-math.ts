// The shape of an RFC 9162 Merkle tree, as complete subtrees.
//
// A node (level, index) is the root of the complete subtree over leaves
// [index * 2^level, (index + 1) * 2^level). Such nodes never change once the leaves under them
// exist, so the store keeps every one of them (about 2n for n leaves), written when the leaf
// that completes them is appended. Any subtree the RFC's MTH / PATH / SUBPROOF definitions
// (§2.1.1, §2.1.3.1, §2.1.4.1) talk about starts at a multiple of a power of two at least as large
// as itself, so its hash is a right-to-left fold of at most log2(n) complete subtrees: proofs cost
// O(log n) node reads whatever the tree size. Sizes are JS numbers (exact up to 2^53): no bit
// operators here, which would truncate to 32 bits.
import { createHash } from 'node:crypto';

export const HASH_SIZE = 32;

export interface NodeKey {
  readonly level: number;
  readonly index: number;
}

export interface NodeHash extends NodeKey {
  readonly hash: Uint8Array;
}

/** RFC 9162 §2.1.1 leaf hash: SHA-256(0x00 || data). Sync (node:crypto) for the server's hot path. */
export function leafHash(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(Uint8Array.of(0)).update(data).digest());
}

/** RFC 9162 §2.1.1 interior node: SHA-256(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(Uint8Array.of(1)).update(left).update(right).digest());
}

/** MTH({}) = SHA-256() (RFC 9162 §2.1.1). */
export function emptyRootHash(): Uint8Array {
  return new Uint8Array(createHash('sha256').digest());
}

export function pow2(level: number): number {
  return 2 ** level;
}

/** Largest power of two strictly smaller than n, for n > 1 (the RFC's k). */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isOdd(x: number): boolean {
  return x % 2 === 1;
}

/**
 * The left siblings needed to complete the nodes that appending leaf `leafIndex` finishes: one
 * per trailing one bit of the index (the "frontier" of the tree).
 */
export function appendSiblingKeys(leafIndex: number): NodeKey[] {
  const keys: NodeKey[] = [];
  let idx = leafIndex;
  for (let level = 0; isOdd(idx); level++) {
    keys.push({ level, index: idx - 1 });
    idx = Math.floor(idx / 2);
  }
  return keys;
}

/** The nodes to write when leaf `leafIndex` is appended, given its frontier siblings. */
export function appendNodes(leafIndex: number, hash: Uint8Array, siblings: readonly Uint8Array[]): NodeHash[] {
  const nodes: NodeHash[] = [{ level: 0, index: leafIndex, hash }];
  let h = hash;
  let idx = leafIndex;
  for (let level = 0; isOdd(idx); level++) {
    const left = siblings[level];
    if (left === undefined) throw new Error(`missing frontier node at level ${level}`);
    h = nodeHash(left, h);
    idx = Math.floor(idx / 2);
    nodes.push({ level: level + 1, index: idx, hash: h });
  }
  return nodes;
}

/**
 * The complete subtrees covering leaves [start, end), largest first, for a range that starts at
 * a multiple of a power of two >= its length (every range RFC 9162 recursion produces).
 */
export function rangeKeys(start: number, end: number): NodeKey[] {
  const keys: NodeKey[] = [];
  let at = start;
  let rest = end - start;
  while (rest > 0) {
    let level = 0;
    while (pow2(level + 1) <= rest) level++;
    keys.push({ level, index: at / pow2(level) });
    at += pow2(level);
    rest -= pow2(level);
  }
  return keys;
}

/** MTH over a range from the hashes of its `rangeKeys`, folded right to left. */
export function foldRange(hashes: readonly Uint8Array[]): Uint8Array {
  if (hashes.length === 0) return emptyRootHash();
  let h = hashes[hashes.length - 1] as Uint8Array;
  for (let i = hashes.length - 2; i >= 0; i--) h = nodeHash(hashes[i] as Uint8Array, h);
  return h;
}

/** A proof or root to compute: each element is one range, i.e. the subtrees to fold. */
export type Plan = NodeKey[][];

/** RFC 9162 §2.1.3.1 PATH(m, D[0:n]) as ranges (bottom-up order, as on the wire). */
export function inclusionPlan(m: number, n: number): Plan {
  const out: Plan = [];
  let start = 0;
  let end = n;
  // Walk down from the root; the RFC lists the path bottom-up, so prepend.
  while (end - start > 1) {
    const k = splitPoint(end - start);
    if (m - start < k) {
      out.unshift(rangeKeys(start + k, end));
      end = start + k;
    } else {
      out.unshift(rangeKeys(start, start + k));
      start += k;
    }
  }
  return out;
}

/** RFC 9162 §2.1.4.1 SUBPROOF(m, D[0:n], true) as ranges, for 0 < m <= n. */
export function consistencyPlan(m: number, n: number): Plan {
  const out: Plan = [];
  let start = 0;
  let end = n;
  let mm = m;
  let complete = true; // the RFC's b: whether the old tree is a complete subtree seen so far
  while (mm !== end - start) {
    const k = splitPoint(end - start);
    if (mm <= k) {
      out.unshift(rangeKeys(start + k, end));
      end = start + k;
    } else {
      out.unshift(rangeKeys(start, start + k));
      start += k;
      mm -= k;
      complete = false;
    }
  }
  if (!complete) out.unshift(rangeKeys(start, end));
  return out;
}
