// Proofs of possession (docs/STATEMENTS.md §4.4, §4.6): every key a statement introduces signs,
// in its own context (contexts.ts), that its holder is the one introducing it. A genesis proves
// its root by the genesis signature itself (§4.2).
import type { KeyBackend, KeyRef } from '../backend/key-backend.js';
import { toBase64Url } from '../internal/bytes.js';
import { checkP256PublicKey } from '../internal/p256.js';
import { devicePossessionInput, userKeyPossessionInput } from './contexts.js';

/**
 * The device signing key's proof of possession for its certificate (§4.4), made on the device:
 * ECDSA P-256 over `devicePossessionInput(accountId, signing.publicKey, agreement.publicKey)`.
 * A new device hands it, with its two public keys, to the root that certifies it.
 *
 * @throws TypeError if a key is not a `KeyRef` of the right usage.
 * @throws SigilError from the backend (`E_KEY_NOT_FOUND`, `E_KEY_USAGE`, `E_HSM*`).
 * @example
 * ```ts
 * const possessionSignature = await proveDevicePossession('alice@example.org', { backend, signing, agreement });
 * await sigil.addDevice({ name: 'phone', signingKey: signing.publicKey, agreementKey: agreement.publicKey, possessionSignature }, { root });
 * ```
 */
export async function proveDevicePossession(
  accountId: string,
  device: { readonly backend: KeyBackend; readonly signing: KeyRef; readonly agreement: KeyRef },
): Promise<Uint8Array> {
  if (typeof device !== 'object' || device === null) throw new TypeError('"device" expected { backend, signing, agreement }');
  if (device.signing?.usage !== 'sign') throw new TypeError('"device.signing" expected a KeyRef with usage "sign"');
  if (device.agreement?.usage !== 'agree') throw new TypeError('"device.agreement" expected a KeyRef with usage "agree"');
  return device.backend.sign(device.signing, devicePossessionInput(accountId, device.signing.publicKey, device.agreement.publicKey));
}

/**
 * The user key's proof of possession for its epoch statement (§4.6): ECDSA P-256 with the
 * epoch's user private key over `userKeyPossessionInput(accountId, epoch, publicKey)`.
 *
 * The user key is an ECDH key; signing with the same scalar is safe here because the one message
 * it ever signs is this labelled input (no other protocol signs or derives from bytes starting
 * with the label), and ECDH with the key leaks nothing about ECDSA nonces (none are reused).
 * The scalar is imported as a non-extractable WebCrypto key for one signature.
 */
export async function signUserKeyPossession(
  accountId: string,
  epoch: number,
  userKey: { readonly privateKey: Uint8Array; readonly publicKey: Uint8Array },
): Promise<Uint8Array> {
  checkP256PublicKey(userKey.publicKey);
  const input = userKeyPossessionInput(accountId, epoch, userKey.publicKey);
  const subtle = globalThis.crypto.subtle;
  const jwk: JsonWebKey = {
    kty: 'EC',
    crv: 'P-256',
    x: toBase64Url(userKey.publicKey.subarray(1, 33)),
    y: toBase64Url(userKey.publicKey.subarray(33, 65)),
    d: toBase64Url(userKey.privateKey),
  };
  const key = await subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  return new Uint8Array(await subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key, input as Uint8Array<ArrayBuffer>));
}
