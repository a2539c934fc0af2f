// How the parts of an envelope are bound together (docs/FORMAT.md §5): the sender's signature
// covers the header (directly, or as part of the one segment signature), every segment
// signature covers a SHA-256 digest of that segment's ciphertext, each HPKE stanza is bound to
// the preamble and to its recipient's account, key id and epoch, and the payload's Cobblestone
// context is a hash of the header, so no part can be moved to another envelope.
import { platform } from '#platform';
import { SigilError } from '../errors.js';
import { concatBytes, toHex } from '../internal/bytes.js';
import { checkP256PublicKey } from '../internal/p256.js';
import { hkdfExtract } from '../internal/platform/hkdf.js';
import {
  DIGEST_LENGTH,
  KEY_ID_LENGTH,
  LABEL_CONTENT_KEY,
  LABEL_HEADER_SIGNATURE,
  LABEL_PAYLOAD,
  LABEL_SEGMENT_SIGNATURE,
  RECIPIENT_ACCOUNT,
  RECIPIENT_NONE,
  SIGNATURE_LENGTH,
} from './format.js';
import { CHUNK_HEADER_LENGTH, CHUNK_TAG_LENGTH } from '../internal/chunked-aead.js';

/** FORMAT.md §5.1: the message the sender signs in signing mode 0x02: label || header. */
export function headerSignatureInput(header: Uint8Array): Uint8Array {
  return concatBytes(LABEL_HEADER_SIGNATURE, header);
}

/**
 * FORMAT.md §5.4: the message a segment signature signs: label || SHA-256(header) ||
 * payload header (salt || commitment) || u32 index || u8 final || segment digest.
 */
export function segmentSignatureInput(
  headerDigest: Uint8Array,
  payloadHeader: Uint8Array,
  index: number,
  isFinal: boolean,
  segmentDigest: Uint8Array,
): Uint8Array {
  const l = LABEL_SEGMENT_SIGNATURE.length;
  const out = new Uint8Array(l + DIGEST_LENGTH + CHUNK_HEADER_LENGTH + 5 + DIGEST_LENGTH);
  out.set(LABEL_SEGMENT_SIGNATURE, 0);
  out.set(headerDigest, l);
  out.set(payloadHeader, l + DIGEST_LENGTH);
  const o = l + DIGEST_LENGTH + CHUNK_HEADER_LENGTH;
  new DataView(out.buffer).setUint32(o, index);
  out[o + 4] = isFinal ? 1 : 0;
  out.set(segmentDigest, o + 5);
  return out;
}

/**
 * FORMAT.md §5.4: the digest of one segment, SHA-256(SHA-256(ct_0) || tag_0 || ... ||
 * SHA-256(ct_k) || tag_k) over its chunks `ct_j || tag_j`. Hashing each chunk's ciphertext
 * apart lets both sides hash the pieces they already hold (a sealed chunk comes out as
 * ciphertext and tag) with the platform's one-shot digest, which WebCrypto offers and an
 * incremental hash it does not; it is collision-resistant if SHA-256 is (fixed-length entries).
 */
export class SegmentDigest {
  #entries: Uint8Array;
  #count = 0;

  constructor(segmentChunks: number) {
    this.#entries = new Uint8Array(segmentChunks * (DIGEST_LENGTH + CHUNK_TAG_LENGTH));
  }

  get count(): number {
    return this.#count;
  }

  /** Adds the next chunk, as its ciphertext without the tag and its 16-byte tag. */
  async add(ciphertext: Uint8Array, tag: Uint8Array): Promise<void> {
    const o = this.#count * (DIGEST_LENGTH + CHUNK_TAG_LENGTH);
    if (o >= this.#entries.length) throw new RangeError('more chunks than a segment holds');
    this.#entries.set(await platform.digest('SHA-256', ciphertext), o);
    this.#entries.set(tag, o + DIGEST_LENGTH);
    this.#count++;
  }

  /** The segment's digest; starts the next segment. */
  async finish(): Promise<Uint8Array> {
    const digest = await platform.digest('SHA-256', this.#entries.subarray(0, this.#count * (DIGEST_LENGTH + CHUNK_TAG_LENGTH)));
    this.#count = 0;
    return digest;
  }
}

/** SHA-256 on the platform seam. */
export function sha256(data: Uint8Array): Promise<Uint8Array> {
  return platform.digest('SHA-256', data);
}

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

/**
 * FORMAT.md §5.2: HPKE info of a stanza: label || preamble || kind || id length || recipient
 * id. The recipient's account is in the info, so a stanza sealed for one account does not open
 * as a stanza for another, even re-signed by the sender.
 */
export function stanzaInfo(preamble: Uint8Array, accountId: string | undefined): Uint8Array {
  const id = accountId === undefined ? new Uint8Array(0) : ascii(accountId);
  return concatBytes(LABEL_CONTENT_KEY, preamble, Uint8Array.of(accountId === undefined ? RECIPIENT_NONE : RECIPIENT_ACCOUNT, id.length), id);
}

/** FORMAT.md §5.2: HPKE aad of one stanza: key id || epoch (u32, big-endian). */
export function stanzaAad(keyId: Uint8Array, epoch: number): Uint8Array {
  const aad = new Uint8Array(KEY_ID_LENGTH + 4);
  aad.set(keyId, 0);
  new DataView(aad.buffer).setUint32(KEY_ID_LENGTH, epoch);
  return aad;
}

// Key ids by public key (hex): a sender writes to the same recipients again and again, and in
// browsers a WebCrypto digest costs 20-35 µs, a seventh of a 1 KiB encryption (in Node the
// platform hashes synchronously, about as fast as a lookup). Public data; bounded.
const keyIds = new Map<string, Uint8Array>();
const CACHE_SIZE = 1024;

function remember<V>(cache: Map<string, V>, key: string, value: V): V {
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  cache.set(key, value);
  return value;
}

/**
 * FORMAT.md §1: keyId(pk) = first 16 bytes of SHA-256(pk), as `keyIdOf`, of a key the caller
 * has ALREADY validated with checkP256PublicKey (§3.1): encryption validates each recipient key
 * exactly once, just before this, and then seals to it without validating it again
 * (sealBaseChecked); decryption validated the sender key when it read the preamble.
 */
export async function checkedKeyIdBytes(publicKey: Uint8Array): Promise<Uint8Array> {
  const hex = toHex(publicKey);
  const cached = keyIds.get(hex);
  if (cached !== undefined) return cached.slice();
  return remember(keyIds, hex, (await platform.digest('SHA-256', publicKey)).slice(0, KEY_ID_LENGTH)).slice();
}

/**
 * FORMAT.md §5.3: Cobblestone context = HKDF-Extract-SHA256(salt = label, IKM = header)
 * (RFC 5869 §2.2), i.e. HMAC-SHA256 keyed with the label.
 */
export async function payloadContext(header: Uint8Array): Promise<Uint8Array> {
  return hkdfExtract(platform, 'SHA-256', LABEL_PAYLOAD, header);
}

// Sender public keys already validated, by hex: a sender signs envelope after envelope with
// one key, and a validation costs ~4 µs, 2% of a 1 KiB encryption. Public data; bounded.
const validSenderKeys = new Map<string, true>();

/**
 * checkP256PublicKey for the sender's own public key (FORMAT.md §3.1), once per key bytes.
 * @throws SigilError E_BAD_PUBLIC_KEY
 */
export function checkSenderPublicKey(publicKey: Uint8Array): void {
  const hex = toHex(publicKey);
  if (validSenderKeys.has(hex)) return;
  checkP256PublicKey(publicKey);
  remember(validSenderKeys, hex, true);
}

// P-256 group order n and n/2 (SEC 2 §2.4.2), for the low-S rule of FORMAT.md §3.3.
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const HALF_N = N >> 1n;

function scalarAt(bytes: Uint8Array, o: number): bigint {
  let x = 0n;
  for (let i = o; i < o + 32; i++) x = (x << 8n) | BigInt(bytes[i] as number);
  return x;
}

/**
 * FORMAT.md §3.3: the low-S form of a P1363 signature: (r, n - s) when s > n/2. Both verify
 * (ECDSA is malleable), so encoders write the low one and decoders refuse the other: every
 * envelope then has one encoding. WebCrypto and PKCS#11 tokens return either.
 */
export function toLowS(signature: Uint8Array): Uint8Array {
  const s = scalarAt(signature, 32);
  if (s <= HALF_N) return signature;
  const out = signature.slice();
  let low = N - s;
  for (let i = 63; i >= 32; i--) {
    out[i] = Number(low & 0xffn);
    low >>= 8n;
  }
  return out;
}

/**
 * Verifies an ECDSA P-256/SHA-256 signature (IEEE P1363, low-S) over `message` (FORMAT.md
 * §3.3), with a public key validated when the header was read. On the platform seam:
 * synchronous node:crypto in Node, WebCrypto in browsers.
 *
 * @throws SigilError E_BAD_SIGNATURE (with `what` in the message) if it does not verify.
 */
export async function verifySignature(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, what: string): Promise<void> {
  let ok = false;
  if (signature.length === SIGNATURE_LENGTH && scalarAt(signature, 32) <= HALF_N) {
    try {
      ok = await platform.verifyEcdsaP256(publicKey, message, signature);
    } catch {
      ok = false; // a signature the platform cannot even parse does not verify either
    }
  }
  if (!ok) {
    throw new SigilError('E_BAD_SIGNATURE', `The envelope's ${what} signature does not verify: the envelope was altered or not signed by the key it names.`);
  }
}

/** Fresh random bytes from the platform CSPRNG (WebCrypto getRandomValues, in slices of 64 KiB). */
export function randomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let o = 0; o < length; o += 65536) globalThis.crypto.getRandomValues(out.subarray(o, Math.min(length, o + 65536)));
  return out;
}
