import { SigilError } from '../errors.js';
import type {
  GenerateKeyPairOptions,
  KeyBackend,
  KeyDescription,
  KeyRef,
  KeyUsage as SigilKeyUsage,
  ListKeysOptions,
} from './key-backend.js';
import { WRAP_FORMAT_VERSION, WRAP_IV_LENGTH, WRAP_TAG_LENGTH, type KeyWrapping, type WrapOptions, type WrappingKeyRef } from './key-wrapping.js';
import { copyBytes, toHex } from '../internal/bytes.js';
import { importP256PublicKey, keyIdOf } from '../internal/p256.js';

export interface WebCryptoKeyBackendOptions {
  /**
   * The WebCrypto implementation to use. Defaults to `globalThis.crypto`. On a runtime whose
   * `crypto.subtle` is missing or incomplete, pass `new Crypto()` from @peculiar/webcrypto.
   */
  readonly crypto?: Crypto | undefined;
}

/** A key pair to adopt with {@link WebCryptoKeyBackend.adoptKeyPair}. */
export interface AdoptKeyPairOptions {
  /** Non-extractable ECDSA (usage 'sign') or ECDH (usage 'agree') P-256 private key. */
  readonly privateKey: CryptoKey;
  /** Its public key. */
  readonly publicKey: CryptoKey;
  readonly usage: SigilKeyUsage;
  readonly label: string;
}

interface Entry {
  readonly ref: KeyRef;
  readonly privateKey: CryptoKey;
}

interface WrappingEntry {
  readonly ref: WrappingKeyRef;
  /** AES-GCM, 256 bits, extractable: false, usages encrypt/decrypt only. */
  readonly key: CryptoKey;
}

const WRAPPING_ID = /^[0-9a-f]{32}$/;

/**
 * A `KeyBackend` over WebCrypto with non-extractable private keys.
 *
 * In browsers the engine enforces `extractable: false`; in Node it is an API guard only
 * (`KeyObject.from(cryptoKey)` can export the scalar), which is why servers keep long-term keys
 * in a PKCS#11 token instead (docs/SECURITY.md). Keys live in memory for the life of the
 * backend; persistence in IndexedDB comes with the browser identity work.
 *
 * @example
 * ```ts
 * const keys = new WebCryptoKeyBackend();
 * const ref = await keys.generateKeyPair({ usage: 'sign', label: 'laptop' });
 * const sig = await keys.sign(ref, new TextEncoder().encode('hello'));
 * ```
 */
export class WebCryptoKeyBackend implements KeyBackend, KeyWrapping {
  readonly #subtle: SubtleCrypto;
  readonly #random: (bytes: Uint8Array<ArrayBuffer>) => Uint8Array<ArrayBuffer>;
  readonly #keys = new Map<string, Entry>();
  readonly #wrappingKeys = new Map<string, WrappingEntry>();

  constructor(options: WebCryptoKeyBackendOptions = {}) {
    const subtle = (options.crypto ?? globalThis.crypto)?.subtle;
    if (subtle === undefined) {
      throw new TypeError('WebCrypto is not available: pass { crypto } (for example @peculiar/webcrypto).');
    }
    this.#subtle = subtle;
    const crypto = options.crypto ?? globalThis.crypto;
    this.#random = (bytes) => crypto.getRandomValues(bytes);
  }

  async generateKeyPair(options: GenerateKeyPairOptions): Promise<KeyRef> {
    const { usage, label } = checkGenerateOptions(options);
    const algorithm = usage === 'sign' ? { name: 'ECDSA', namedCurve: 'P-256' } : { name: 'ECDH', namedCurve: 'P-256' };
    const usages: KeyUsage[] = usage === 'sign' ? ['sign', 'verify'] : ['deriveBits'];
    const pair = (await this.#subtle.generateKey(algorithm, false, usages)) as CryptoKeyPair;
    const publicKey = new Uint8Array(await this.#subtle.exportKey('raw', pair.publicKey));
    const ref: KeyRef = Object.freeze({ id: await keyIdOf(publicKey, this.#subtle), usage, label, publicKey });
    this.#keys.set(ref.id, { ref, privateKey: pair.privateKey });
    return ref;
  }

  async sign(ref: KeyRef, data: Uint8Array): Promise<Uint8Array> {
    const entry = this.#entry(ref, 'sign');
    const message = copyBytes(data) as Uint8Array<ArrayBuffer>;
    return new Uint8Array(await this.#subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, entry.privateKey, message));
  }

  async deriveSharedSecret(ref: KeyRef, peerPublicKey: Uint8Array): Promise<Uint8Array> {
    const entry = this.#entry(ref, 'agree');
    const peer = await importP256PublicKey(this.#subtle, copyBytes(peerPublicKey), 'ECDH');
    return new Uint8Array(await this.#subtle.deriveBits({ name: 'ECDH', public: peer }, entry.privateKey, 256));
  }

  async getKey(id: string): Promise<KeyRef | undefined> {
    return this.#keys.get(id)?.ref;
  }

  async listKeys(options: ListKeysOptions = {}): Promise<KeyRef[]> {
    return [...this.#keys.values()]
      .map((e) => e.ref)
      .filter((r) => (options.label === undefined || r.label === options.label) && (options.usage === undefined || r.usage === options.usage));
  }

  async deleteKey(ref: KeyRef): Promise<void> {
    this.#keys.delete(ref.id);
  }

  async describeKey(ref: KeyRef): Promise<KeyDescription> {
    const entry = this.#entry(ref, ref.usage);
    return { extractable: entry.privateKey.extractable, sensitive: !entry.privateKey.extractable, hardware: false };
  }

  /**
   * Generates an AES-256-GCM key as a non-extractable CryptoKey (KeyWrapping contract,
   * key-wrapping.ts); its id is 16 random bytes in hex.
   *
   * @throws RangeError for a label that is not 1 to 128 characters.
   * @example
   * ```ts
   * const kek = await keys.generateWrappingKey({ label: 'backup' });
   * ```
   */
  async generateWrappingKey(options: { readonly label: string }): Promise<WrappingKeyRef> {
    const { label } = checkGenerateOptions({ usage: 'sign', label: options?.label as string });
    const key = await this.#subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
    const ref: WrappingKeyRef = Object.freeze({ id: toHex(this.#random(new Uint8Array(16))), label });
    this.#wrappingKeys.set(ref.id, { ref, key });
    return ref;
  }

  /** The wrapping key with this id, or `undefined`. */
  async getWrappingKey(id: string): Promise<WrappingKeyRef | undefined> {
    if (typeof id !== 'string') throw new TypeError(`"id" expected string, got ${typeof id}`);
    return this.#wrappingKeys.get(id)?.ref;
  }

  /** Forgets the wrapping key (already gone is not an error). */
  async deleteWrappingKey(ref: WrappingKeyRef): Promise<void> {
    this.#wrappingKeys.delete(ref.id);
  }

  /**
   * `0x01 || IV (12, random) || AES-256-GCM ciphertext || tag (16)` (KeyWrapping contract).
   *
   * @throws SigilError `E_KEY_NOT_FOUND` if the key is gone.
   * @throws TypeError if `data` or `aad` is not a Uint8Array; RangeError if `data` is empty.
   * @example
   * ```ts
   * const wrapped = await keys.wrap(kek, secret, { aad: new TextEncoder().encode('alice@example.org') });
   * ```
   */
  async wrap(ref: WrappingKeyRef, data: Uint8Array, options: WrapOptions = {}): Promise<Uint8Array> {
    const plaintext = copyBytes(checkBytes('data', data)) as Uint8Array<ArrayBuffer>;
    if (plaintext.length === 0) throw new RangeError('"data" expected at least 1 byte');
    const aad = aadOf(options);
    const key = this.#wrappingEntry(ref).key;
    const iv = this.#random(new Uint8Array(WRAP_IV_LENGTH));
    const sealed = new Uint8Array(await this.#subtle.encrypt({ name: 'AES-GCM', iv, additionalData: aad, tagLength: WRAP_TAG_LENGTH * 8 }, key, plaintext));
    const out = new Uint8Array(1 + WRAP_IV_LENGTH + sealed.length);
    out[0] = WRAP_FORMAT_VERSION;
    out.set(iv, 1);
    out.set(sealed, 1 + WRAP_IV_LENGTH);
    return out;
  }

  /**
   * Reverses `wrap`; the plaintext only if the tag verifies.
   *
   * @throws SigilError `E_AUTH_FAILED` (one constant message) for a wrong key or `aad`, or input
   *   that was altered or is not a wrapped blob; `E_KEY_NOT_FOUND` if the key is gone.
   * @throws TypeError if `wrapped` or `aad` is not a Uint8Array.
   * @example
   * ```ts
   * const secret = await keys.unwrap(kek, wrapped, { aad: new TextEncoder().encode('alice@example.org') });
   * ```
   */
  async unwrap(ref: WrappingKeyRef, wrapped: Uint8Array, options: WrapOptions = {}): Promise<Uint8Array> {
    const input = copyBytes(checkBytes('wrapped', wrapped)) as Uint8Array<ArrayBuffer>;
    const aad = aadOf(options);
    if (input.length < 1 + WRAP_IV_LENGTH + WRAP_TAG_LENGTH || input[0] !== WRAP_FORMAT_VERSION) throw wrapAuthFailed();
    const key = this.#wrappingEntry(ref).key;
    const iv = input.subarray(1, 1 + WRAP_IV_LENGTH);
    try {
      const body = input.subarray(1 + WRAP_IV_LENGTH);
      return new Uint8Array(await this.#subtle.decrypt({ name: 'AES-GCM', iv, additionalData: aad, tagLength: WRAP_TAG_LENGTH * 8 }, key, body));
    } catch (cause) {
      throw wrapAuthFailed(cause);
    }
  }

  /**
   * What this backend says about a wrapping key: the CryptoKey's own `extractable` flag (false),
   * for the conformance suite's non-extractability case.
   *
   * @throws SigilError `E_KEY_NOT_FOUND` if the key is gone.
   */
  async describeWrappingKey(ref: WrappingKeyRef): Promise<KeyDescription> {
    const key = this.#wrappingEntry(ref).key;
    return { extractable: key.extractable, sensitive: !key.extractable, hardware: false };
  }

  #wrappingEntry(ref: WrappingKeyRef): WrappingEntry {
    const id = (ref as { id?: unknown } | undefined)?.id;
    const entry = typeof id === 'string' && WRAPPING_ID.test(id) ? this.#wrappingKeys.get(id) : undefined;
    if (entry === undefined) throw new SigilError('E_KEY_NOT_FOUND', `No wrapping key with id ${String(id)} in this backend.`);
    return entry;
  }

  /**
   * Adopts an existing non-extractable P-256 key pair (for example one read back from
   * IndexedDB, or imported non-extractable by a test from a published vector) and returns its
   * ref. The caller vouches that the two keys are halves of one pair; a mismatched pair gives a
   * ref whose id names the public key and whose operations fail to verify or decrypt.
   *
   * @throws SigilError `E_KEY_POLICY` if the private key is extractable (it could leave the
   *   backend, which breaks the KeyBackend contract).
   * @throws SigilError `E_KEY_USAGE` if the algorithm or usages do not fit `usage`
   *   (ECDSA with 'sign' for a sign key, ECDH with 'deriveBits' for an agree key), or the
   *   curve is not P-256.
   * @throws TypeError / RangeError on malformed options (as {@link checkGenerateOptions}).
   */
  async adoptKeyPair(pair: AdoptKeyPairOptions): Promise<KeyRef> {
    const { usage, label } = checkGenerateOptions({ usage: pair.usage, label: pair.label });
    const { privateKey, publicKey } = pair;
    if (typeof CryptoKey !== 'undefined' && (!(privateKey instanceof CryptoKey) || !(publicKey instanceof CryptoKey))) {
      throw new TypeError('"privateKey" and "publicKey" expected CryptoKey');
    }
    if (privateKey.type !== 'private' || publicKey.type !== 'public') {
      throw new TypeError('"privateKey" expected a private CryptoKey and "publicKey" a public one');
    }
    if (privateKey.extractable) {
      throw new SigilError('E_KEY_POLICY', 'Only a non-extractable private key can be adopted.');
    }
    const name = usage === 'sign' ? 'ECDSA' : 'ECDH';
    const needed = usage === 'sign' ? 'sign' : 'deriveBits';
    for (const key of [privateKey, publicKey]) {
      const algorithm = key.algorithm as EcKeyAlgorithm;
      if (algorithm.name !== name || algorithm.namedCurve !== 'P-256') {
        throw new SigilError('E_KEY_USAGE', `A ${usage} key must be ${name} on P-256, got ${algorithm.name} ${algorithm.namedCurve}.`);
      }
    }
    if (!privateKey.usages.includes(needed)) {
      throw new SigilError('E_KEY_USAGE', `A ${usage} key must allow '${needed}'.`);
    }
    const raw = new Uint8Array(await this.#subtle.exportKey('raw', publicKey));
    const ref: KeyRef = Object.freeze({ id: await keyIdOf(raw, this.#subtle), usage, label, publicKey: raw });
    this.#keys.set(ref.id, { ref, privateKey });
    return ref;
  }

  /**
   * The CryptoKey behind a ref, for callers that store keys themselves (IndexedDB keeps a
   * non-extractable CryptoKey non-extractable through structured clone).
   */
  privateKeyOf(ref: KeyRef): CryptoKey {
    return this.#entry(ref, ref.usage).privateKey;
  }

  #entry(ref: KeyRef, usage: KeyRef['usage']): Entry {
    const entry = this.#keys.get(ref.id);
    if (entry === undefined) throw new SigilError('E_KEY_NOT_FOUND', `No key with id ${ref.id} in this backend.`);
    if (entry.ref.usage !== usage) {
      throw new SigilError('E_KEY_USAGE', `Key ${ref.id} is a ${entry.ref.usage} key; this operation needs a ${usage} key.`);
    }
    return entry;
  }
}

/** Validates `generateKeyPair` options; shared by every backend so misuse fails the same way. */
export function checkGenerateOptions(options: GenerateKeyPairOptions): GenerateKeyPairOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('"options" expected an object');
  if (options.usage !== 'sign' && options.usage !== 'agree') {
    throw new TypeError(`"usage" expected 'sign' or 'agree', got ${String(options.usage)}`);
  }
  if (typeof options.label !== 'string' || options.label.length === 0 || options.label.length > 128) {
    throw new RangeError('"label" expected a string of 1 to 128 characters');
  }
  return { usage: options.usage, label: options.label };
}

function checkBytes(name: string, value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`"${name}" expected Uint8Array, got ${value === null ? 'null' : typeof value}`);
  return value;
}

/** GCM's AAD; absent and empty are the same AAD (SP 800-38D §7.1: A may be empty). */
function aadOf(options: WrapOptions): Uint8Array<ArrayBuffer> {
  const aad = options?.aad;
  return aad === undefined ? new Uint8Array(0) : (copyBytes(checkBytes('aad', aad)) as Uint8Array<ArrayBuffer>);
}

/** One constant message for every unwrap failure, as the PKCS#11 backend: no oracle. */
function wrapAuthFailed(cause?: unknown): SigilError {
  return new SigilError('E_AUTH_FAILED', 'The wrapped data did not authenticate.', cause === undefined ? {} : { cause });
}
