// The search key of a label-version pair (draft-ietf-keytrans-protocol, "Verifiable Random
// Function"): the ECVRF output over the encoded VrfInput. The VRF hides which accounts the map
// holds (a search key reveals nothing of its label without the VRF secret key) while letting
// every client check that the directory computed it honestly.
import { SigilError } from '../../errors.js';
import { assertBytes, concatBytes } from '../../internal/bytes.js';
import { ecvrfProofToHash, ecvrfProve, ecvrfVerify } from './ecvrf.js';
import { opaque8, uint32 } from './presentation.js';

/**
 * The encoded `VrfInput`, the VRF's alpha:
 * `struct { opaque label<0..2^8-1>; uint32 version; } VrfInput;`
 *
 * @throws RangeError if `label` is longer than 255 bytes or `version` is not in 0..2^32-1.
 */
export function vrfInput(label: Uint8Array, version: number): Uint8Array {
  assertBytes('label', label);
  return concatBytes(opaque8('label', label), uint32('version', version));
}

/** A search key with the VRF proof that lets anyone holding the VRF public key check it. */
export interface ProvenSearchKey {
  /** The VRF output (VRF.Nh = 32 bytes): the pair's key in the prefix tree. */
  readonly searchKey: Uint8Array;
  /** The ECVRF proof (VRF.Np = 81 bytes). */
  readonly proof: Uint8Array;
}

/**
 * The directory's side: the search key of (`label`, `version`) and its VRF proof.
 *
 * @param vrfSecretKey - the ECVRF-P256-SHA256-TAI secret scalar, 32 bytes big-endian. It cannot
 *   live in a PKCS#11 token (docs/TRANSPARENCY.md): whoever holds it can tell which account a
 *   search key belongs to, which is a privacy loss, not an integrity one.
 * @throws RangeError if the key is not a valid scalar, the label is over 255 bytes or the version
 *   is out of range.
 * @example
 * ```ts
 * const { searchKey, proof } = proveSearchKey(vrfSecretKey, utf8(accountId), 0);
 * ```
 */
export function proveSearchKey(vrfSecretKey: Uint8Array, label: Uint8Array, version: number): ProvenSearchKey {
  const proof = ecvrfProve(vrfSecretKey, vrfInput(label, version));
  return { searchKey: ecvrfProofToHash(proof), proof };
}

/**
 * A client's side: checks the directory's VRF proof for (`label`, `version`) and returns the
 * search key it proves.
 *
 * @param vrfPublicKey - the log's VRF public key, a 33-byte compressed P-256 point.
 * @throws SigilError `E_DIRECTORY_PROOF` (detail `vrf-proof`) if the proof does not verify, the
 *   public key is not a compressed point on P-256, or either has the wrong length.
 * @throws RangeError if the label is over 255 bytes or the version is out of range.
 */
export function verifySearchKey(vrfPublicKey: Uint8Array, label: Uint8Array, version: number, proof: Uint8Array): Uint8Array {
  const searchKey = ecvrfVerify(vrfPublicKey, vrfInput(label, version), proof);
  if (searchKey === undefined) {
    throw new SigilError('E_DIRECTORY_PROOF', 'The directory sent a VRF proof that does not verify.', { detail: 'vrf-proof' });
  }
  return searchKey;
}
