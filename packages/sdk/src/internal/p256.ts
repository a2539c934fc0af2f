// P-256 public-key handling shared by every backend and by HPKE.
import { p256 } from '@noble/curves/nist.js';
import { SigilError } from '../errors.js';
import { toHex } from './bytes.js';

/** Length of an uncompressed SEC1 P-256 point: 0x04 || X (32) || Y (32). */
export const P256_PUBLIC_KEY_LENGTH = 65;

/**
 * Validates a P-256 public key before any other library sees it (SEC1 §3.2.2.1 full public-key
 * validation: uncompressed encoding, coordinates in range, point on the curve, not the identity).
 *
 * Only the 65-byte uncompressed form is accepted, because an envelope must have exactly one
 * encoding per key (docs/FORMAT.md) and Node's WebCrypto would import a compressed 33-byte
 * point too. The on-curve check is done here with @noble/curves rather than left to the
 * WebCrypto import, because providers differ: @peculiar/webcrypto imports an off-curve point
 * and fails only at derivation. Validation must not depend on which provider is plugged in.
 */
export function checkP256PublicKey(publicKey: Uint8Array): void {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== P256_PUBLIC_KEY_LENGTH || publicKey[0] !== 0x04) {
    throw new SigilError('E_BAD_PUBLIC_KEY', 'A P-256 public key must be 65 bytes, uncompressed (0x04 || X || Y).');
  }
  try {
    p256.Point.fromBytes(publicKey).assertValidity();
  } catch (cause) {
    throw new SigilError('E_BAD_PUBLIC_KEY', 'The P-256 public key is not a point on the curve.', { cause });
  }
}

/**
 * Imports a peer public key for ECDH or ECDSA, with full validation: the encoding check
 * above, then the platform's import, which rejects points not on the curve (SEC1 §3.2.2.1).
 */
export async function importP256PublicKey(
  subtle: SubtleCrypto,
  publicKey: Uint8Array,
  algorithm: 'ECDH' | 'ECDSA',
): Promise<CryptoKey> {
  checkP256PublicKey(publicKey);
  try {
    return await subtle.importKey(
      'raw',
      publicKey as Uint8Array<ArrayBuffer>,
      { name: algorithm, namedCurve: 'P-256' },
      true,
      algorithm === 'ECDSA' ? ['verify'] : [],
    );
  } catch (cause) {
    throw new SigilError('E_BAD_PUBLIC_KEY', 'The P-256 public key is not a point on the curve.', { cause });
  }
}

/**
 * The id of a key: the first 16 bytes of SHA-256 over its uncompressed public key, in hex.
 * Deterministic, so one key has one id in every backend, in the PKCS#11 CKA_ID and on the wire.
 */
export async function keyIdOf(publicKey: Uint8Array, subtle: SubtleCrypto = globalThis.crypto.subtle): Promise<string> {
  checkP256PublicKey(publicKey);
  const digest = new Uint8Array(await subtle.digest('SHA-256', publicKey as Uint8Array<ArrayBuffer>));
  return toHex(digest.subarray(0, 16));
}
