/**
 * The `KeyWrapping` capability: AES-256 keys held by a backend that encrypt byte strings (the
 * account's user-key chain in a backup, an escrow share) so that the wrapping key itself never
 * leaves the backend. A WebCrypto backend holds a non-extractable AES-GCM `CryptoKey`; a PKCS#11
 * backend a token key (CKK_AES, CKA_SENSITIVE, !CKA_EXTRACTABLE).
 *
 * Contract (every implementation passes the wrapping cases of the conformance suite of
 * `@sigil/sdk/testing`, which run for any backend where {@link supportsKeyWrapping} is true):
 * - Algorithm: AES-256-GCM (NIST SP 800-38D) with a fresh random 96-bit IV for every `wrap`
 *   (SP 800-38D §8.2.2; at most 2^32 wraps per key, §8.3, far beyond backup and escrow
 *   volumes) and a 128-bit tag. `aad`, when given, is the GCM additional authenticated data
 *   (§5.2.1): bound to the output, not encrypted; absent and empty are the same AAD.
 * - Output layout, byte for byte (the same in every backend, so a blob wrapped by one opens in
 *   any other that holds the same key):
 *   `0x01 (WRAP_FORMAT_VERSION) || IV (12 bytes) || ciphertext (data.length bytes) || tag (16 bytes)`,
 *   i.e. `1 + 12 + data.length + 16` bytes.
 * - `unwrap` returns the plaintext only if the tag verifies. Anything else (a wrong key, other
 *   `aad`, any byte changed, a short input, another version byte) is `SigilError`
 *   `E_AUTH_FAILED` with one constant message: the error says nothing about which check failed.
 * - A ref whose key is gone (deleted, or never made by this backend) gives `E_KEY_NOT_FOUND` from
 *   `wrap` and `unwrap`; `getWrappingKey` returns `undefined` for it; deleting a key that is
 *   already gone is not an error.
 * - The key is generated where it stays and never leaves it: not extractable, not readable.
 * - `data` is 1 byte or more: an empty wrap protects nothing, and PKCS#11 tokens refuse a
 *   zero-length C_Encrypt (SoftHSM 2.6 through pkcs11js: CKR_ARGUMENTS_BAD). Empty `data` is a
 *   `RangeError`, raised before the backend is touched.
 * - `data`, `wrapped` or `aad` that is not a `Uint8Array` is a `TypeError`; a label that is not
 *   1 to 128 characters is a `RangeError` (as `checkGenerateOptions`).
 */
import type { KeyBackend } from './key-backend.js';

/** First byte of every wrapped blob: the layout described in the contract above. */
export const WRAP_FORMAT_VERSION = 0x01;
/** AES-GCM IV length: 96 bits (SP 800-38D §5.2.1.1, the length GCM is defined for directly). */
export const WRAP_IV_LENGTH = 12;
/** AES-GCM tag length: 128 bits. */
export const WRAP_TAG_LENGTH = 16;

/** A handle on an AES-256 wrapping key held by a backend. */
export interface WrappingKeyRef {
  /** 16 random bytes in lowercase hex (32 characters); on PKCS#11, the key's CKA_ID. */
  readonly id: string;
  readonly label: string;
}

/** Options of {@link KeyWrapping.wrap} and {@link KeyWrapping.unwrap}. */
export interface WrapOptions {
  /** Additional authenticated data: bound to the output, not encrypted (SP 800-38D §5.2.1). */
  readonly aad?: Uint8Array | undefined;
}

/**
 * AES-256-GCM wrapping under a key that stays in the backend (see the contract at the top of
 * this module: layout, IVs, error codes).
 *
 * @example
 * ```ts
 * if (supportsKeyWrapping(backend)) {
 *   const kek = await backend.generateWrappingKey({ label: 'backup' });
 *   const wrapped = await backend.wrap(kek, chain, { aad: new TextEncoder().encode(account) });
 *   const again = await backend.unwrap(kek, wrapped, { aad: new TextEncoder().encode(account) });
 * }
 * ```
 */
export interface KeyWrapping {
  /**
   * Generates a new AES-256 key in the backend, not extractable.
   * @throws RangeError for a label that is not 1 to 128 characters.
   */
  generateWrappingKey(options: { readonly label: string }): Promise<WrappingKeyRef>;
  /** The wrapping key with this id, or `undefined` if the backend holds none. */
  getWrappingKey(id: string): Promise<WrappingKeyRef | undefined>;
  /** Destroys the key: whatever it wrapped can no longer be unwrapped. Already gone is not an error. */
  deleteWrappingKey(ref: WrappingKeyRef): Promise<void>;
  /**
   * `0x01 || IV (12, fresh and random) || AES-256-GCM(data, aad) || tag (16)`.
   * @throws SigilError `E_KEY_NOT_FOUND` (the key is gone); backend errors (`E_HSM*`, `E_BACKEND_CLOSED`).
   * @throws TypeError if `data` or `aad` is not a Uint8Array; RangeError if `data` is empty.
   */
  wrap(ref: WrappingKeyRef, data: Uint8Array, options?: WrapOptions): Promise<Uint8Array>;
  /**
   * Reverses `wrap`; returns the plaintext only if the tag verifies.
   * @throws SigilError `E_AUTH_FAILED` (one constant message: wrong key, other `aad`, altered or
   *   malformed input), `E_KEY_NOT_FOUND` (the key is gone); backend errors.
   * @throws TypeError if `wrapped` or `aad` is not a Uint8Array.
   */
  unwrap(ref: WrappingKeyRef, wrapped: Uint8Array, options?: WrapOptions): Promise<Uint8Array>;
}

const WRAPPING_METHODS = ['generateWrappingKey', 'getWrappingKey', 'deleteWrappingKey', 'wrap', 'unwrap'] as const;

/**
 * Whether `backend` declares the wrapping capability (has every method of {@link KeyWrapping}).
 *
 * @example
 * ```ts
 * if (!supportsKeyWrapping(backend)) throw new Error('this backend cannot hold a backup key');
 * ```
 */
export function supportsKeyWrapping<B extends KeyBackend>(backend: B): backend is B & KeyWrapping {
  if (typeof backend !== 'object' || backend === null) return false;
  const b = backend as unknown as Record<string, unknown>;
  return WRAPPING_METHODS.every((m) => typeof b[m] === 'function');
}
