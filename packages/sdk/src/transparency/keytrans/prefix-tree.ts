// The KEYTRANS prefix tree (draft-ietf-keytrans-protocol, "Prefix Tree" and "Tree Proofs"), in
// memory: a binary trie over 256-bit search keys whose leaves hold commitments.
//
// Shape (the draft's, which makes the root a function of the set of leaves alone, whatever the
// order or batching of insertions): a tree of one leaf is that leaf; otherwise a leaf sits one
// level below the longest prefix it shares with any other key, with a parent for every shared
// bit above it and an absent child (32 zero bytes) where no key continues. The empty tree's root
// is 32 zero bytes (the draft leaves it open; see docs/TRANSPARENCY.md).
//
// A tree is immutable: `insert` returns a new tree that shares every untouched subtree with the
// old one, so keeping each version's tree (one per log entry) costs only the changed paths.
// Search keys are never removed or replaced: a label-version pair is written once.
import { SigilError } from '../../errors.js';
import { assertBytes, copyBytes } from '../../internal/bytes.js';
import {
  EMPTY_NODE_VALUE,
  type PrefixLeaf,
  compareSearchKeys,
  prefixLeafValue,
  prefixParentValue,
  searchKeyBit,
} from './prefix-hash.js';
import { type PrefixProof, type PrefixSearchResult, checkSearches } from './prefix-proof.js';
import { KT_HASH_LENGTH, KT_VRF_OUTPUT_LENGTH } from './suite.js';

/** Deepest leaf a PrefixProof can name: depths are a uint8. */
const MAX_LEAF_DEPTH = 255;

class Leaf {
  #value: Uint8Array | undefined;
  constructor(readonly entry: PrefixLeaf) {}
  get value(): Uint8Array {
    return (this.#value ??= prefixLeafValue(this.entry.vrfOutput, this.entry.commitment));
  }
}

class Parent {
  #value: Uint8Array | undefined;
  readonly size: number;
  constructor(
    readonly left: Node,
    readonly right: Node,
  ) {
    this.size = sizeOf(left) + sizeOf(right);
  }
  get value(): Uint8Array {
    return (this.#value ??= prefixParentValue(valueOf(this.left), valueOf(this.right)));
  }
}

/** `undefined` is an absent node. */
type Node = Leaf | Parent | undefined;

const sizeOf = (node: Node): number => (node === undefined ? 0 : node instanceof Leaf ? 1 : node.size);
const valueOf = (node: Node): Uint8Array => (node === undefined ? EMPTY_NODE_VALUE : node.value);

/** The index of the first key whose bit `depth` is 1, in keys sorted by {@link compareSearchKeys}. */
function splitIndex<T>(sorted: readonly T[], key: (t: T) => Uint8Array, depth: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (searchKeyBit(key(sorted[mid] as T), depth) === 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Builds the subtree at `depth` holding exactly `sorted` (distinct keys, sorted). */
function build(sorted: readonly PrefixLeaf[], depth: number): Node {
  if (sorted.length === 0) return undefined;
  if (sorted.length === 1) {
    if (depth > MAX_LEAF_DEPTH) {
      throw new SigilError('E_LIMIT', 'Two search keys share 255 bits; a prefix proof cannot name the leaf depth.');
    }
    return new Leaf(sorted[0] as PrefixLeaf);
  }
  const split = splitIndex(sorted, (e) => e.vrfOutput, depth);
  return new Parent(build(sorted.slice(0, split), depth + 1), build(sorted.slice(split), depth + 1));
}

/** The subtree at `depth` of `node` with `sorted` added (distinct keys, sorted, none in `node`). */
function insertInto(node: Node, sorted: readonly PrefixLeaf[], depth: number): Node {
  if (sorted.length === 0) return node;
  if (node === undefined) return build(sorted, depth);
  if (node instanceof Leaf) {
    // The leaf is in the way: rebuild this subtree with it, which pushes it down as far as the
    // new keys need (the draft's "one or more intermediate nodes are added").
    const merged = [...sorted];
    merged.splice(splitIndexOf(merged, node.entry.vrfOutput), 0, node.entry);
    return build(merged, depth);
  }
  const split = splitIndex(sorted, (e) => e.vrfOutput, depth);
  return new Parent(insertInto(node.left, sorted.slice(0, split), depth + 1), insertInto(node.right, sorted.slice(split), depth + 1));
}

/** Where `key` goes in `sorted` to keep it sorted. */
function splitIndexOf(sorted: readonly PrefixLeaf[], key: Uint8Array): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareSearchKeys((sorted[mid] as PrefixLeaf).vrfOutput, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function find(node: Node, key: Uint8Array): PrefixLeaf | undefined {
  for (let depth = 0; node !== undefined; depth++) {
    if (node instanceof Leaf) return compareSearchKeys(node.entry.vrfOutput, key) === 0 ? node.entry : undefined;
    node = searchKeyBit(key, depth) === 0 ? node.left : node.right;
  }
  return undefined;
}

/** The answer to a batch search: the proof, and the commitment of each key found (`undefined` if absent). */
export interface PrefixSearchAnswer {
  readonly proof: PrefixProof;
  readonly commitments: readonly (Uint8Array | undefined)[];
}

/**
 * An immutable KEYTRANS prefix tree. Start from {@link PrefixTree.empty}; {@link PrefixTree.insert}
 * returns a new version; {@link PrefixTree.search} answers a batch of lookups with one proof
 * that {@link verifyPrefixProof} checks against {@link PrefixTree.root}.
 *
 * @example
 * ```ts
 * const v1 = PrefixTree.empty.insert([{ vrfOutput: searchKey, commitment }]);
 * const { proof } = v1.search([searchKey, otherKey]);
 * verifyPrefixProof(v1.root, [{ vrfOutput: searchKey, commitment }, { vrfOutput: otherKey }], proof);
 * ```
 */
export class PrefixTree {
  /** The tree with no leaves; its root is 32 zero bytes. */
  static readonly empty: PrefixTree = new PrefixTree(undefined);

  readonly #top: Node;

  private constructor(top: Node) {
    this.#top = top;
  }

  /** The number of leaves. */
  get size(): number {
    return sizeOf(this.#top);
  }

  /** The root value (32 bytes) that the log entry of this version records. */
  get root(): Uint8Array {
    return copyBytes(valueOf(this.#top));
  }

  /**
   * A new version of the tree with `leaves` added, in one batch. The result does not depend on
   * the order of `leaves` or on how insertions are split into batches.
   *
   * @throws RangeError if a key or commitment is not 32 bytes, a key appears twice in `leaves`,
   *   or a key is already in the tree (a label-version pair is written once).
   * @throws SigilError `E_LIMIT` if two keys share their first 255 bits (probability about
   *   2^-255 for VRF outputs), which no PrefixProof could describe.
   */
  insert(leaves: readonly PrefixLeaf[]): PrefixTree {
    if (!Array.isArray(leaves)) throw new TypeError('"leaves" expected an array');
    const sorted = leaves.map(({ vrfOutput, commitment }) => {
      assertBytes('vrfOutput', vrfOutput, KT_VRF_OUTPUT_LENGTH);
      assertBytes('commitment', commitment, KT_HASH_LENGTH);
      return { vrfOutput: copyBytes(vrfOutput), commitment: copyBytes(commitment) };
    });
    sorted.sort((a, b) => compareSearchKeys(a.vrfOutput, b.vrfOutput));
    for (let i = 0; i < sorted.length; i++) {
      const key = (sorted[i] as PrefixLeaf).vrfOutput;
      if (i > 0 && compareSearchKeys((sorted[i - 1] as PrefixLeaf).vrfOutput, key) === 0) {
        throw new RangeError('a search key appears twice in one insertion');
      }
      if (find(this.#top, key) !== undefined) throw new RangeError('a search key is already in the prefix tree');
    }
    return new PrefixTree(insertInto(this.#top, sorted, 0));
  }

  /** The commitment stored under `vrfOutput`, or `undefined`. */
  get(vrfOutput: Uint8Array): Uint8Array | undefined {
    assertBytes('vrfOutput', vrfOutput, KT_VRF_OUTPUT_LENGTH);
    const entry = find(this.#top, vrfOutput);
    return entry === undefined ? undefined : copyBytes(entry.commitment);
  }

  /**
   * Searches `vrfOutputs` as one batch (draft "Tree Proofs", "Prefix Tree"): one result per key,
   * in the order given, and the fewest copath values, left to right, that hash with the
   * terminals to the root.
   *
   * @throws RangeError if a key is not 32 bytes or is searched twice.
   */
  search(vrfOutputs: readonly Uint8Array[]): PrefixSearchAnswer {
    checkSearches(vrfOutputs.map((vrfOutput) => ({ vrfOutput })));
    const results: PrefixSearchResult[] = new Array<PrefixSearchResult>(vrfOutputs.length);
    const commitments: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(vrfOutputs.length).fill(undefined);
    const elements: Uint8Array[] = [];
    const order = vrfOutputs.map((key, index) => ({ key, index }));
    order.sort((a, b) => compareSearchKeys(a.key, b.key));

    // Left before right, so elements come out in the draft's left-to-right order.
    const walk = (node: Node, batch: readonly { key: Uint8Array; index: number }[], depth: number): void => {
      if (batch.length === 0) {
        elements.push(copyBytes(valueOf(node)));
      } else if (node === undefined) {
        for (const { index } of batch) results[index] = { type: 'nonInclusionParent', depth };
      } else if (node instanceof Leaf) {
        for (const { key, index } of batch) {
          if (compareSearchKeys(node.entry.vrfOutput, key) === 0) {
            results[index] = { type: 'inclusion', depth };
            commitments[index] = copyBytes(node.entry.commitment);
          } else {
            const leaf = { vrfOutput: copyBytes(node.entry.vrfOutput), commitment: copyBytes(node.entry.commitment) };
            results[index] = { type: 'nonInclusionLeaf', leaf, depth };
          }
        }
      } else {
        const split = splitIndex(batch, (b) => b.key, depth);
        walk(node.left, batch.slice(0, split), depth + 1);
        walk(node.right, batch.slice(split), depth + 1);
      }
    };
    walk(this.#top, order, 0);
    return { proof: { results, elements }, commitments };
  }
}
