// A DirectoryClient's memory in IndexedDB: the last verified checkpoint and each account's
// highest verified statement survive reloads, so a directory that rolls an account back or shows
// this browser two histories is caught across sessions, not only within one page's life.
// Each save is one IndexedDB transaction (atomic, durable when it completes). Nothing here
// touches a browser global at import time.
import { SigilError } from '../errors.js';
import { checkHead, type AccountHead, type ClientStateStore } from '../directory/state-store.js';

const DB_VERSION = 1;
const STATE = 'client-state';
const CHECKPOINT = 'checkpoint';
const headKey = (accountId: string): string => `head:${accountId}`;

export interface IndexedDbClientStateStoreOptions {
  /** The IndexedDB database name (default `"sigil-client-state"`). */
  readonly name?: string | undefined;
  /** The IndexedDB factory (default `globalThis.indexedDB`). */
  readonly indexedDB?: IDBFactory | undefined;
}

function failed(cause: unknown): SigilError {
  return new SigilError('E_DIRECTORY', 'The directory client state (IndexedDB) is not available or failed.', { cause, detail: 'indexeddb' });
}

function corrupt(): SigilError {
  // An unreadable memory is reported, never replaced by an empty one (which would disable
  // rollback detection).
  return new SigilError('E_FORMAT', 'The directory client state in IndexedDB is not a Sigil client state.', { detail: 'client-state' });
}

/**
 * `ClientStateStore` on IndexedDB, for browsers. The client re-verifies what it loads (the
 * checkpoint against the pinned log key), so the store is trusted for freshness, not authenticity.
 *
 * @throws SigilError `E_FORMAT` from a load if the stored value is not a client state;
 *   `E_DIRECTORY` (detail `indexeddb`) if IndexedDB is unavailable or fails.
 * @example
 * ```ts
 * const directory = new DirectoryClient({ url, logPublicKey, state: new IndexedDbClientStateStore() });
 * ```
 */
export class IndexedDbClientStateStore implements ClientStateStore {
  readonly #name: string;
  readonly #factory: IDBFactory | undefined;
  #db: Promise<IDBDatabase> | undefined;

  constructor(options: IndexedDbClientStateStoreOptions = {}) {
    const name = options.name ?? 'sigil-client-state';
    if (typeof name !== 'string' || name.length === 0 || name.length > 256) throw new TypeError('"name" expected a string of 1 to 256 characters');
    this.#name = name;
    this.#factory = options.indexedDB;
  }

  #open(): Promise<IDBDatabase> {
    this.#db ??= new Promise<IDBDatabase>((resolve, reject) => {
      const factory = this.#factory ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB;
      if (factory === undefined) return reject(failed(new Error('indexedDB is not defined')));
      let req: IDBOpenDBRequest;
      try {
        req = factory.open(this.#name, DB_VERSION);
      } catch (cause) {
        return reject(failed(cause));
      }
      req.onupgradeneeded = () => {
        if (!req.result.objectStoreNames.contains(STATE)) req.result.createObjectStore(STATE);
      };
      req.onsuccess = () => {
        const db = req.result;
        db.onversionchange = () => {
          db.close();
          this.#db = undefined;
        };
        resolve(db);
      };
      req.onerror = () => reject(failed(req.error));
    });
    // A failed open is retried on the next call rather than cached.
    this.#db.catch(() => {
      this.#db = undefined;
    });
    return this.#db;
  }

  async #get(key: string): Promise<unknown> {
    const db = await this.#open();
    return new Promise((resolve, reject) => {
      const req = db.transaction(STATE, 'readonly').objectStore(STATE).get(key);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(failed(req.error));
    });
  }

  async #put(key: string, value: unknown): Promise<void> {
    const db = await this.#open();
    return new Promise((resolve, reject) => {
      const tx = db.transaction(STATE, 'readwrite');
      tx.objectStore(STATE).put(value, key);
      tx.oncomplete = () => resolve();
      tx.onabort = () => reject(failed(tx.error));
      tx.onerror = () => reject(failed(tx.error));
    });
  }

  async loadCheckpoint(): Promise<string | undefined> {
    const v = await this.#get(CHECKPOINT);
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw corrupt();
    return v;
  }

  async saveCheckpoint(note: string): Promise<void> {
    if (typeof note !== 'string') throw new TypeError('"note" expected a string');
    await this.#put(CHECKPOINT, note);
  }

  async loadAccountHead(accountId: string): Promise<AccountHead | undefined> {
    if (typeof accountId !== 'string') throw new TypeError('"accountId" expected a string');
    const v = await this.#get(headKey(accountId));
    if (v === undefined) return undefined;
    const h = v as { seq?: unknown; head?: unknown };
    if (typeof v !== 'object' || v === null || typeof h.seq !== 'number' || !(h.head instanceof Uint8Array)) throw corrupt();
    const head = { seq: h.seq, head: new Uint8Array(h.head) };
    try {
      checkHead(head);
    } catch {
      throw corrupt();
    }
    return head;
  }

  async saveAccountHead(accountId: string, head: AccountHead): Promise<void> {
    if (typeof accountId !== 'string') throw new TypeError('"accountId" expected a string');
    checkHead(head);
    await this.#put(headKey(accountId), { seq: head.seq, head: new Uint8Array(head.head) });
  }

  /** Closes the database connection (it reopens on the next call). */
  close(): void {
    const db = this.#db;
    this.#db = undefined;
    void db?.then((d) => d.close()).catch(() => undefined);
  }
}
