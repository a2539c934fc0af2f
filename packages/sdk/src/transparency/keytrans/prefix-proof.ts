// Prefix-tree search proofs (draft-ietf-keytrans-protocol, "Tree Proofs", "Prefix Tree"): the
// PrefixProof structure, its TLS encoding, and its verification against a root.
//
// Verification rebuilds the part of the tree the proof covers. Each result places its terminal
// node (a leaf for inclusion, the given leaf for nonInclusionLeaf, an absent child for
// nonInclusionParent) at its depth on its search key's path, with parents above it; the copath
// `elements` then fill, left to right, every child slot no search went through; the root is
// hashed from that. Stricter than "the root matches", and each refusal is tested:
// - results and searches must correspond one to one, and every element must be used exactly once;
// - two searches must agree where their paths meet (same terminal at the same depth, no parent
//   where another search ended);
// - a nonInclusionLeaf leaf must not be the searched key (that would be a present key proved
//   absent) and must lie on the searched key's path;
// - an inclusion result needs the commitment the caller expects (from the opening it was sent),
//   and a non-inclusion result must come without one.
import { SigilError } from '../../errors.js';
import { assertBytes, concatBytes, equalConstantTime } from '../../internal/bytes.js';
import {
  EMPTY_NODE_VALUE,
  type PrefixLeaf,
  prefixLeafValue,
  prefixParentValue,
  searchKeyBit,
  sharePrefix,
} from './prefix-hash.js';
import { KT_HASH_LENGTH, KT_VRF_OUTPUT_LENGTH } from './suite.js';

/** `PrefixSearchResultType`: how the search for one key ended. */
export const PREFIX_RESULT_TYPE = Object.freeze({ inclusion: 1, nonInclusionLeaf: 2, nonInclusionParent: 3 } as const);

/**
 * One search's terminal node (`PrefixSearchResult`). `depth` is the terminal's depth (root 0);
 * for `nonInclusionParent`, the depth of the missing child, one below the parent that lacks it.
 */
export type PrefixSearchResult =
  | { readonly type: 'inclusion'; readonly depth: number }
  | { readonly type: 'nonInclusionLeaf'; readonly leaf: PrefixLeaf; readonly depth: number }
  | { readonly type: 'nonInclusionParent'; readonly depth: number };

/** `struct { PrefixSearchResult results<0..2^8-1>; HashValue elements<0..2^16-1>; } PrefixProof;` */
export interface PrefixProof {
  /** One result per search key, in the order the keys were asked for. */
  readonly results: readonly PrefixSearchResult[];
  /** The copath node values, left to right; 32 zero bytes for a missing node. */
  readonly elements: readonly Uint8Array[];
}

/** What the verifier looked up: a search key, and the commitment it expects if the key is present. */
export interface PrefixSearch {
  readonly vrfOutput: Uint8Array;
  /** The commitment computed from the opening and value the directory sent; absent for a key it says is absent. */
  readonly commitment?: Uint8Array | undefined;
}

/** Search depths are a uint8 on the wire; 256 bits of key allow no deeper terminal anyway. */
const MAX_DEPTH = 255;

function fail(message: string, detail: string): never {
  throw new SigilError('E_DIRECTORY_PROOF', message, { detail });
}

// --- TLS encoding (draft "Presentation Language": vector bounds count elements, not bytes) ---

/**
 * The TLS encoding of a PrefixProof: uint8 result count, each result (uint8 type, the leaf
 * for nonInclusionLeaf, uint8 depth), uint16 element count, the elements.
 *
 * @throws RangeError if there are more than 255 results or 65535 elements, a depth is not in
 *   0..255, or a value has the wrong length.
 */
export function encodePrefixProof(proof: PrefixProof): Uint8Array {
  if (proof.results.length > 0xff) throw new RangeError(`a PrefixProof holds at most 255 results, got ${proof.results.length}`);
  if (proof.elements.length > 0xffff) throw new RangeError(`a PrefixProof holds at most 65535 elements, got ${proof.elements.length}`);
  const parts: Uint8Array[] = [Uint8Array.of(proof.results.length)];
  for (const result of proof.results) {
    if (!Number.isInteger(result.depth) || result.depth < 0 || result.depth > MAX_DEPTH) {
      throw new RangeError(`a search depth is a uint8, got ${String(result.depth)}`);
    }
    parts.push(Uint8Array.of(PREFIX_RESULT_TYPE[result.type]));
    if (result.type === 'nonInclusionLeaf') {
      assertBytes('leaf.vrfOutput', result.leaf.vrfOutput, KT_VRF_OUTPUT_LENGTH);
      assertBytes('leaf.commitment', result.leaf.commitment, KT_HASH_LENGTH);
      parts.push(result.leaf.vrfOutput, result.leaf.commitment);
    }
    parts.push(Uint8Array.of(result.depth));
  }
  parts.push(Uint8Array.of(proof.elements.length >> 8, proof.elements.length & 0xff));
  for (const element of proof.elements) {
    assertBytes('element', element, KT_HASH_LENGTH);
    parts.push(element);
  }
  return concatBytes(...parts);
}

/**
 * Parses the TLS encoding of a PrefixProof, strictly: a known result type, no truncation, no
 * trailing bytes.
 *
 * @throws SigilError `E_DIRECTORY_PROOF` (detail `prefix-proof-encoding`) on any malformation.
 */
export function decodePrefixProof(bytes: Uint8Array): PrefixProof {
  assertBytes('bytes', bytes);
  let offset = 0;
  const take = (n: number): Uint8Array => {
    if (offset + n > bytes.length) fail('The prefix proof is truncated.', 'prefix-proof-encoding');
    const out = bytes.slice(offset, offset + n);
    offset += n;
    return out;
  };
  const byte = (): number => take(1)[0] as number;
  const results: PrefixSearchResult[] = [];
  for (let count = byte(), i = 0; i < count; i++) {
    const type = byte();
    if (type === PREFIX_RESULT_TYPE.inclusion) results.push({ type: 'inclusion', depth: byte() });
    else if (type === PREFIX_RESULT_TYPE.nonInclusionParent) results.push({ type: 'nonInclusionParent', depth: byte() });
    else if (type === PREFIX_RESULT_TYPE.nonInclusionLeaf) {
      const leaf = { vrfOutput: take(KT_VRF_OUTPUT_LENGTH), commitment: take(KT_HASH_LENGTH) };
      results.push({ type: 'nonInclusionLeaf', leaf, depth: byte() });
    } else fail('The prefix proof has an unknown search result type.', 'prefix-proof-encoding');
  }
  const elements: Uint8Array[] = [];
  for (let count = (byte() << 8) | byte(), i = 0; i < count; i++) elements.push(take(KT_HASH_LENGTH));
  if (offset !== bytes.length) fail('The prefix proof has trailing bytes.', 'prefix-proof-encoding');
  return { results, elements };
}

// --- Verification -----------------------------------------------------------------------------

/** What a search ends at: a leaf, or an absent child. */
type Terminal = { readonly kind: 'leaf'; readonly leaf: PrefixLeaf } | { readonly kind: 'empty' };

/** A node of the partial tree a proof describes; 'unknown' is a copath slot, filled from `elements`. */
class PartialNode {
  kind: 'unknown' | 'parent' | Terminal['kind'] = 'unknown';
  left: PartialNode | undefined;
  right: PartialNode | undefined;
  leaf: PrefixLeaf | undefined;
}

function sameTerminal(node: PartialNode, terminal: Terminal): boolean {
  if (node.kind !== terminal.kind) return false;
  if (terminal.kind === 'empty') return true;
  const leaf = node.leaf as PrefixLeaf;
  return equalConstantTime(leaf.vrfOutput, terminal.leaf.vrfOutput) && equalConstantTime(leaf.commitment, terminal.leaf.commitment);
}

/** The terminal node one result claims for one search, after the checks that need no tree. */
function terminalOf(search: PrefixSearch, result: PrefixSearchResult): Terminal {
  if (!Number.isInteger(result.depth) || result.depth < 0 || result.depth > MAX_DEPTH) {
    fail('A prefix search result has a depth out of range.', 'prefix-depth');
  }
  if (result.type === 'inclusion') {
    if (search.commitment === undefined) fail('The directory proved a key present without its commitment.', 'prefix-missing-commitment');
    return { kind: 'leaf', leaf: { vrfOutput: search.vrfOutput, commitment: search.commitment } };
  }
  if (search.commitment !== undefined) fail('The directory sent a commitment for a key it proves absent.', 'prefix-unexpected-commitment');
  if (result.type === 'nonInclusionParent') return { kind: 'empty' };
  if (result.type !== 'nonInclusionLeaf') fail('A prefix search result has an unknown type.', 'prefix-result-type');
  const { vrfOutput, commitment } = result.leaf;
  if (!(vrfOutput instanceof Uint8Array) || vrfOutput.length !== KT_VRF_OUTPUT_LENGTH) fail('A prefix leaf key is not 32 bytes.', 'prefix-leaf-length');
  if (!(commitment instanceof Uint8Array) || commitment.length !== KT_HASH_LENGTH) fail('A prefix leaf commitment is not 32 bytes.', 'prefix-leaf-length');
  if (equalConstantTime(vrfOutput, search.vrfOutput)) fail('The directory proved a present key absent.', 'prefix-absent-but-present');
  if (!sharePrefix(vrfOutput, search.vrfOutput, result.depth)) fail('A non-inclusion leaf is not on the search path.', 'prefix-leaf-off-path');
  return { kind: 'leaf', leaf: { vrfOutput, commitment } };
}

/** Places one search's terminal in the partial tree, growing parents along its path. */
function place(root: PartialNode, search: PrefixSearch, result: PrefixSearchResult): void {
  const terminal = terminalOf(search, result);
  let node = root;
  for (let depth = 0; ; depth++) {
    if (node.kind === 'unknown') {
      if (depth === result.depth) {
        node.kind = terminal.kind;
        if (terminal.kind === 'leaf') node.leaf = terminal.leaf;
        return;
      }
      node.kind = 'parent';
      node.left = new PartialNode();
      node.right = new PartialNode();
    } else if (node.kind !== 'parent') {
      // Another search ended here: it must have ended at the same node, at the same depth.
      if (depth !== result.depth || !sameTerminal(node, terminal)) fail('Two prefix search results contradict each other.', 'prefix-conflict');
      return;
    } else if (depth === result.depth) {
      fail('Two prefix search results contradict each other.', 'prefix-conflict'); // a parent where this search ends
    }
    node = (searchKeyBit(search.vrfOutput, depth) === 0 ? node.left : node.right) as PartialNode;
  }
}

/** Hashes the partial tree, taking copath values from `elements` left to right. */
function valueOf(node: PartialNode, elements: readonly Uint8Array[], next: { index: number }): Uint8Array {
  switch (node.kind) {
    case 'unknown': {
      const element = elements[next.index++];
      if (element === undefined) fail('The prefix proof has too few copath elements.', 'prefix-missing-element');
      if (!(element instanceof Uint8Array) || element.length !== KT_HASH_LENGTH) fail('A prefix proof element is not 32 bytes.', 'prefix-element-length');
      return element;
    }
    case 'empty':
      return EMPTY_NODE_VALUE;
    case 'leaf':
      return prefixLeafValue((node.leaf as PrefixLeaf).vrfOutput, (node.leaf as PrefixLeaf).commitment);
    case 'parent': {
      const left = valueOf(node.left as PartialNode, elements, next);
      return prefixParentValue(left, valueOf(node.right as PartialNode, elements, next));
    }
  }
}

/**
 * The root a PrefixProof implies for `searches` (in the order they were asked), without
 * comparing it to anything. Use {@link verifyPrefixProof} unless the root comes later.
 *
 * @throws SigilError `E_DIRECTORY_PROOF` if the proof is malformed or inconsistent (the
 *   `detail` says how: `prefix-result-count`, `prefix-conflict`, `prefix-absent-but-present`,
 *   `prefix-leaf-off-path`, `prefix-missing-commitment`, `prefix-unexpected-commitment`,
 *   `prefix-missing-element`, `prefix-extra-element`, ...).
 * @throws RangeError if a search key is not 32 bytes, a commitment not 32 bytes, or a key is
 *   searched twice (the caller's own list).
 */
export function prefixRootFromProof(searches: readonly PrefixSearch[], proof: PrefixProof): Uint8Array {
  checkSearches(searches);
  if (proof.results.length !== searches.length) fail('The prefix proof does not answer every search.', 'prefix-result-count');
  const root = new PartialNode();
  searches.forEach((search, i) => place(root, search, proof.results[i] as PrefixSearchResult));
  const next = { index: 0 };
  const value = valueOf(root, proof.elements, next);
  if (next.index !== proof.elements.length) fail('The prefix proof has unused copath elements.', 'prefix-extra-element');
  return value;
}

/**
 * Verifies a PrefixProof for `searches` against a prefix-tree root: each key is present with
 * the commitment given, or absent if none is given, in the tree whose root is `root`.
 *
 * @throws SigilError `E_DIRECTORY_PROOF` as {@link prefixRootFromProof}, and with detail
 *   `prefix-root` if the proof is well formed but for another root.
 * @throws RangeError as {@link prefixRootFromProof}; TypeError on arguments of the wrong type.
 * @example
 * ```ts
 * verifyPrefixProof(prefixRoot, [{ vrfOutput: searchKey, commitment }], decodePrefixProof(bytes));
 * ```
 */
export function verifyPrefixProof(root: Uint8Array, searches: readonly PrefixSearch[], proof: PrefixProof): void {
  assertBytes('root', root, KT_HASH_LENGTH);
  if (!equalConstantTime(prefixRootFromProof(searches, proof), root)) fail('The prefix proof is for another root.', 'prefix-root');
}

/** The caller's searches: 32-byte keys, no key twice. */
export function checkSearches(searches: readonly { readonly vrfOutput: Uint8Array; readonly commitment?: Uint8Array | undefined }[]): void {
  if (!Array.isArray(searches)) throw new TypeError('"searches" expected an array');
  const seen = new Set<string>();
  for (const { vrfOutput, commitment } of searches) {
    assertBytes('vrfOutput', vrfOutput, KT_VRF_OUTPUT_LENGTH);
    if (commitment !== undefined) assertBytes('commitment', commitment, KT_HASH_LENGTH);
    const key = String.fromCharCode(...vrfOutput);
    if (seen.has(key)) throw new RangeError('a search key is searched twice');
    seen.add(key);
  }
}
