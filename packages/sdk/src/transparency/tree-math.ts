// The shape of an RFC 9162 Merkle tree, as complete subtrees: the one home of the tree math
// that servers and auditors compute proofs with (clients verify them with proof.ts).
//
// A node (level, index) is the root of the complete subtree over leaves
// [index * 2^level, (index + 1) * 2^level). Such nodes never change once the leaves under them
// exist, so a log can keep every one of them (about 2n for n leaves), written when the leaf
// that completes them is appended. Any subtree the RFC's MTH / PATH / SUBPROOF definitions
// (§2.1.1, §2.1.3.1, §2.1.4.1) talk about starts at a multiple of a power of two at least as large
// as itself, so its hash is a right-to-left fold of at most log2(n) complete subtrees: proofs cost
// O(log n) node reads whatever the tree size. Sizes are JS numbers (exact up to 2^53): no bit
// operators here, which would truncate to 32 bits.
//
// The folds take the hashes as an argument: hashing.ts's are asynchronous (WebCrypto, for
// browsers), and a server folds inside a synchronous database transaction with its own
// synchronous implementation of the same three hashes (SyncTreeHashes).

/** A complete subtree: leaves [index * 2^level, (index + 1) * 2^level). */
export interface NodeKey {
  readonly level: number;
  readonly index: number;
}

export interface NodeHash extends NodeKey {
  readonly hash: Uint8Array;
}

/**
 * The RFC 9162 §2.1.1 hashes of hashing.ts (same names, same results), computed synchronously:
 * `hashLeaf(data)` = SHA-256(0x00 || data), `hashChildren(left, right)` = SHA-256(0x01 || left ||
 * right), `emptyRoot()` = SHA-256() = MTH({}).
 */
export interface SyncTreeHashes {
  hashLeaf(data: Uint8Array): Uint8Array;
  hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array;
  emptyRoot(): Uint8Array;
}

function pow2(level: number): number {
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

/**
 * The nodes to write when leaf `leafIndex` (hash `hash`) is appended, given its frontier
 * siblings (the hashes of `appendSiblingKeys(leafIndex)`, in order).
 */
export function appendNodes(leafIndex: number, hash: Uint8Array, siblings: readonly Uint8Array[], hashes: SyncTreeHashes): NodeHash[] {
  const nodes: NodeHash[] = [{ level: 0, index: leafIndex, hash }];
  let h = hash;
  let idx = leafIndex;
  for (let level = 0; isOdd(idx); level++) {
    const left = siblings[level];
    if (left === undefined) throw new Error(`missing frontier node at level ${level}`);
    h = hashes.hashChildren(left, h);
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

/** MTH over a range from the hashes of its `rangeKeys` (`nodes`), folded right to left. */
export function foldRange(nodes: readonly Uint8Array[], hashes: SyncTreeHashes): Uint8Array {
  if (nodes.length === 0) return hashes.emptyRoot();
  let h = nodes[nodes.length - 1] as Uint8Array;
  for (let i = nodes.length - 2; i >= 0; i--) h = hashes.hashChildren(nodes[i] as Uint8Array, h);
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
