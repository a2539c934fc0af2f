// COSE_Key (RFC 9052 §7, RFC 9053 §7.1.1) to raw SEC1 for ES256 WebAuthn credentials.
// CBOR decoding comes from @levischuck/tiny-cbor (the decoder @simplewebauthn/server uses),
// because a registration hands the credential public key over as a COSE_Key and Sigil's
// statements carry the one raw 65-byte form (docs/STATEMENTS.md §4.1).
import { decodeCBOR, decodePartialCBOR } from '@levischuck/tiny-cbor';
import { SigilError } from '../errors.js';
import { concatBytes, equalConstantTime } from '../internal/bytes.js';
import { checkP256PublicKey } from '../internal/p256.js';
import { isRpId, type WebAuthnRoot } from './statement.js';

// COSE labels and values (IANA COSE registries): kty 1 = EC2 2; alg 3 = ES256 -7;
// crv -1 = P-256 1; x -2; y -3.
const KTY = 1;
const ALG = 3;
const CRV = -1;
const X = -2;
const Y = -3;

/**
 * Converts an ES256 credential public key from COSE_Key form (as in the attested credential data
 * of a WebAuthn registration, or `credential.publicKey` from @simplewebauthn/server) to the
 * uncompressed SEC1 form `0x04 || x || y` that statements carry.
 *
 * Accepts exactly an EC2 key with alg ES256 (-7), crv P-256 (1) and 32-byte x and y; nothing
 * else (RSA, EdDSA, ES384, extra labels) is an ES256 credential Sigil can use.
 *
 * @throws SigilError `E_FORMAT` if the bytes are not such a COSE_Key; `E_BAD_PUBLIC_KEY` if the
 *   point is not on P-256.
 * @example
 * ```ts
 * const publicKey = cosePublicKeyToRaw(registrationInfo.credential.publicKey);
 * ```
 */
export function cosePublicKeyToRaw(cose: Uint8Array): Uint8Array {
  if (!(cose instanceof Uint8Array)) throw new TypeError('"cose" expected Uint8Array');
  let map: unknown;
  try {
    // A copy on purpose: tiny-cbor 0.2.11 reads `data.buffer` from offset 0, ignoring the
    // byteOffset of a view; decodeCBOR also rejects trailing bytes.
    map = decodeCBOR(new Uint8Array(cose));
  } catch (cause) {
    throw new SigilError('E_FORMAT', 'The credential public key is not CBOR.', { cause, detail: 'cose' });
  }
  if (!(map instanceof Map) || map.size !== 5) {
    throw new SigilError('E_FORMAT', 'The credential public key is not an ES256 COSE_Key.', { detail: 'cose' });
  }
  const x = map.get(X);
  const y = map.get(Y);
  if (
    map.get(KTY) !== 2 ||
    map.get(ALG) !== -7 ||
    map.get(CRV) !== 1 ||
    !(x instanceof Uint8Array) ||
    !(y instanceof Uint8Array) ||
    x.length !== 32 ||
    y.length !== 32
  ) {
    throw new SigilError('E_FORMAT', 'The credential public key is not an ES256 (P-256) COSE_Key.', { detail: 'cose' });
  }
  const raw = concatBytes(Uint8Array.of(0x04), x, y);
  checkP256PublicKey(raw);
  return raw;
}

/**
 * The WebAuthn root (§4.1 of docs/STATEMENTS.md) of a credential, read from a registration's
 * attestation object (WebAuthn L3 §6.5: CBOR map with `authData`; §6.5.1 attested credential
 * data: AAGUID 16 | credentialIdLength u16 | credentialId | credentialPublicKey COSE_Key).
 * The attestation statement itself is not checked here: the server's registration ceremony
 * does that; this only extracts what a genesis or root-add statement names.
 *
 * @throws SigilError `E_FORMAT` if the object is malformed, has no attested credential data
 *   (AT flag clear) or was made for another RP ID; `E_BAD_PUBLIC_KEY` as `cosePublicKeyToRaw`.
 * @example
 * ```ts
 * const root = await webAuthnRootFromAttestationObject(new Uint8Array(cred.response.attestationObject), 'example.org');
 * ```
 */
export async function webAuthnRootFromAttestationObject(attestationObject: Uint8Array, rpId: string): Promise<WebAuthnRoot> {
  if (!(attestationObject instanceof Uint8Array)) throw new TypeError('"attestationObject" expected Uint8Array');
  if (typeof rpId !== 'string' || !isRpId(rpId)) throw new RangeError('"rpId" expected a lowercase domain name');
  const bad = (what: string) => new SigilError('E_FORMAT', `Malformed attestation object: ${what}.`, { detail: 'attestation-object' });
  let att: unknown;
  try {
    att = decodeCBOR(new Uint8Array(attestationObject)); // a copy: see cosePublicKeyToRaw
  } catch (cause) {
    throw new SigilError('E_FORMAT', 'The attestation object is not CBOR.', { cause, detail: 'attestation-object' });
  }
  const authData = att instanceof Map ? att.get('authData') : undefined;
  if (!(authData instanceof Uint8Array) || authData.length < 55) throw bad('no authenticator data');
  const rpIdHash = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(rpId)));
  if (!equalConstantTime(rpIdHash, authData.subarray(0, 32))) throw bad('made for another RP ID');
  if (((authData[32] as number) & 0x40) === 0) throw bad('no attested credential data');
  const idLength = ((authData[53] as number) << 8) | (authData[54] as number);
  if (idLength < 1 || idLength > 1023 || 55 + idLength >= authData.length) throw bad('credential id length');
  const credentialId = authData.slice(55, 55 + idLength);
  const rest = authData.slice(55 + idLength);
  let coseLength: number;
  try {
    coseLength = decodePartialCBOR(rest, 0)[1];
  } catch (cause) {
    throw new SigilError('E_FORMAT', 'The credential public key is not CBOR.', { cause, detail: 'attestation-object' });
  }
  // Extension data (ED flag) may follow the key; the key is exactly one CBOR item.
  if (coseLength !== rest.length && ((authData[32] as number) & 0x80) === 0) throw bad('trailing bytes');
  return { type: 'webauthn', publicKey: cosePublicKeyToRaw(rest.slice(0, coseLength)), rpId, credentialId };
}
