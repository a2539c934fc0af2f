// Key-encryption keys from the WebAuthn PRF extension (W3C WebAuthn L3 §10.1.4), which
// evaluates the authenticator's hmac-secret (CTAP 2.1 §12.5) on a salt: the same credential and
// salt give the same 32 bytes on every ceremony, and nothing but a touch of that authenticator
// releases them. Composed from WebCrypto only: HKDF-SHA256 (RFC 5869) into non-extractable
// AES-256-GCM keys. The PRF output itself never leaves the page: it is not sent, logged or
// stored; once the KEKs are derived the caller's copy should be zeroed.
import { SigilError } from '../errors.js';
import { concatBytes, fromHex } from '../internal/bytes.js';

/** What a PRF key-encryption key seals. Each purpose has its own HKDF `info`, hence its own key. */
export type PrfPurpose = 'local-cache' | 'passkey-backup';

/** HKDF `info` per purpose (RFC 5869 §2.3): domain separation between the two KEKs. */
export const PRF_KEK_INFO: Readonly<Record<PrfPurpose, string>> = Object.freeze({
  'local-cache': 'sigil/v1 local-cache-kek',
  'passkey-backup': 'sigil/v1 passkey-backup-kek',
});

// SHA-256("sigil/v1 prf-salt"), fixed for every credential and purpose (a test recomputes it).
// One salt suffices: the purposes are separated by HKDF info, and one PRF evaluation per
// ceremony serves both KEKs.
const PRF_SALT_HEX = '20bea1bc8384589d9d46b2c05b1aaee80239d06853f92690ff5f96e91ecea15a';

/** Sealed-blob format version (the first byte of every sealed blob). */
const SEALED_VERSION = 1;
const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;
const AAD_CONTEXT = 'sigil/v1 prf-sealed';

/**
 * A non-extractable AES-256-GCM key derived from a PRF output for one purpose. Opaque: made
 * only by {@link derivePrfKek} / {@link derivePrfKeks}.
 */
export interface PrfKek {
  readonly purpose: PrfPurpose;
  readonly key: CryptoKey;
}

/** Both KEKs of one PRF evaluation. */
export interface PrfKeks {
  readonly localCache: PrfKek;
  readonly passkeyBackup: PrfKek;
}

/** Binds a sealed blob to its account (in the AEAD's associated data). */
export interface PrfSealOptions {
  /** The account the sealed data belongs to (1 to 255 UTF-8 bytes). */
  readonly account: string;
}

/**
 * The PRF salt Sigil evaluates (`prf: { eval: { first: prfSalt() } }`): SHA-256 of
 * `"sigil/v1 prf-salt"`. A fresh copy on every call (callers may hand it to code that keeps it).
 */
export function prfSalt(): Uint8Array<ArrayBuffer> {
  return fromHex(PRF_SALT_HEX) as Uint8Array<ArrayBuffer>;
}

function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle;
  if (s === undefined) throw new TypeError('WebCrypto (globalThis.crypto.subtle) is not available in this runtime.');
  return s;
}

function checkPrfOutput(prfOutput: Uint8Array): void {
  if (!(prfOutput instanceof Uint8Array)) throw new TypeError('"prfOutput" expected Uint8Array');
  // WebAuthn L3 §10.1.4: PRF results are 32 bytes (HMAC-SHA-256 in CTAP2 hmac-secret).
  if (prfOutput.length !== 32) throw new RangeError(`"prfOutput" expected Uint8Array of length 32, got length=${prfOutput.length}`);
}

/**
 * Derives the key-encryption key of one purpose from a PRF output:
 * HKDF-SHA256(IKM = PRF output, salt = empty, info = {@link PRF_KEK_INFO}[purpose]) → a
 * non-extractable AES-256-GCM CryptoKey. The salt is empty (RFC 5869 §3.1: the IKM is already
 * a uniformly random HMAC output) and the purpose is in `info` (§3.2).
 *
 * @throws TypeError / RangeError if `prfOutput` is not 32 bytes or `purpose` is unknown.
 * @example
 * ```ts
 * const kek = await derivePrfKek(prfOutput, 'local-cache');
 * prfOutput.fill(0);
 * ```
 */
export async function derivePrfKek(prfOutput: Uint8Array, purpose: PrfPurpose): Promise<PrfKek> {
  checkPrfOutput(prfOutput);
  const info = PRF_KEK_INFO[purpose];
  if (typeof info !== 'string' || !Object.hasOwn(PRF_KEK_INFO, purpose)) {
    throw new TypeError(`"purpose" expected 'local-cache' or 'passkey-backup', got ${String(purpose)}`);
  }
  // WebCrypto copies the key bytes at import (WebCrypto §14.3.9 "get a copy of the bytes");
  // our own copy is zeroed once the import is done, so no stray copy of the PRF output remains.
  const copy = new Uint8Array(prfOutput);
  let ikm: CryptoKey;
  try {
    ikm = await subtle().importKey('raw', copy, 'HKDF', false, ['deriveKey']);
  } finally {
    copy.fill(0);
  }
  const key = await subtle().deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: new TextEncoder().encode(info) },
    ikm,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
  return Object.freeze({ purpose, key });
}

/**
 * Derives both KEKs ('local-cache' and 'passkey-backup') from one PRF output.
 *
 * @throws TypeError / RangeError if `prfOutput` is not 32 bytes.
 */
export async function derivePrfKeks(prfOutput: Uint8Array): Promise<PrfKeks> {
  checkPrfOutput(prfOutput);
  const [localCache, passkeyBackup] = await Promise.all([derivePrfKek(prfOutput, 'local-cache'), derivePrfKek(prfOutput, 'passkey-backup')]);
  return Object.freeze({ localCache, passkeyBackup });
}

function checkKek(kek: PrfKek): void {
  if (typeof kek !== 'object' || kek === null || !Object.hasOwn(PRF_KEK_INFO, kek.purpose)) {
    throw new TypeError('"kek" expected a PrfKek from derivePrfKek');
  }
  const algorithm = kek.key?.algorithm as AesKeyAlgorithm | undefined;
  if (algorithm?.name !== 'AES-GCM' || algorithm.length !== 256) throw new TypeError('"kek.key" expected an AES-256-GCM CryptoKey');
}

// AAD = "sigil/v1 prf-sealed" || 0x00 || version || u8 len || purpose info || u16 len || account:
// length-prefixed, so no two (purpose, account) pairs share an AAD.
function associatedData(kek: PrfKek, options: PrfSealOptions): Uint8Array<ArrayBuffer> {
  if (typeof options !== 'object' || options === null || typeof options.account !== 'string') {
    throw new TypeError('"options.account" expected a string');
  }
  const enc = new TextEncoder();
  const account = enc.encode(options.account);
  if (account.length < 1 || account.length > 255) {
    throw new RangeError(`"options.account" expected 1 to 255 UTF-8 bytes, got length=${account.length}`);
  }
  const info = enc.encode(PRF_KEK_INFO[kek.purpose]);
  return concatBytes(
    enc.encode(AAD_CONTEXT),
    Uint8Array.of(0, SEALED_VERSION, info.length),
    info,
    Uint8Array.of(account.length >> 8, account.length & 0xff),
    account,
  ) as Uint8Array<ArrayBuffer>;
}

/**
 * Seals bytes under a PRF KEK: `version (1) || nonce (12, random) || AES-256-GCM ciphertext ||
 * tag (16)`, with the purpose and account in the associated data, so a blob sealed for one
 * account or purpose does not open as another's. A random 96-bit nonce is safe for far more
 * than the handful of blobs one KEK seals (NIST SP 800-38D §8.3).
 *
 * @throws TypeError / RangeError on a malformed `kek`, `plaintext` or `account`.
 * @example
 * ```ts
 * const sealed = await sealWithPrfKek(keks.localCache, cacheBytes, { account: 'alice@example.org' });
 * ```
 */
export async function sealWithPrfKek(kek: PrfKek, plaintext: Uint8Array, options: PrfSealOptions): Promise<Uint8Array> {
  checkKek(kek);
  if (!(plaintext instanceof Uint8Array)) throw new TypeError('"plaintext" expected Uint8Array');
  const aad = associatedData(kek, options);
  const data = new Uint8Array(plaintext); // copied before the await: later changes do not leak in
  const nonce = globalThis.crypto.getRandomValues(new Uint8Array(NONCE_LENGTH));
  const sealed = await subtle().encrypt({ name: 'AES-GCM', iv: nonce, additionalData: aad, tagLength: 128 }, kek.key, data);
  return concatBytes(Uint8Array.of(SEALED_VERSION), nonce, new Uint8Array(sealed));
}

/**
 * Opens a blob sealed by {@link sealWithPrfKek} with the same KEK purpose and account.
 * Returns the plaintext only if it authenticates.
 *
 * @throws SigilError `E_FORMAT` if the blob is too short or of another version;
 *   `E_AUTH_FAILED` (one constant message) if the KEK, purpose or account differs or any byte
 *   was changed.
 * @example
 * ```ts
 * const cacheBytes = await openWithPrfKek(keks.localCache, sealed, { account: 'alice@example.org' });
 * ```
 */
export async function openWithPrfKek(kek: PrfKek, sealed: Uint8Array, options: PrfSealOptions): Promise<Uint8Array> {
  checkKek(kek);
  if (!(sealed instanceof Uint8Array)) throw new TypeError('"sealed" expected Uint8Array');
  const aad = associatedData(kek, options);
  if (sealed.length < 1 + NONCE_LENGTH + TAG_LENGTH) throw new SigilError('E_FORMAT', 'The sealed blob is truncated.');
  if (sealed[0] !== SEALED_VERSION) throw new SigilError('E_FORMAT', 'The sealed blob has an unknown version.');
  const nonce = sealed.slice(1, 1 + NONCE_LENGTH);
  const body = sealed.slice(1 + NONCE_LENGTH);
  try {
    return new Uint8Array(await subtle().decrypt({ name: 'AES-GCM', iv: nonce, additionalData: aad, tagLength: 128 }, kek.key, body));
  } catch (cause) {
    throw new SigilError('E_AUTH_FAILED', 'Decryption failed.', { cause });
  }
}
