// Every complete-subtree hash of the log, in memory: an inclusion proof becomes about log2(n)
// memory reads instead of as many store reads.
//
// Why this is safe with several server processes on one store: a node (level, index) never
// changes once the leaves under it exist (the log is append-only; the tree math is
// @sigil/sdk/transparency's), so a copy of the nodes of the first `size` leaves stays true forever. The mirror only grows, by reading
// the nodes of new leaves from the store (`syncTo`), and answers only for trees of at most
// `size` leaves. Memory: 32 bytes per node, about 2n nodes for n leaves (64 MiB at a million
// leaves), plus up to as much again while a level's buffer doubles.
import { HASH_SIZE } from '@sigil/sdk/transparency';
import type { Store } from '../store/store.js';
import { syncTreeHashes } from '../tree-hashes.js';

/** Nodes read from the store per call while syncing (bounded so the event loop keeps turning). */
const SYNC_CHUNK = 65_536;

export class TreeMirror {
  readonly #store: Store;
  /** One buffer per level; level l holds floor(size / 2^l) nodes. */
  #levels: Uint8Array[] = [];
  /** The same buffers as 32-bit words, for copying a node without making a view of it. */
  #words: Int32Array[] = [];
  #size = 0;
  #syncing: Promise<void> | undefined;
  /** Hashes of ranges that end at the tree size `#edgeSize` (the right edge of the tree). */
  #edge = new Map<number, Uint8Array>();
  #edgeSize = -1;

  constructor(store: Store) {
    this.#store = store;
  }

  /** Leaves whose nodes are in memory. */
  get size(): number {
    return this.#size;
  }

  /**
   * Reads the nodes of leaves [size, n) from the store, so that trees of up to `n` leaves can be
   * proven from memory. `n` must not exceed the store's tree size. Concurrent calls share reads.
   */
  async syncTo(n: number): Promise<void> {
    while (this.#size < n) {
      this.#syncing ??= this.#grow(n).finally(() => {
        this.#syncing = undefined;
      });
      await this.#syncing;
    }
  }

  async #grow(target: number): Promise<void> {
    const from = this.#size;
    const to = Math.min(target, from + SYNC_CHUNK);
    // Level by level, the nodes that leaves [from, to) complete: indices [from >> l, to >> l).
    const fresh: { level: number; start: number; hashes: Uint8Array }[] = [];
    for (let level = 0; 2 ** level <= to; level++) {
      const start = Math.floor(from / 2 ** level);
      const end = Math.floor(to / 2 ** level);
      if (end > start) fresh.push({ level, start, hashes: await this.#store.getNodeLevel(level, start, end - start) });
    }
    // Installed only once every level is read, so `size` never claims a node that is not here.
    for (const { level, start, hashes } of fresh) this.#put(level, start, hashes);
    this.#size = to;
  }

  #put(level: number, start: number, hashes: Uint8Array): void {
    const needed = (start * HASH_SIZE) + hashes.length;
    let buf = this.#levels[level] ?? new Uint8Array(0);
    if (buf.length < needed) {
      const grown = new Uint8Array(Math.max(needed, 2 * buf.length, 1024 * HASH_SIZE));
      grown.set(buf);
      buf = grown;
      this.#levels[level] = buf;
      this.#words[level] = new Int32Array(buf.buffer);
    }
    buf.set(hashes, start * HASH_SIZE);
  }

  /** Node (level, index): a view into the mirror's memory, not to be modified. */
  node(level: number, index: number): Uint8Array {
    const at = index * HASH_SIZE;
    return (this.#levels[level] as Uint8Array).subarray(at, at + HASH_SIZE);
  }

  /**
   * MTH of leaves [start, end), for a range that starts at a multiple of a power of two at least
   * its length (every range of RFC 9162's recursion): a right-to-left fold of its complete
   * subtrees. Ranges ending at the tree's right edge are kept per tree size, because every proof
   * in that tree shares them.
   */
  rangeHash(start: number, end: number, treeSize: number): Uint8Array {
    if (end - start === 0) return syncTreeHashes.emptyRoot();
    const atEdge = end === treeSize;
    if (atEdge) {
      if (this.#edgeSize !== treeSize) {
        this.#edge = new Map();
        this.#edgeSize = treeSize;
      }
      const hit = this.#edge.get(start);
      if (hit !== undefined) return hit;
    }
    // Complete subtrees of the range, largest first; fold from the right.
    const nodes: Uint8Array[] = [];
    let at = start;
    let rest = end - start;
    let level = 0;
    let width = 1;
    while (width * 2 <= rest) {
      width *= 2;
      level++;
    }
    for (; rest > 0; width /= 2, level--) {
      if (width > rest) continue;
      nodes.push(this.node(level, at / width));
      at += width;
      rest -= width;
    }
    let h = nodes[nodes.length - 1] as Uint8Array;
    for (let i = nodes.length - 2; i >= 0; i--) h = syncTreeHashes.hashChildren(nodes[i] as Uint8Array, h);
    if (atEdge) this.#edge.set(start, h);
    return h;
  }

  /**
   * RFC 9162 §2.1.3.1 PATH(m, D[0:n]), bottom-up as on the wire, from memory: its hashes
   * concatenated in one new buffer (the form lookups serve), written straight from the level
   * buffers into a Buffer from Node's pool (why: docs/DIRECTORY.md, "The lookup path"). Every
   * byte is written; the result is a slice of the pool (its `.buffer` is the pool's), for use as
   * bytes.
   * @throws RangeError unless 0 <= m < n <= size (sync first).
   */
  inclusionPath(m: number, n: number): Uint8Array {
    this.#check(n);
    if (!Number.isSafeInteger(m) || m < 0 || m >= n) throw new RangeError(`"leafIndex" expected an integer in 0..${n - 1}, got ${m}`);
    const bytes = pathLength(m, n) * HASH_SIZE;
    // Node's pool hands out 8-byte-aligned slices (so the path can be written as words); should
    // that ever change, a buffer of its own.
    let out = Buffer.allocUnsafe(bytes);
    if (out.byteOffset % 4 !== 0) out = Buffer.allocUnsafeSlow(bytes);
    const words = new Int32Array(out.buffer, out.byteOffset, bytes / 4);
    // PATH recurses top-down and the wire lists the hashes bottom-up: fill from the end. The split
    // point k (the largest power of two below the range's size) only shrinks with the range, so it
    // is halved down to the next one, not searched for again.
    let at = out.length;
    let start = 0;
    let size = n;
    let k = 1;
    let level = 0;
    for (; k * 2 < n; k *= 2) level++;
    while (size > 1) {
      for (; k >= size; k /= 2) level--;
      at -= HASH_SIZE;
      if (m - start < k) {
        // The sibling is the right part, [start + k, start + size). At the tree's right edge it
        // may be incomplete (hashed from its complete subtrees, kept per tree size); inside the
        // tree it is the complete subtree of k leaves, as the whole range is of 2k.
        if (start + size === n) out.set(this.rangeHash(start + k, n, n), at);
        else this.#copyNode(level, (start + k) / k, words, at / 4);
        size = k;
      } else {
        this.#copyNode(level, start / k, words, at / 4); // the left part: complete, k leaves
        start += k;
        size -= k;
      }
    }
    return out;
  }

  /**
   * `inclusionPath` as one hash per element, each a copy of its own (not a view of Node's pool,
   * whose other bytes a view's `.buffer` would show).
   */
  inclusionProof(m: number, n: number): Uint8Array[] {
    const path = this.inclusionPath(m, n);
    const out: Uint8Array[] = [];
    for (let at = 0; at < path.length; at += HASH_SIZE) out.push(new Uint8Array(path.subarray(at, at + HASH_SIZE)));
    return out;
  }

  /** Writes node (level, index) to `out` at word `at`: eight word copies, no view per node. */
  #copyNode(level: number, index: number, out: Int32Array, at: number): void {
    const from = index * (HASH_SIZE / 4);
    const w = this.#words[level] as Int32Array;
    out[at] = w[from]!;
    out[at + 1] = w[from + 1]!;
    out[at + 2] = w[from + 2]!;
    out[at + 3] = w[from + 3]!;
    out[at + 4] = w[from + 4]!;
    out[at + 5] = w[from + 5]!;
    out[at + 6] = w[from + 6]!;
    out[at + 7] = w[from + 7]!;
  }

  /** RFC 9162 MTH of the first `n` leaves. @throws RangeError unless n <= size. */
  rootHash(n: number): Uint8Array {
    this.#check(n);
    return this.rangeHash(0, n, n);
  }

  #check(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0 || n > this.#size) {
      throw new RangeError(`"treeSize" expected an integer in 0..${this.#size} (the mirrored size), got ${n}`);
    }
  }
}

/** Hashes in PATH(m, D[0:n]): one per split of RFC 9162 §2.1.3.1's recursion. */
function pathLength(m: number, n: number): number {
  let length = 0;
  let start = 0;
  let size = n;
  let k = 1;
  while (k * 2 < n) k *= 2;
  for (; size > 1; length++) {
    while (k >= size) k /= 2;
    if (m - start < k) {
      size = k;
    } else {
      start += k;
      size -= k;
    }
  }
  return length;
}
