// ECDSA P-256 / SHA-256 signature verification for the SDK (sender signatures in P1363 form,
// WebAuthn assertions in DER form), on the platform seam. DER is converted to P1363 by
// @noble/curves' strict DER parser: no ASN.1 is written here.
import { platform as defaultPlatform } from '#platform';
import { p256 } from '@noble/curves/nist.js';
import { assertBytes } from './bytes.js';
import { checkP256PublicKey } from './p256.js';
import type { CryptoPlatform } from './platform/types.js';

/** Length of an IEEE P1363 P-256 signature, r || s. */
export const P1363_SIGNATURE_LENGTH = 64;

/**
 * Verifies an IEEE P1363 (r || s, 64 bytes) ECDSA P-256 SHA-256 signature over `message`.
 * Returns false for any signature that does not verify, including one of the wrong length or
 * with r or s out of range. High-s signatures verify (as in WebCrypto and PKCS#11).
 *
 * @throws SigilError `E_BAD_PUBLIC_KEY` if `publicKey` is not an uncompressed point on P-256.
 * @throws TypeError if an argument is not a Uint8Array.
 */
export async function verifyP1363(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
  platform: CryptoPlatform = defaultPlatform,
): Promise<boolean> {
  assertBytes('publicKey', publicKey);
  assertBytes('message', message);
  assertBytes('signature', signature);
  checkP256PublicKey(publicKey);
  if (signature.length !== P1363_SIGNATURE_LENGTH) return false;
  return platform.verifyEcdsaP256(publicKey, message, signature);
}

/**
 * The P1363 form of a DER (X.690 SEQUENCE { r INTEGER, s INTEGER }) P-256 signature, or
 * undefined if it is not strict DER or r, s are not in [1, n).
 */
export function derToP1363(signature: Uint8Array): Uint8Array | undefined {
  try {
    const sig = p256.Signature.fromBytes(signature, 'der');
    const compact = sig.toBytes('compact');
    // Re-encoding must give the same bytes: only the one canonical DER encoding is accepted.
    const again = p256.Signature.fromBytes(compact, 'compact').toBytes('der');
    if (again.length !== signature.length || again.some((b, i) => b !== signature[i])) return undefined;
    return compact;
  } catch {
    return undefined;
  }
}

/**
 * Verifies a DER-encoded ECDSA P-256 SHA-256 signature (the WebAuthn / X.509 form). Returns
 * false for a signature that is not strict DER or does not verify.
 *
 * @throws SigilError `E_BAD_PUBLIC_KEY` if `publicKey` is not an uncompressed point on P-256.
 * @throws TypeError if an argument is not a Uint8Array.
 */
export async function verifyDer(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
  platform: CryptoPlatform = defaultPlatform,
): Promise<boolean> {
  assertBytes('signature', signature);
  const p1363 = derToP1363(signature);
  if (p1363 === undefined) {
    assertBytes('publicKey', publicKey);
    checkP256PublicKey(publicKey);
    return false;
  }
  return verifyP1363(publicKey, message, p1363, platform);
}
