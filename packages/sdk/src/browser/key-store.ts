// Persistence of a browser's device keys in IndexedDB. A non-extractable CryptoKey survives
// structured clone (HTML §2.7 "StructuredSerializeInternal", WebCrypto §14.5 [[extractable]])
// as a non-extractable key: the engine stores it and hands it back, and no script can read its
// bytes, neither before nor after a reload. Only the public half is stored as bytes.
//
// Nothing here touches a browser global at import time: `indexedDB` is looked up when a store
// is opened, so the module is safe to import from the main entry point in Node.
import { SigilError } from '../errors.js';
import type { KeyRef, KeyUsage } from '../backend/key-backend.js';
import { checkP256PublicKey } from '../internal/p256.js';
import type { WebCryptoKeyBackend } from '../backend/webcrypto-key-backend.js';

const DB_VERSION = 1;
const KEYS = 'device-keys';
const SEALED = 'sealed-blobs';
const DEFAULT_NAME = 'sigil';

/** Options of {@link BrowserKeyStore.open}. */
export interface BrowserKeyStoreOptions {
  /**
   * The IndexedDB database name (default `"sigil"`). Use one name per account when one origin
   * holds several accounts' devices.
   */
  readonly name?: string | undefined;
  /** The IndexedDB factory (default `globalThis.indexedDB`). */
  readonly indexedDB?: IDBFactory | undefined;
}

/** What the store keeps about a device key, without the private key. */
export interface StoredKeyInfo {
  readonly id: string;
  readonly usage: KeyUsage;
  readonly label: string;
  /** Uncompressed SEC1 P-256 public key (65 bytes). */
  readonly publicKey: Uint8Array;
}

interface KeyRecord extends StoredKeyInfo {
  readonly privateKey: CryptoKey;
}

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(storageError(req.error));
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(storageError(tx.error));
    tx.onerror = () => reject(storageError(tx.error));
  });
}

// Storage failures (quota, a private window without IndexedDB, a blocked upgrade) are not
// key-policy questions; E_KEY_NOT_FOUND is what a caller can act on: the keys are not there.
function storageError(cause: unknown): SigilError {
  return new SigilError('E_KEY_NOT_FOUND', 'The browser key store (IndexedDB) is not available or failed.', { cause, detail: 'indexeddb' });
}

function isUsage(u: unknown): u is KeyUsage {
  return u === 'sign' || u === 'agree';
}

function checkName(name: string, what: string): void {
  if (typeof name !== 'string' || name.length === 0 || name.length > 256) {
    throw new TypeError(`"${what}" expected a string of 1 to 256 characters`);
  }
}

/**
 * Device keys (non-extractable CryptoKeys) and sealed blobs of one browser profile, in
 * IndexedDB.
 *
 * @example
 * ```ts
 * const store = await BrowserKeyStore.open();
 * const keys = new WebCryptoKeyBackend();
 * const signing = await keys.generateKeyPair({ usage: 'sign', label: 'device' });
 * await store.saveKey(keys, signing);
 * // after a reload:
 * const refs = await store.loadKeys(keys2);
 * ```
 */
export class BrowserKeyStore {
  readonly #db: IDBDatabase;

  private constructor(db: IDBDatabase) {
    this.#db = db;
  }

  /**
   * Opens (creating on first use) the store's database.
   *
   * @throws SigilError `E_KEY_NOT_FOUND` (detail `indexeddb`) if IndexedDB is unavailable or
   *   refuses to open.
   */
  static async open(options: BrowserKeyStoreOptions = {}): Promise<BrowserKeyStore> {
    const name = options.name ?? DEFAULT_NAME;
    checkName(name, 'name');
    const factory = options.indexedDB ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB;
    if (factory === undefined) throw storageError(new Error('indexedDB is not defined'));
    let req: IDBOpenDBRequest;
    try {
      req = factory.open(name, DB_VERSION);
    } catch (cause) {
      throw storageError(cause);
    }
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains(KEYS)) db.createObjectStore(KEYS, { keyPath: 'id' });
      if (!db.objectStoreNames.contains(SEALED)) db.createObjectStore(SEALED);
    };
    const db = await request(req);
    // Another tab upgrading the schema: let it, and fail our next call rather than block it.
    db.onversionchange = () => db.close();
    return new BrowserKeyStore(db);
  }

  /**
   * Stores a key of `backend` (its non-extractable private CryptoKey, its public key bytes,
   * usage and label) under its id, replacing any record with that id.
   *
   * @throws SigilError `E_KEY_NOT_FOUND` if `backend` does not hold `ref`, or storage fails;
   *   `E_KEY_POLICY` if the private key is extractable (the store never keeps such a key).
   */
  async saveKey(backend: WebCryptoKeyBackend, ref: KeyRef): Promise<void> {
    const privateKey = backend.privateKeyOf(ref);
    if (privateKey.extractable) throw new SigilError('E_KEY_POLICY', 'Only a non-extractable private key can be stored.');
    checkP256PublicKey(ref.publicKey);
    const record: KeyRecord = { id: ref.id, usage: ref.usage, label: ref.label, publicKey: new Uint8Array(ref.publicKey), privateKey };
    const tx = this.#db.transaction(KEYS, 'readwrite');
    const finished = done(tx);
    tx.objectStore(KEYS).put(record);
    await finished;
  }

  /**
   * Loads every stored device key into `backend` (through `adoptKeyPair`) and returns their
   * refs, in id order.
   *
   * @throws SigilError `E_FORMAT` if a record is malformed or its id does not name its public
   *   key; `E_BAD_PUBLIC_KEY` for a stored public key not on P-256; `E_KEY_POLICY` /
   *   `E_KEY_USAGE` as `adoptKeyPair`; `E_KEY_NOT_FOUND` if storage fails.
   */
  async loadKeys(backend: WebCryptoKeyBackend): Promise<KeyRef[]> {
    const records = await this.#records();
    const subtle = globalThis.crypto.subtle;
    const refs: KeyRef[] = [];
    for (const r of records) {
      const algorithm = r.usage === 'sign' ? { name: 'ECDSA', namedCurve: 'P-256' } : { name: 'ECDH', namedCurve: 'P-256' };
      const publicKey = await subtle.importKey('raw', new Uint8Array(r.publicKey), algorithm, true, r.usage === 'sign' ? ['verify'] : []);
      const ref = await backend.adoptKeyPair({ privateKey: r.privateKey, publicKey, usage: r.usage, label: r.label });
      if (ref.id !== r.id) {
        await backend.deleteKey(ref);
        throw new SigilError('E_FORMAT', 'A stored device key does not match its id.', { detail: 'key-store' });
      }
      refs.push(ref);
    }
    return refs;
  }

  /** The stored keys' ids, usages, labels and public keys (no private key), in id order. */
  async listKeys(): Promise<StoredKeyInfo[]> {
    return (await this.#records()).map(({ id, usage, label, publicKey }) => ({ id, usage, label, publicKey }));
  }

  /** Deletes the stored key with this id (no error if there is none). */
  async deleteKey(id: string): Promise<void> {
    checkName(id, 'id');
    const tx = this.#db.transaction(KEYS, 'readwrite');
    const finished = done(tx);
    tx.objectStore(KEYS).delete(id);
    await finished;
  }

  /**
   * Stores a blob under `name`, replacing any previous one. Meant for bytes that are ALREADY
   * sealed (e.g. by `sealWithPrfKek`) or public: the store adds no protection of its own.
   */
  async putSealed(name: string, sealed: Uint8Array): Promise<void> {
    checkName(name, 'name');
    if (!(sealed instanceof Uint8Array)) throw new TypeError('"sealed" expected Uint8Array');
    const tx = this.#db.transaction(SEALED, 'readwrite');
    const finished = done(tx);
    tx.objectStore(SEALED).put(new Uint8Array(sealed), name);
    await finished;
  }

  /** The blob stored under `name`, or undefined. */
  async getSealed(name: string): Promise<Uint8Array | undefined> {
    checkName(name, 'name');
    const value: unknown = await request(this.#db.transaction(SEALED, 'readonly').objectStore(SEALED).get(name));
    return value instanceof Uint8Array ? value : undefined;
  }

  /** Deletes the blob stored under `name` (no error if there is none). */
  async deleteSealed(name: string): Promise<void> {
    checkName(name, 'name');
    const tx = this.#db.transaction(SEALED, 'readwrite');
    const finished = done(tx);
    tx.objectStore(SEALED).delete(name);
    await finished;
  }

  /** Deletes every key and blob of this store. */
  async clear(): Promise<void> {
    const tx = this.#db.transaction([KEYS, SEALED], 'readwrite');
    const finished = done(tx);
    tx.objectStore(KEYS).clear();
    tx.objectStore(SEALED).clear();
    await finished;
  }

  /** Closes the database connection; the store is unusable afterwards. */
  close(): void {
    this.#db.close();
  }

  async #records(): Promise<KeyRecord[]> {
    const raw: unknown[] = await request(this.#db.transaction(KEYS, 'readonly').objectStore(KEYS).getAll());
    return raw.map((r) => {
      const v = r as Partial<KeyRecord> | null;
      if (
        typeof v !== 'object' ||
        v === null ||
        typeof v.id !== 'string' ||
        !isUsage(v.usage) ||
        typeof v.label !== 'string' ||
        !(v.publicKey instanceof Uint8Array) ||
        typeof v.privateKey !== 'object' ||
        v.privateKey === null ||
        (typeof CryptoKey !== 'undefined' && !(v.privateKey instanceof CryptoKey))
      ) {
        throw new SigilError('E_FORMAT', 'A stored device key record is malformed.', { detail: 'key-store' });
      }
      checkP256PublicKey(v.publicKey);
      return v as KeyRecord;
    });
  }
}
