// P-256 encodings at the PKCS#11 edge (PKCS#11 2.40 §2.3.3, "Elliptic curve public key
// objects"; SEC1 §2.3.3 for the point itself).
import { SigilError } from '@sigil/sdk/errors';

/** CKA_EC_PARAMS for P-256: the DER encoding of the OID prime256v1, 1.2.840.10045.3.1.7 (RFC 5480 §2.1.1.1). */
export const P256_EC_PARAMS: Buffer = Buffer.from('06082a8648ce3d030107', 'hex');

/** Wraps a 65-byte uncompressed point in the DER OCTET STRING that CKA_EC_POINT holds. */
export function encodeEcPoint(point: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([0x04, point.length]), point]);
}

/**
 * The 65-byte uncompressed point of a CKA_EC_POINT value. PKCS#11 2.40 says DER OCTET STRING
 * (SoftHSM: `04 41 04 …`); some tokens return the raw point, which is accepted too.
 */
export function decodeEcPoint(value: Uint8Array): Uint8Array {
  if (value.length === 67 && value[0] === 0x04 && value[1] === 0x41 && value[2] === 0x04) {
    return new Uint8Array(value.subarray(2));
  }
  if (value.length === 65 && value[0] === 0x04) return new Uint8Array(value);
  throw new SigilError('E_BAD_PUBLIC_KEY', 'The token returned a CKA_EC_POINT that is not an uncompressed P-256 point.');
}
