// How the three layers of an envelope are bound together (docs/FORMAT.md §5): the sender's
// signature covers the header, each HPKE stanza is bound to the header's preamble and to its
// own key id and epoch, and the payload's Cobblestone context is a hash of header and
// signature, so no part can be moved to another envelope.
import { platform } from '#platform';
import { SigilError } from '../errors.js';
import { concatBytes, toHex } from '../internal/bytes.js';
import { checkP256PublicKey } from '../internal/p256.js';
import { hkdfExtract } from '../internal/platform/hkdf.js';
import { KEY_ID_LENGTH, LABEL_CONTENT_KEY, LABEL_HEADER_SIGNATURE, LABEL_PAYLOAD, SIGNATURE_LENGTH } from './format.js';

/** FORMAT.md §5.1: the message the sender signs: label || header. */
export function signatureInput(header: Uint8Array): Uint8Array {
  return concatBytes(LABEL_HEADER_SIGNATURE, header);
}

/** FORMAT.md §5.2: HPKE info of every stanza: label || preamble. */
export function stanzaInfo(preamble: Uint8Array): Uint8Array {
  return concatBytes(LABEL_CONTENT_KEY, preamble);
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
 * has ALREADY validated with checkP256PublicKey (§3.1 step 5): encryption validates each
 * recipient key exactly once, just before this, and then seals to it without validating it
 * again (sealBaseChecked); decryption validated the sender key when it read the preamble.
 */
export async function checkedKeyIdBytes(publicKey: Uint8Array): Promise<Uint8Array> {
  const hex = toHex(publicKey);
  const cached = keyIds.get(hex);
  if (cached !== undefined) return cached.slice();
  return remember(keyIds, hex, (await platform.digest('SHA-256', publicKey)).slice(0, KEY_ID_LENGTH)).slice();
}

/**
 * FORMAT.md §5.3: Cobblestone context = HKDF-Extract-SHA256(salt = label, IKM = header ||
 * signature) (RFC 5869 §2.2), i.e. HMAC-SHA256 keyed with the label. On the platform seam it
 * is synchronous node:crypto in Node, where a WebCrypto digest would cost 20 µs per envelope.
 */
export async function payloadContext(header: Uint8Array, signature: Uint8Array): Promise<Uint8Array> {
  return hkdfExtract(platform, 'SHA-256', LABEL_PAYLOAD, concatBytes(header, signature));
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

/**
 * Verifies the sender's ECDSA P-256/SHA-256 signature (IEEE P1363) over the header
 * (FORMAT.md §5.1). The public key was validated when the preamble was read. On the platform
 * seam: synchronous node:crypto in Node (~45 µs, where a WebCrypto verify costs ~80 µs here),
 * WebCrypto in browsers; both keep the imported key of recent senders.
 *
 * @throws SigilError E_BAD_SIGNATURE if it does not verify.
 */
export async function verifyHeaderSignature(
  senderPublicKey: Uint8Array,
  header: Uint8Array,
  signature: Uint8Array,
): Promise<void> {
  let ok = false;
  if (signature.length === SIGNATURE_LENGTH) {
    try {
      ok = await platform.verifyEcdsaP256(senderPublicKey, signatureInput(header), signature);
    } catch {
      ok = false; // a signature the platform cannot even parse does not verify either
    }
  }
  if (!ok) {
    throw new SigilError('E_BAD_SIGNATURE', "The envelope's sender signature does not verify: the header was altered or not signed by the key it names.");
  }
}

/** Fresh random bytes from the platform CSPRNG (WebCrypto getRandomValues, in slices of 64 KiB). */
export function randomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let o = 0; o < length; o += 65536) globalThis.crypto.getRandomValues(out.subarray(o, Math.min(length, o + 65536)));
  return out;
}
