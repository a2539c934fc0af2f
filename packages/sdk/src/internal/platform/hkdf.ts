// HKDF (RFC 5869) composed on the platform's HMAC. Neither node:crypto nor WebCrypto exposes
// Expand alone (both fuse Extract+Expand), and HPKE (RFC 9180 §4) and Cobblestone need Expand
// with a given PRK, so Expand is written here over HMAC, exactly as RFC 5869 §2.3 defines it.
import type { CryptoPlatform, HashName } from './types.js';

const HASH_LENGTH: Record<HashName, number> = { 'SHA-256': 32, 'SHA-512': 64 };

/** RFC 5869 §2.2: PRK = HMAC-Hash(salt, IKM); an empty salt means HashLen zero bytes. */
export async function hkdfExtract(
  platform: CryptoPlatform,
  hash: HashName,
  salt: Uint8Array,
  ikm: Uint8Array,
): Promise<Uint8Array> {
  return platform.hmac(hash, salt.length === 0 ? new Uint8Array(HASH_LENGTH[hash]) : salt, ikm);
}

/**
 * RFC 5869 §2.3: T(i) = HMAC-Hash(PRK, T(i-1) || info || i), OKM = first L bytes of T(1)||T(2)...
 * @throws RangeError if `length` exceeds 255 * HashLen (the RFC's limit) or is negative.
 */
export async function hkdfExpand(
  platform: CryptoPlatform,
  hash: HashName,
  prk: Uint8Array,
  info: Uint8Array,
  length: number,
): Promise<Uint8Array> {
  const hashLength = HASH_LENGTH[hash];
  if (!Number.isInteger(length) || length < 0 || length > 255 * hashLength) {
    throw new RangeError(`"length" expected an integer in 0..${255 * hashLength}, got ${length}`);
  }
  const okm = new Uint8Array(length);
  const input = new Uint8Array(hashLength + info.length + 1);
  let previous: Uint8Array = new Uint8Array(0);
  for (let i = 1, offset = 0; offset < length; i++) {
    // T(i-1) || info || i, with T(0) empty.
    const block = input.subarray(hashLength - previous.length);
    block.set(previous, 0);
    block.set(info, previous.length);
    block[previous.length + info.length] = i;
    previous = await platform.hmac(hash, prk, block);
    okm.set(previous.subarray(0, Math.min(hashLength, length - offset)), offset);
    offset += hashLength;
  }
  return okm;
}

/** RFC 5869 §2: Extract then Expand. */
export async function hkdf(
  platform: CryptoPlatform,
  hash: HashName,
  ikm: Uint8Array,
  salt: Uint8Array,
  info: Uint8Array,
  length: number,
): Promise<Uint8Array> {
  return hkdfExpand(platform, hash, await hkdfExtract(platform, hash, salt, ikm), info, length);
}
