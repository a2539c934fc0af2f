// HPKE (RFC 9180) base mode for Sigil's one suite: DHKEM(P-256, HKDF-SHA256), HKDF-SHA256,
// AES-256-GCM. Composed on the platform seam (./platform/): node:crypto in Node, WebCrypto in
// browsers. The recipient's decapsulation goes through KeyBackend.deriveSharedSecret, so it
// runs inside an HSM or with a non-extractable WebCrypto key.
//
// Modes psk, auth and auth_psk (RFC 9180 §5.1.2-5.1.4) are not implemented: Sigil
// authenticates senders with a signature over the envelope header, not with HPKE auth mode.
import type { KeyBackend, KeyRef } from '../key-backend.js';

/** RFC 9180 §7.1: KEM id of DHKEM(P-256, HKDF-SHA256). */
export const HPKE_KEM_ID = 0x0010;
/** RFC 9180 §7.2: KDF id of HKDF-SHA256. */
export const HPKE_KDF_ID = 0x0001;
/** RFC 9180 §7.3: AEAD id of AES-256-GCM. */
export const HPKE_AEAD_ID = 0x0002;

/** The suite ids Sigil uses, one suite per format version. */
export const HPKE_SUITE_ID: { readonly kem: 0x0010; readonly kdf: 0x0001; readonly aead: 0x0002 } = Object.freeze({
  kem: 0x0010,
  kdf: 0x0001,
  aead: 0x0002,
});

/** Length of `enc` (Nenc) and of a public key (Npk): an uncompressed P-256 point. */
export const HPKE_ENC_LENGTH = 65;
/** AES-256-GCM key length (Nk). */
export const HPKE_KEY_LENGTH = 32;
/** AES-256-GCM nonce length (Nn). */
export const HPKE_NONCE_LENGTH = 12;
/** AES-256-GCM tag length (Nt): a ciphertext is `plaintext.length + 16` bytes. */
export const HPKE_TAG_LENGTH = 16;

/** The output of a single-shot seal: the encapsulated key and the AEAD ciphertext (with tag). */
export interface HpkeSealed {
  /** The sender's ephemeral public key, uncompressed P-256 (65 bytes). */
  readonly enc: Uint8Array;
  /** AES-256-GCM ciphertext followed by its 16-byte tag. */
  readonly ciphertext: Uint8Array;
}

/** Options for deterministic sealing; production callers pass none. */
export interface SealBaseOptions {
  /**
   * Input keying material for the ephemeral key pair, through DeriveKeyPair (RFC 9180 §7.1.3).
   * For test vectors and the format's deterministic vector script ONLY: reusing it with the
   * same recipient reuses the ephemeral key, which breaks confidentiality. Absent, the
   * ephemeral key comes from the platform's CSPRNG.
   */
  readonly ephemeralIkm?: Uint8Array | undefined;
}

/**
 * HPKE SealBase (RFC 9180 §6.1, single-shot; sequence number 0) to `recipientPublicKey`.
 *
 * @param recipientPublicKey - pkR, 65-byte uncompressed P-256 point, validated first.
 * @param info - application info bound into the key schedule (RFC 9180 §5.1).
 * @param aad - additional authenticated data for the AEAD.
 * @throws SigilError `E_BAD_PUBLIC_KEY` if `recipientPublicKey` is not an uncompressed point on P-256.
 * @throws TypeError if an argument is not a Uint8Array.
 */
export async function sealBase(
  recipientPublicKey: Uint8Array,
  info: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
  options: SealBaseOptions = {},
): Promise<HpkeSealed> {
  void recipientPublicKey, info, aad, plaintext, options;
  throw new Error('not implemented');
}

/**
 * HPKE OpenBase (RFC 9180 §6.1, single-shot; sequence number 0). Decap runs through
 * `recipient.backend.deriveSharedSecret(recipient.ref, enc)`, so the private key never leaves
 * its backend.
 *
 * @throws SigilError `E_BAD_PUBLIC_KEY` if `enc` is not an uncompressed point on P-256.
 * @throws SigilError `E_AUTH_FAILED` if the AEAD tag does not verify (wrong key, wrong info or
 *   aad, tampered ciphertext). No plaintext is returned.
 * @throws SigilError `E_KEY_NOT_FOUND` / `E_KEY_USAGE` (from the backend) if the ref is not an
 *   agree key of that backend.
 */
export async function openBase(
  recipient: { readonly backend: KeyBackend; readonly ref: KeyRef },
  enc: Uint8Array,
  info: Uint8Array,
  aad: Uint8Array,
  ciphertext: Uint8Array,
): Promise<Uint8Array> {
  void recipient, enc, info, aad, ciphertext;
  throw new Error('not implemented');
}
