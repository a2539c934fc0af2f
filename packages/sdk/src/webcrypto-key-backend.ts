import { SigilError } from './errors.js';
import type {
  GenerateKeyPairOptions,
  KeyBackend,
  KeyDescription,
  KeyRef,
  KeyUsage as SigilKeyUsage,
  ListKeysOptions,
} from './key-backend.js';
import { copyBytes } from './internal/bytes.js';
import { importP256PublicKey, keyIdOf } from './internal/p256.js';

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
export class WebCryptoKeyBackend implements KeyBackend {
  readonly #subtle: SubtleCrypto;
  readonly #keys = new Map<string, Entry>();

  constructor(options: WebCryptoKeyBackendOptions = {}) {
    const subtle = (options.crypto ?? globalThis.crypto)?.subtle;
    if (subtle === undefined) {
      throw new TypeError('WebCrypto is not available: pass { crypto } (for example @peculiar/webcrypto).');
    }
    this.#subtle = subtle;
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
