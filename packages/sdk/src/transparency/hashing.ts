// RFC 9162 §2.1.1 Merkle tree hashing with SHA-256, through WebCrypto so that it runs unchanged in
// browsers and in Node. The 0x00 / 0x01 prefixes are the domain separation between leaves and
// interior nodes that stops a second-preimage attack (a node passed off as a leaf).
import { concatBytes } from '../internal/bytes.js';

/** Length in bytes of every hash in the log (SHA-256). */
export const HASH_SIZE = 32;

const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

async function sha256(data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>));
}

/**
 * The hash of a log entry: `SHA-256(0x00 || data)` (RFC 9162 §2.1.1).
 *
 * @example
 * ```ts
 * const leaf = await hashLeaf(statementBytes);
 * ```
 */
export async function hashLeaf(data: Uint8Array): Promise<Uint8Array> {
  if (!(data instanceof Uint8Array)) throw new TypeError(`"data" expected Uint8Array, got ${typeof data}`);
  return sha256(concatBytes(LEAF_PREFIX, data));
}

/** The hash of an interior node: `SHA-256(0x01 || left || right)` (RFC 9162 §2.1.1). */
export async function hashChildren(left: Uint8Array, right: Uint8Array): Promise<Uint8Array> {
  return sha256(concatBytes(NODE_PREFIX, left, right));
}

/** The root of the empty tree: `SHA-256()` (RFC 9162 §2.1.1, MTH({}) ). */
export async function emptyRoot(): Promise<Uint8Array> {
  return sha256(new Uint8Array(0));
}
