// Prefix-tree node values (draft-ietf-keytrans-protocol, "Cryptographic Computations", "Prefix
// Tree") and the bit order of search keys (draft "Prefix Tree": a search moves left on 0, right
// on 1, from the first bit; the first bit is the most significant bit of the first byte).
//
// The leading 0x02 / 0x03 separate leaves from parents, and a missing child is 32 zero bytes,
// which no SHA-256 output is known to equal: so a root fixes, along any search path, whether
// each node is a parent, a leaf (and which) or absent. That is what makes one search answer the
// only one a root can prove.
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes } from '../../internal/bytes.js';
import { KT_HASH_LENGTH } from './suite.js';

const LEAF_PREFIX = Uint8Array.of(0x02);
const PARENT_PREFIX = Uint8Array.of(0x03);

/** A prefix-tree leaf: a search key (VRF output) and the commitment stored under it. */
export interface PrefixLeaf {
  /** The VRF output of the label-version pair (VRF.Nh = 32 bytes). */
  readonly vrfOutput: Uint8Array;
  /** The commitment to the pair's UpdateValue (Hash.Nh = 32 bytes). */
  readonly commitment: Uint8Array;
}

/** The value of a missing child, and the root of the empty tree: Hash.Nh zero bytes. */
export const EMPTY_NODE_VALUE: Uint8Array = new Uint8Array(KT_HASH_LENGTH);

/** `leaf.value = Hash(0x02 || vrf_output || commitment)`. */
export function prefixLeafValue(vrfOutput: Uint8Array, commitment: Uint8Array): Uint8Array {
  return sha256(concatBytes(LEAF_PREFIX, vrfOutput, commitment));
}

/** `parent.value = Hash(0x03 || left.value || right.value)`, a missing child counting as zeros. */
export function prefixParentValue(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(concatBytes(PARENT_PREFIX, left, right));
}

/** Bit `index` of a search key, 0 = the most significant bit of byte 0. */
export function searchKeyBit(key: Uint8Array, index: number): 0 | 1 {
  return (((key[index >> 3] as number) >> (7 - (index & 7))) & 1) as 0 | 1;
}

/** Byte-wise order of search keys, which is the order of their bit strings. */
export function compareSearchKeys(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length && i < b.length; i++) {
    if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  }
  return a.length - b.length;
}

/** Whether `a` and `b` agree on their first `bits` bits. */
export function sharePrefix(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  for (let i = 0; i < bits; i++) if (searchKeyBit(a, i) !== searchKeyBit(b, i)) return false;
  return true;
}
