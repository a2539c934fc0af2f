// Pkcs11KeyBackend: the KeyBackend contract (packages/sdk/src/key-backend.ts) over a PKCS#11
// token.
//
// Built on pkcs11js directly, not graphene-pk11. graphene wraps every call in objects of its
// own and offers its asynchronous variants as callbacks on a few operations only; Sigil needs
// the opposite: per-operation choice between the sync and *Async calls of pkcs11js (see
// `Pkcs11KeyBackendOptions.asyncCalls`), raw session and object handles it can pool, cache and
// invalidate on reconnect, the numeric CKR_* code of every failure for one error table, and an
// overhead of a few microseconds per call (scripts/bench/key-backends.mjs holds it under 10%
// of a raw pkcs11js loop). graphene would add a layer between Sigil and each of these.
import { createHash, randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import pkcs11js from 'pkcs11js';
import type { Mechanism } from 'pkcs11js';
import { checkGenerateOptions, checkP256PublicKey, keyIdOf } from '@sigil/sdk/backend';
import type { GenerateKeyPairOptions, KeyBackend, KeyDescription, KeyRef, KeyUsage, ListKeysOptions } from '@sigil/sdk/backend';
import { SigilError } from '@sigil/sdk/errors';
import { ckrOf, meaningOf, toSigilError } from './internal/ckr.js';
import { decodeEcPoint, encodeEcPoint, P256_EC_PARAMS } from './internal/ec.js';
import { acquireModule, initializeModule, login, releaseModule, type LoadedModule } from './internal/module-registry.js';
import { reconnectCodes, TokenWorkers, workerEntry, type WorkerEntry } from './internal/worker-pool.js';
import type { WorkerInit } from './internal/worker-protocol.js';
import { OP_DERIVE, OP_SIGN } from './internal/worker-protocol.js';
import {
  DERIVED_SECRET_TEMPLATE,
  findObjects,
  isTrue,
  privateKeyTemplate,
  publicKeyTemplate,
  readAttributes,
  verifyKeyTemplate,
  wrappingKeyTemplate,
} from './internal/objects.js';

/** Options of {@link Pkcs11KeyBackend.open}. */
export interface Pkcs11KeyBackendOptions {
  /** Path of the PKCS#11 library, e.g. SoftHSM's `libsofthsm2.so`. */
  readonly module: string;
  /** The token's label (CKA_LABEL of the token, trimmed). Slots are never addressed by number. */
  readonly token: string;
  /** The user PIN. Kept in memory to log in again after a reconnect. */
  readonly pin: string;
  /** Sessions in the pool (1 to 64; default 4): how many operations can be on the token at once. */
  readonly sessions?: number | undefined;
  /**
   * Run sign, derive, verify and wrap/unwrap through pkcs11js's *Async calls on libuv's thread
   * pool instead of on the calling thread. Default false: on a local token such as SoftHSM one
   * sync ECDSA sign takes ~30 µs, the *Async hop adds ~80–100 µs, and several async calls in
   * flight are no faster than sync ones because SoftHSM serialises most of each call (figures
   * in scripts/bench). Set it for a networked or slow HSM, where one call takes milliseconds
   * and must not hold the event loop. Key and object generation always use the async calls:
   * creating token objects writes files (~10 ms on SoftHSM).
   */
  readonly asyncCalls?: boolean | undefined;
  /**
   * Where `sign` and `deriveSharedSecret` run. With worker threads, a call made alone runs on
   * the calling thread (sync), and calls made concurrently (in the same turn of the event
   * loop) are shared, in batches, between the calling thread and worker threads that each
   * hold a session of their own (one more session on the token per worker) and make the sync
   * pkcs11js calls, so that a token that does most of each call outside its locks (SoftHSM)
   * can use more than one core. Keys, usage and policy are checked on the calling thread
   * first; errors, reconnection and `close()` behave as on one thread.
   *
   * - `'auto'` (the default, unless `asyncCalls` is true): the workers start in the
   *   background at the first concurrent calls, never for a lone caller. Until they are up,
   *   and for good if they cannot start (no worker script beside this module, as in a
   *   single-file bundle; a worker that cannot open its session), every call runs on the
   *   calling thread, as with `'thread'`.
   * - `'workers'`: the workers start at `open()`, which fails if they cannot.
   * - `'thread'` (the default when `asyncCalls` is true): every call on the calling thread,
   *   sync or through the *Async calls as `asyncCalls` says.
   *
   * Measured on 2 cores with the second one free (control 1.72–1.77x;
   * scripts/bench/key-backends.mjs): one caller 0.97–1.01x of the sync path; four callers,
   * against one sync caller, 1.41–1.48x for ECDSA sign and 1.37–1.39x for ECDH derive with
   * `'workers'`, 1.32–1.40x and 1.25–1.35x with `'auto'` (raw pkcs11js on two threads:
   * 1.65–1.78x and 1.38–1.43x), where `'thread'` gives 0.97–1.03x and `asyncCalls`
   * 1.14–1.19x (and halves one caller's rate).
   */
  readonly execution?: 'auto' | 'thread' | 'workers' | undefined;
  /**
   * Worker threads for `execution: 'auto'` and `'workers'` (1 to 16; default: one fewer than
   * the cores, at least 1). The calling thread takes a share of every batch itself, so it
   * counts as one.
   */
  readonly workers?: number | undefined;
}

/** A handle on an AES-256 key held by the token, for wrapping backups and escrow shares. */
export interface WrappingKeyRef {
  /** 16 random bytes in lowercase hex; the key's CKA_ID. */
  readonly id: string;
  readonly label: string;
}

/** Options of {@link Pkcs11KeyBackend.wrap} and {@link Pkcs11KeyBackend.unwrap}. */
export interface WrapOptions {
  /** Additional authenticated data: bound to the ciphertext, not encrypted (SP 800-38D §5.2.1). */
  readonly aad?: Uint8Array | undefined;
}

interface KeyEntry {
  readonly ref: KeyRef;
  readonly privateHandle: Buffer;
  readonly publicHandle: Buffer;
  /** Why this key must not be used, or undefined when it meets Sigil's policy. */
  readonly violation: string | undefined;
  /** What the token itself says the key is for: undefined when it permits both or neither. */
  readonly tokenUsage: KeyUsage | undefined;
}

interface WrappingEntry {
  readonly ref: WrappingKeyRef;
  readonly handle: Buffer;
  readonly violation: string | undefined;
}

interface Connection {
  readonly slot: Buffer;
  readonly sessions: readonly Buffer[];
  readonly free: Buffer[];
  /** Tells token workers which key handles are current (see worker-protocol.ts). */
  readonly generation: number;
  readonly mechanisms: Set<number>;
  readonly hardware: boolean;
  readonly keys: Map<string, KeyEntry>;
  readonly wrappingKeys: Map<string, WrappingEntry>;
  live: boolean;
}

interface ResolvedOptions {
  readonly module: string;
  readonly token: string;
  readonly pin: string;
  readonly sessions: number;
  readonly asyncCalls: boolean;
  readonly execution: 'auto' | 'thread' | 'workers';
  readonly workers: number;
}

/** What a lazy start of the token workers needs (see `#startWorkers`). */
interface WorkerStart {
  readonly entry: WorkerEntry;
  readonly options: Omit<WorkerInit, 'generation'>;
  readonly count: number;
}

interface Waiter {
  readonly resolve: (lease: Lease) => void;
  readonly reject: (e: unknown) => void;
}

interface Lease {
  readonly conn: Connection;
  readonly session: Buffer;
}

// CK_SLOT_INFO flag (PKCS#11 2.40 §3.2); pkcs11js exports no name for it.
const CKF_HW_SLOT = 0x4;
const WRAP_VERSION = 0x01;
const GCM_IV_BYTES = 12;
const GCM_TAG_BYTES = 16;
const ID_PATTERN = /^[0-9a-f]{32}$/;

/**
 * A {@link KeyBackend} whose private keys are generated inside a PKCS#11 token and never leave
 * it: ECDSA P-256 signing (CKM_ECDSA over a SHA-256 digest computed in software, because
 * SoftHSM 2.6 lacks CKM_ECDSA_SHA256) and ECDH P-256 (CKM_ECDH1_DERIVE with CKD_NULL).
 *
 * Keys are token objects with CKA_SENSITIVE true and CKA_EXTRACTABLE false, CKA_ID set to the
 * 16 bytes of `keyIdOf(publicKey)` and CKA_LABEL to the label, so they survive restarts and
 * are found again by id or label. A key on the token that reads back extractable or not
 * sensitive (imported by another tool, say) is refused with `E_KEY_POLICY`.
 *
 * Concurrency: a pool of sessions (default 4); callers beyond that wait their turn. Concurrent
 * sign and derive calls are shared with worker threads (see `execution`). If the token goes
 * away (module finalized, sessions closed, token removed) the next call reconnects, logs in
 * again and retries once.
 *
 * SoftHSM is a software token: it proves the PKCS#11 path, not hardware isolation (the key sits
 * in this process's memory and, PIN-encrypted, in its token directory).
 *
 * @example
 * ```ts
 * const keys = await Pkcs11KeyBackend.open({ module: '/usr/lib/softhsm/libsofthsm2.so', token: 'sigil', pin });
 * const ref = await keys.generateKeyPair({ usage: 'sign', label: 'log-signer' });
 * const signature = await keys.sign(ref, message);
 * await keys.close();
 * ```
 */
export class Pkcs11KeyBackend implements KeyBackend {
  readonly #module: LoadedModule;
  readonly #token: string;
  readonly #pin: string;
  readonly #size: number;
  readonly #asyncCalls: boolean;
  #conn: Connection | undefined;
  #generation = 0;
  #workers: TokenWorkers | undefined;
  /** Set while the workers may still be started (execution 'auto', script found, not tried yet). */
  #workerStart: WorkerStart | undefined;
  #starting: Promise<void> | undefined;
  /** A sign or derive ran on this thread in the current microtask window (see `#noteCall`). */
  #callInWindow = false;
  #connecting: Promise<Connection> | undefined;
  readonly #waiters: Waiter[] = [];
  #closed = false;
  /** Sessions leased out right now, across connections; close() waits for them. */
  #busy = 0;
  #idle: (() => void) | undefined;

  private constructor(module: LoadedModule, options: ResolvedOptions) {
    this.#module = module;
    this.#token = options.token;
    this.#pin = options.pin;
    this.#size = options.sessions;
    this.#asyncCalls = options.asyncCalls;
  }

  /**
   * Loads the module (once per process), finds the token by label, opens the session pool and
   * logs in.
   *
   * @throws {SigilError} `E_HSM_UNAVAILABLE` if the module file or the token label is not found
   *   (the message names which); `E_HSM_PIN` for a wrong PIN; `E_HSM_PIN_LOCKED` if the user
   *   PIN is locked; `E_HSM_LOGIN` for another login failure; `E_HSM` for other token failures,
   *   and with `execution: 'workers'` when the token workers cannot start.
   * @throws {TypeError | RangeError} for malformed options.
   */
  static async open(options: Pkcs11KeyBackendOptions): Promise<Pkcs11KeyBackend> {
    const checked = checkOpenOptions(options);
    const module = acquireModule(checked.module);
    const backend = new Pkcs11KeyBackend(module, checked);
    try {
      const conn = await backend.#connected();
      if (checked.execution !== 'thread') {
        const entry = workerEntry();
        const options = { module: checked.module, token: checked.token, pin: checked.pin, reconnectCodes: reconnectCodes() };
        if (checked.execution === 'auto') {
          // Without a worker script beside this module (bundled into one file) every call runs here.
          if (entry !== undefined) backend.#workerStart = { entry, options, count: checked.workers };
        } else {
          if (entry === undefined) {
            throw new SigilError('E_HSM', "execution 'workers' needs the token worker script beside this module (internal/token-worker.js); a single-file bundle has none.", {
              detail: 'no-worker-script',
            });
          }
          backend.#workers = await TokenWorkers.start(entry, options, conn.generation, checked.workers).catch((e: unknown) => {
            throw toSigilError(e, 'starting token workers');
          });
        }
      }
    } catch (e) {
      const conn = backend.#conn;
      backend.#conn = undefined;
      if (conn !== undefined) backend.#retire(conn);
      releaseModule(module);
      throw e;
    }
    return backend;
  }

  /**
   * Closes this backend's sessions; the last backend on the module finalizes it. Calls already
   * on the token finish first (a session is never closed under a call running on another
   * thread); calls still queued, and calls made after `close`, fail with `E_BACKEND_CLOSED`.
   * Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#workerStart = undefined;
    for (const w of this.#waiters.splice(0)) w.reject(closedError());
    const conn = this.#conn;
    this.#conn = undefined;
    if (conn !== undefined) this.#retire(conn);
    if (this.#busy > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
    // Workers close their sessions before the module can be finalized under them (workers
    // still starting are closed as soon as they are up).
    await this.#starting;
    await this.#workers?.close();
    releaseModule(this.#module);
  }

  /**
   * Generates an ECDSA or ECDH P-256 key pair on the token.
   *
   * @throws {SigilError} `E_HSM_MECHANISM` if the token lacks CKM_EC_KEY_PAIR_GEN or P-256;
   *   `E_HSM_UNAVAILABLE`, `E_HSM` on token failure; `E_BACKEND_CLOSED`.
   * @throws {TypeError | RangeError} for a bad usage or label.
   */
  async generateKeyPair(options: GenerateKeyPairOptions): Promise<KeyRef> {
    const { usage, label } = checkGenerateOptions(options);
    return this.#run('generating a key pair', async ({ conn, session }) => {
      this.#requireMechanism(conn, session, pkcs11js.CKM_EC_KEY_PAIR_GEN, 'CKM_EC_KEY_PAIR_GEN');
      const lib = this.#module.lib;
      const pair = await lib.C_GenerateKeyPairAsync(
        session,
        { mechanism: pkcs11js.CKM_EC_KEY_PAIR_GEN },
        publicKeyTemplate(usage, label),
        privateKeyTemplate(usage, label),
      );
      try {
        const [point] = readAttributes(lib, session, pair.publicKey, [pkcs11js.CKA_EC_POINT]);
        const publicKey = decodeEcPoint(point ?? Buffer.alloc(0));
        checkP256PublicKey(publicKey);
        const id = await keyIdOf(publicKey);
        const ckaId = [{ type: pkcs11js.CKA_ID, value: Buffer.from(id, 'hex') }];
        lib.C_SetAttributeValue(session, pair.privateKey, ckaId);
        lib.C_SetAttributeValue(session, pair.publicKey, ckaId);
        const entry = this.#readEntry(session, pair.privateKey, pair.publicKey, id);
        if (entry === undefined || entry.violation !== undefined) {
          throw new SigilError('E_KEY_POLICY', `The token did not keep the attributes Sigil set on key ${id}.`);
        }
        conn.keys.set(id, entry);
        return entry.ref;
      } catch (e) {
        // No half-made keys: a pair without its id, or one that failed the policy, is removed.
        for (const h of [pair.privateKey, pair.publicKey]) {
          try {
            lib.C_DestroyObject(session, h);
          } catch {
            // already gone
          }
        }
        throw e;
      }
    });
  }

  /**
   * ECDSA P-256 over SHA-256(`data`): the digest is computed with node:crypto and signed on the
   * token with CKM_ECDSA, which returns `r || s` (IEEE P1363, 64 bytes; PKCS#11 2.40 §2.3.1).
   *
   * @throws {SigilError} `E_KEY_NOT_FOUND`; `E_KEY_USAGE` for an agreement key; `E_KEY_POLICY`
   *   for a key that is extractable or not sensitive; `E_HSM_MECHANISM`; `E_HSM_UNAVAILABLE`;
   *   `E_HSM`; `E_BACKEND_CLOSED`.
   * @throws {TypeError} if `data` is not a Uint8Array.
   */
  async sign(ref: KeyRef, data: Uint8Array): Promise<Uint8Array> {
    checkRef(ref);
    checkBytes('data', data);
    const digest = createHash('sha256').update(data).digest();
    return this.#run('signing', ({ conn, session }) => {
      const entry = this.#usable(conn, session, ref.id, 'sign');
      this.#requireMechanism(conn, session, pkcs11js.CKM_ECDSA, 'CKM_ECDSA');
      const lib = this.#module.lib;
      const out = Buffer.alloc(64);
      if (this.#workers !== undefined) {
        const here = (): Uint8Array => {
          lib.C_SignInit(session, { mechanism: pkcs11js.CKM_ECDSA }, entry.privateHandle);
          return lib.C_Sign(session, digest, out);
        };
        return this.#workers.run({ op: OP_SIGN, generation: conn.generation, key: entry.privateHandle, input: digest }, here).then(p1363);
      }
      this.#noteCall(conn);
      lib.C_SignInit(session, { mechanism: pkcs11js.CKM_ECDSA }, entry.privateHandle);
      return this.#asyncCalls ? lib.C_SignAsync(session, digest, out).then(p1363) : p1363(lib.C_Sign(session, digest, out));
    });
  }

  /**
   * ECDH P-256 with the peer's public key: CKM_ECDH1_DERIVE / CKD_NULL into a session secret
   * whose value (the x coordinate, RFC 9180 §4.1 DH output) is read and destroyed at once.
   *
   * @throws {SigilError} `E_BAD_PUBLIC_KEY` if `peerPublicKey` is not a valid uncompressed
   *   P-256 point (checked before the token sees it); `E_KEY_NOT_FOUND`; `E_KEY_USAGE` for a
   *   signing key; `E_KEY_POLICY`; `E_HSM_MECHANISM`; `E_HSM_UNAVAILABLE`; `E_HSM`;
   *   `E_BACKEND_CLOSED`.
   */
  async deriveSharedSecret(ref: KeyRef, peerPublicKey: Uint8Array): Promise<Uint8Array> {
    checkRef(ref);
    checkP256PublicKey(peerPublicKey);
    const mechanism: Mechanism = {
      mechanism: pkcs11js.CKM_ECDH1_DERIVE,
      parameter: { type: pkcs11js.CK_PARAMS_EC_DH, kdf: pkcs11js.CKD_NULL, publicData: Buffer.from(peerPublicKey) },
    } as Mechanism;
    return this.#run('deriving a shared secret', ({ conn, session }) => {
      const entry = this.#usable(conn, session, ref.id, 'agree');
      this.#requireMechanism(conn, session, pkcs11js.CKM_ECDH1_DERIVE, 'CKM_ECDH1_DERIVE');
      const lib = this.#module.lib;
      // Read the x coordinate out of the derived session object, then destroy it at once.
      const take = (secret: Buffer): Uint8Array => {
        try {
          const [value] = readAttributes(lib, session, secret, [pkcs11js.CKA_VALUE]);
          if (value === undefined || value.length !== 32) throw new SigilError('E_HSM', 'The token derived a secret of the wrong length.');
          const out = new Uint8Array(value);
          value.fill(0);
          return out;
        } finally {
          lib.C_DestroyObject(session, secret);
        }
      };
      if (this.#workers !== undefined) {
        const here = () => take(lib.C_DeriveKey(session, mechanism, entry.privateHandle, DERIVED_SECRET_TEMPLATE));
        const call = { op: OP_DERIVE, generation: conn.generation, key: entry.privateHandle, input: Buffer.from(peerPublicKey) } as const;
        return this.#workers.run(call, here).then(secret32);
      }
      this.#noteCall(conn);
      return this.#asyncCalls
        ? lib.C_DeriveKeyAsync(session, mechanism, entry.privateHandle, DERIVED_SECRET_TEMPLATE).then(take)
        : take(lib.C_DeriveKey(session, mechanism, entry.privateHandle, DERIVED_SECRET_TEMPLATE));
    });
  }

  /**
   * Verifies an ECDSA P-256 / SHA-256 signature (IEEE P1363 `r || s`) on the token, with the
   * public key as a temporary session object. A signature that does not verify, or that is not
   * 64 bytes, gives `false`.
   *
   * @throws {SigilError} `E_BAD_PUBLIC_KEY` if `publicKey` is not a valid uncompressed P-256
   *   point; `E_HSM_MECHANISM`; `E_HSM_UNAVAILABLE`; `E_HSM`; `E_BACKEND_CLOSED`.
   * @throws {TypeError} if `data` or `signature` is not a Uint8Array.
   */
  async verify(publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array): Promise<boolean> {
    checkP256PublicKey(publicKey);
    checkBytes('data', data);
    checkBytes('signature', signature);
    if (signature.length !== 64) return false;
    const digest = createHash('sha256').update(data).digest();
    const sig = Buffer.from(signature);
    const point = encodeEcPoint(publicKey);
    return this.#run('verifying a signature', async ({ conn, session }) => {
      this.#requireMechanism(conn, session, pkcs11js.CKM_ECDSA, 'CKM_ECDSA');
      const lib = this.#module.lib;
      const key = lib.C_CreateObject(session, verifyKeyTemplate(point));
      try {
        lib.C_VerifyInit(session, { mechanism: pkcs11js.CKM_ECDSA }, key);
        return this.#asyncCalls ? await lib.C_VerifyAsync(session, digest, sig) : lib.C_Verify(session, digest, sig);
      } catch (e) {
        const ckr = ckrOf(e);
        if (ckr !== undefined && meaningOf(ckr).code === 'E_BAD_SIGNATURE') return false;
        throw e;
      } finally {
        lib.C_DestroyObject(session, key);
      }
    });
  }

  /**
   * The key with this id (`keyIdOf(publicKey)`), or undefined. Keys made by other tools are
   * found too, by their public key, whatever their CKA_ID.
   *
   * @throws {SigilError} `E_HSM_UNAVAILABLE`; `E_HSM`; `E_BACKEND_CLOSED`.
   */
  async getKey(id: string): Promise<KeyRef | undefined> {
    if (typeof id !== 'string') throw new TypeError(`"id" expected string, got ${typeof id}`);
    if (!ID_PATTERN.test(id)) return undefined;
    return this.#run('finding a key', ({ conn, session }) => this.#lookup(conn, session, id)?.ref);
  }

  /**
   * Every EC P-256 private key on the token that has its public key beside it, filtered by
   * label and usage. Keys that break the policy are listed (so they can be found and deleted)
   * but refused when used.
   *
   * @throws {SigilError} `E_HSM_UNAVAILABLE`; `E_HSM`; `E_BACKEND_CLOSED`.
   */
  async listKeys(options: ListKeysOptions = {}): Promise<KeyRef[]> {
    return this.#run('listing keys', async ({ conn, session }) => {
      const refs: KeyRef[] = [];
      for (const entry of this.#scanSync(conn, session, options.label)) {
        if (options.usage === undefined || entry.ref.usage === options.usage) refs.push(entry.ref);
      }
      return refs;
    });
  }

  /**
   * Destroys the key pair on the token. A key that is already gone is not an error.
   *
   * @throws {SigilError} `E_HSM_UNAVAILABLE`; `E_HSM`; `E_BACKEND_CLOSED`.
   */
  async deleteKey(ref: KeyRef): Promise<void> {
    checkRef(ref);
    await this.#run('deleting a key', ({ conn, session }) => {
      const entry = this.#lookup(conn, session, ref.id);
      if (entry === undefined) return;
      conn.keys.delete(ref.id);
      for (const h of [entry.privateHandle, entry.publicHandle]) {
        try {
          this.#module.lib.C_DestroyObject(session, h);
        } catch (e) {
          if (!meaningOf(ckrOf(e) ?? -1).staleHandle) throw e;
        }
      }
    });
  }

  /**
   * What the token reports about the private key: CKA_EXTRACTABLE, CKA_SENSITIVE, and whether
   * the slot is a hardware slot (CKF_HW_SLOT; SoftHSM's is not).
   *
   * @throws {SigilError} `E_KEY_NOT_FOUND`; `E_HSM_UNAVAILABLE`; `E_HSM`; `E_BACKEND_CLOSED`.
   */
  async describeKey(ref: KeyRef): Promise<KeyDescription> {
    checkRef(ref);
    return this.#run('describing a key', ({ conn, session }) => {
      const entry = this.#lookup(conn, session, ref.id);
      if (entry === undefined) throw notFound(ref.id);
      const [extractable, sensitive] = readAttributes(this.#module.lib, session, entry.privateHandle, [
        pkcs11js.CKA_EXTRACTABLE,
        pkcs11js.CKA_SENSITIVE,
      ]);
      return { extractable: isTrue(extractable), sensitive: isTrue(sensitive), hardware: conn.hardware };
    });
  }

  /**
   * Generates an AES-256 key on the token (sensitive, never extractable) for {@link wrap} and
   * {@link unwrap}.
   *
   * @throws {SigilError} `E_HSM_MECHANISM` if the token lacks CKM_AES_KEY_GEN or CKM_AES_GCM;
   *   `E_HSM_UNAVAILABLE`; `E_HSM`; `E_BACKEND_CLOSED`.
   * @throws {RangeError} for a bad label.
   */
  async generateWrappingKey(options: { readonly label: string }): Promise<WrappingKeyRef> {
    const { label } = checkGenerateOptions({ usage: 'sign', label: options?.label });
    const idBytes = randomBytes(16);
    const id = idBytes.toString('hex');
    return this.#run('generating a wrapping key', async ({ conn, session }) => {
      this.#requireMechanism(conn, session, pkcs11js.CKM_AES_KEY_GEN, 'CKM_AES_KEY_GEN');
      this.#requireMechanism(conn, session, pkcs11js.CKM_AES_GCM, 'CKM_AES_GCM');
      const handle = await this.#module.lib.C_GenerateKeyAsync(
        session,
        { mechanism: pkcs11js.CKM_AES_KEY_GEN },
        wrappingKeyTemplate(label, idBytes),
      );
      const entry = this.#readWrappingEntry(session, handle, id);
      if (entry.violation !== undefined) throw new SigilError('E_KEY_POLICY', entry.violation);
      conn.wrappingKeys.set(id, entry);
      return entry.ref;
    });
  }

  /**
   * The wrapping key with this id, or undefined.
   *
   * @throws {SigilError} `E_HSM_UNAVAILABLE`; `E_HSM`; `E_BACKEND_CLOSED`.
   */
  async getWrappingKey(id: string): Promise<WrappingKeyRef | undefined> {
    if (typeof id !== 'string') throw new TypeError(`"id" expected string, got ${typeof id}`);
    if (!ID_PATTERN.test(id)) return undefined;
    return this.#run('finding a wrapping key', ({ conn, session }) => this.#lookupWrapping(conn, session, id)?.ref);
  }

  /**
   * Destroys a wrapping key; whatever it wrapped can no longer be unwrapped. Already gone is
   * not an error.
   *
   * @throws {SigilError} `E_HSM_UNAVAILABLE`; `E_HSM`; `E_BACKEND_CLOSED`.
   */
  async deleteWrappingKey(ref: WrappingKeyRef): Promise<void> {
    await this.#run('deleting a wrapping key', ({ conn, session }) => {
      const entry = this.#lookupWrapping(conn, session, ref.id);
      if (entry === undefined) return;
      conn.wrappingKeys.delete(ref.id);
      this.#module.lib.C_DestroyObject(session, entry.handle);
    });
  }

  /**
   * Encrypts `data` under a wrapping key with AES-256-GCM on the token (CKM_AES_GCM; SP 800-38D)
   * and a random 96-bit IV. Output: `0x01 || IV (12) || ciphertext || tag (16)`.
   *
   * Why GCM rather than CKM_AES_KEY_WRAP_PAD (RFC 5649), which SoftHSM 2.6.1 also has: KWP
   * wraps key *objects*, so a byte string would first have to become an extractable secret
   * object on the token, and unwrapping would have to create a readable one; GCM takes the bytes
   * directly and binds associated data. Random IVs: at most 2^32 messages per key (SP 800-38D
   * §8.3), far beyond backup and escrow volumes.
   *
   * @throws {SigilError} `E_KEY_NOT_FOUND`; `E_KEY_POLICY`; `E_HSM_MECHANISM`;
   *   `E_HSM_UNAVAILABLE`; `E_HSM`; `E_BACKEND_CLOSED`.
   * @throws {TypeError} if `data` or `aad` is not a Uint8Array.
   */
  async wrap(ref: WrappingKeyRef, data: Uint8Array, options: WrapOptions = {}): Promise<Uint8Array> {
    checkBytes('data', data);
    const aad = options.aad === undefined ? undefined : Buffer.from(checkBytes('aad', options.aad));
    const iv = randomBytes(GCM_IV_BYTES);
    const plaintext = Buffer.from(data);
    return this.#run('wrapping', async ({ conn, session }) => {
      const entry = this.#usableWrapping(conn, session, ref.id);
      const lib = this.#module.lib;
      const out = Buffer.alloc(1 + GCM_IV_BYTES + plaintext.length + GCM_TAG_BYTES);
      out[0] = WRAP_VERSION;
      iv.copy(out, 1);
      const body = out.subarray(1 + GCM_IV_BYTES);
      lib.C_EncryptInit(session, gcm(iv, aad), entry.handle);
      const ct = this.#asyncCalls ? await lib.C_EncryptAsync(session, plaintext, body) : lib.C_Encrypt(session, plaintext, body);
      if (ct.length !== body.length) throw new SigilError('E_HSM', 'The token returned AES-GCM output of the wrong length.');
      return new Uint8Array(out.buffer, out.byteOffset, out.length);
    });
  }

  /**
   * Reverses {@link wrap}. Returns the plaintext only if the tag verifies.
   *
   * @throws {SigilError} `E_AUTH_FAILED` (one constant message, no oracle) if the input is not
   *   something this key wrapped with this `aad`, or was altered; `E_KEY_NOT_FOUND`;
   *   `E_KEY_POLICY`; `E_HSM_UNAVAILABLE`; `E_HSM`; `E_BACKEND_CLOSED`.
   * @throws {TypeError} if `wrapped` or `aad` is not a Uint8Array.
   */
  async unwrap(ref: WrappingKeyRef, wrapped: Uint8Array, options: WrapOptions = {}): Promise<Uint8Array> {
    checkBytes('wrapped', wrapped);
    const aad = options.aad === undefined ? undefined : Buffer.from(checkBytes('aad', options.aad));
    if (wrapped.length < 1 + GCM_IV_BYTES + GCM_TAG_BYTES || wrapped[0] !== WRAP_VERSION) throw authFailed();
    const input = Buffer.from(wrapped);
    const iv = input.subarray(1, 1 + GCM_IV_BYTES);
    const body = input.subarray(1 + GCM_IV_BYTES);
    return this.#run('unwrapping', async ({ conn, session }) => {
      const entry = this.#usableWrapping(conn, session, ref.id);
      const lib = this.#module.lib;
      const out = Buffer.alloc(body.length);
      lib.C_DecryptInit(session, gcm(iv, aad), entry.handle);
      let pt: Buffer;
      try {
        pt = this.#asyncCalls ? await lib.C_DecryptAsync(session, body, out) : lib.C_Decrypt(session, body, out);
      } catch (e) {
        // A failed tag is all the caller learns, whatever the token's CKR for it (SoftHSM
        // reports CKR_ENCRYPTED_DATA_INVALID or CKR_GENERAL_ERROR). Losing the session is not
        // a tag failure: that still reconnects.
        const ckr = ckrOf(e);
        if (ckr !== undefined && meaningOf(ckr).reconnect !== true && meaningOf(ckr).staleHandle !== true) throw authFailed(e);
        throw e;
      }
      return new Uint8Array(pt.buffer, pt.byteOffset, pt.length);
    });
  }

  // ---- token workers ----

  /**
   * Starts the token workers at the first sign or derive that runs in the same microtask
   * window as another one: callers awaiting each other's calls in turn (concurrent callers,
   * or a Promise.all) come back in one window; a lone caller's next call comes only after the
   * window has closed, so it never starts a worker and keeps the plain sync path. The same
   * window is what the workers' dispatcher batches (worker-pool.ts).
   */
  #noteCall(conn: Connection): void {
    if (this.#workerStart === undefined) return;
    if (this.#callInWindow) {
      this.#startWorkers(conn);
      return;
    }
    this.#callInWindow = true;
    queueMicrotask(() => (this.#callInWindow = false));
  }

  /**
   * Starts the workers once, in the background; calls go on running here until they are up.
   * If they cannot start, this backend keeps running every call here: it is the 'thread'
   * behaviour, never an error for a caller, and it is not retried (a worker that cannot open
   * a session now, or a script that cannot load, would cost a failed start per batch).
   */
  #startWorkers(conn: Connection): void {
    const start = this.#workerStart;
    if (start === undefined || !conn.live) return;
    this.#workerStart = undefined;
    this.#starting = TokenWorkers.start(start.entry, start.options, conn.generation, start.count).then(
      async (workers) => {
        if (this.#closed) return workers.close();
        // The connection may have been dropped or replaced while they started.
        workers.generation = this.#conn?.live === true ? this.#conn.generation : 0;
        this.#workers = workers;
      },
      () => undefined,
    );
  }

  // ---- sessions and reconnection ----

  /**
   * Runs `fn` with a session of the pool. If the session, login or module turned out to be
   * gone, reconnects and runs it once more; a cached object handle that went stale is dropped
   * and looked up again, once.
   */
  async #run<T>(doing: string, fn: (lease: Lease) => T | Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      // Fast path: a free session of a live connection, taken without a promise of its own
      // (this keeps the adapter within a few µs of a raw pkcs11js loop).
      const conn = this.#conn;
      const free = !this.#closed && conn?.live === true ? conn.free.pop() : undefined;
      const lease = free !== undefined && conn !== undefined ? this.#lease(conn, free) : await this.#acquire();
      try {
        const result = fn(lease);
        return result instanceof Promise ? await result : result;
      } catch (e) {
        // Sessions closed by close() under a call in flight: report the close, not the token.
        if (this.#closed && !SigilError.is(e)) throw closedError();
        const ckr = ckrOf(e);
        const meaning = ckr === undefined ? undefined : meaningOf(ckr);
        if (meaning?.reconnect === true || meaning?.staleHandle === true) {
          if (meaning.reconnect === true) {
            this.#invalidate(lease.conn);
          } else {
            lease.conn.keys.clear();
            lease.conn.wrappingKeys.clear();
          }
          if (attempt === 0 && !this.#closed) continue;
        }
        throw toSigilError(e, doing);
      } finally {
        this.#release(lease);
      }
    }
  }

  async #acquire(): Promise<Lease> {
    if (this.#closed) throw closedError();
    const conn = this.#conn?.live === true ? this.#conn : await this.#connected();
    const session = conn.free.pop();
    if (session !== undefined) return this.#lease(conn, session);
    const lease = await new Promise<Lease>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    if (this.#closed || !lease.conn.live) {
      this.#release(lease);
      if (this.#closed) throw closedError();
      return this.#acquire();
    }
    return lease;
  }

  #lease(conn: Connection, session: Buffer): Lease {
    this.#busy++;
    return { conn, session };
  }

  /**
   * Gives a session back: to the next queued caller, to the pool, or, if its connection was
   * retired (or the backend closed) while the call held it, to C_CloseSession. Sessions in
   * use are closed only here, by their holder, never under a call running on another thread.
   */
  #release(lease: Lease): void {
    const { conn, session } = lease;
    if (conn.live && conn === this.#conn && !this.#closed) {
      const waiter = this.#waiters.shift();
      if (waiter !== undefined) {
        waiter.resolve(lease); // the lease changes hands; #busy is unchanged
        return;
      }
      conn.free.push(session);
    } else {
      this.#closeSession(session);
    }
    this.#busy--;
    if (this.#busy === 0) this.#idle?.();
  }

  #connected(): Promise<Connection> {
    if (this.#closed) return Promise.reject(closedError());
    if (this.#conn?.live === true) return Promise.resolve(this.#conn);
    this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #connect(): Promise<Connection> {
    const m = this.#module;
    const lib = m.lib;
    initializeModule(m);
    let slot: Buffer | undefined;
    try {
      // Slots are found by the token's label: SoftHSM gives a token a new random slot id
      // when it is initialised, and slot order is not stable on any module.
      slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trim() === this.#token);
    } catch (e) {
      throw toSigilError(e, 'listing the slots');
    }
    if (slot === undefined) {
      throw new SigilError('E_HSM_UNAVAILABLE', `No token labelled "${this.#token}" in PKCS#11 module ${m.path}.`, {
        detail: 'token-not-found',
      });
    }
    let info;
    try {
      info = lib.C_GetTokenInfo(slot);
    } catch (e) {
      throw toSigilError(e, `reading token "${this.#token}"`);
    }
    if ((info.flags & pkcs11js.CKF_USER_PIN_LOCKED) !== 0) {
      throw new SigilError('E_HSM_PIN_LOCKED', `The user PIN of token "${this.#token}" is locked: the security officer must reset it.`, {
        detail: 'CKF_USER_PIN_LOCKED',
      });
    }
    const sessions: Buffer[] = [];
    try {
      for (let i = 0; i < this.#size; i++) {
        sessions.push(lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION));
      }
      login(m, sessions[0]!, this.#token, this.#pin);
      const mechanisms = new Set(lib.C_GetMechanismList(slot));
      const hardware = (lib.C_GetSlotInfo(slot).flags & CKF_HW_SLOT) !== 0;
      const conn: Connection = {
        slot,
        generation: ++this.#generation,
        sessions,
        free: [...sessions],
        mechanisms,
        hardware,
        keys: new Map(),
        wrappingKeys: new Map(),
        live: true,
      };
      if (this.#closed) {
        this.#retire(conn);
        throw closedError();
      }
      this.#conn = conn;
      if (this.#workers !== undefined) this.#workers.generation = conn.generation;
      // Callers that queued while the previous connection died get sessions of this one.
      while (this.#waiters.length > 0 && conn.free.length > 0) this.#waiters.shift()!.resolve(this.#lease(conn, conn.free.pop()!));
      return conn;
    } catch (e) {
      for (const s of sessions) {
        try {
          lib.C_CloseSession(s);
        } catch {
          // gone with the module
        }
      }
      throw toSigilError(e, `opening sessions on token "${this.#token}"`);
    }
  }

  #invalidate(conn: Connection): void {
    if (!conn.live) return;
    this.#retire(conn);
    if (this.#conn === conn) this.#conn = undefined;
    // Callers queued for a session of the dead connection must not wait for releases that
    // will never come: reconnect for them now, or hand them the reason it failed.
    if (this.#waiters.length > 0 && !this.#closed) {
      this.#connected().catch((e: unknown) => {
        for (const w of this.#waiters.splice(0)) w.reject(e);
      });
    }
  }

  /** Marks a connection dead and closes its idle sessions; busy ones close on release. */
  #retire(conn: Connection): void {
    conn.live = false;
    // From now on workers refuse calls with this connection's key handles (they are retried).
    if (this.#workers !== undefined && conn === this.#conn) this.#workers.generation = 0;
    conn.keys.clear();
    conn.wrappingKeys.clear();
    for (const s of conn.free.splice(0)) this.#closeSession(s);
  }

  #closeSession(session: Buffer): void {
    try {
      this.#module.lib.C_CloseSession(session);
    } catch {
      // Already invalid (module finalized, token gone): nothing to release.
    }
  }

  /**
   * Checks the token's mechanism list (read at connect). On a miss, asks the token again
   * through this session: the list may be stale because the module was re-initialized under
   * us, and then the session call fails with a CKR that makes #run reconnect.
   */
  #requireMechanism(conn: Connection, session: Buffer, mechanism: number, name: string): void {
    if (conn.mechanisms.has(mechanism)) return;
    const lib = this.#module.lib;
    lib.C_GetSessionInfo(session);
    const now = lib.C_GetMechanismList(conn.slot);
    if (now.includes(mechanism)) {
      conn.mechanisms.add(mechanism);
      return;
    }
    throw new SigilError('E_HSM_MECHANISM', `Token "${this.#token}" does not support ${name}, which Sigil needs.`, {
      detail: name,
    });
  }

  // ---- keys ----

  /** The key's entry, checked for existence, policy and purpose. */
  #usable(conn: Connection, session: Buffer, id: string, usage: KeyUsage): KeyEntry {
    const entry = this.#lookup(conn, session, id);
    if (entry === undefined) throw notFound(id);
    if (entry.violation !== undefined) throw new SigilError('E_KEY_POLICY', entry.violation);
    if (entry.tokenUsage !== usage) {
      throw new SigilError('E_KEY_USAGE', `Key ${id} is a ${entry.ref.usage} key; this operation needs a ${usage} key.`);
    }
    return entry;
  }

  #lookup(conn: Connection, session: Buffer, id: string): KeyEntry | undefined {
    const cached = conn.keys.get(id);
    if (cached !== undefined) return cached;
    const lib = this.#module.lib;
    const idBytes = Buffer.from(id, 'hex');
    // Sigil's own keys carry CKA_ID = the key id; keys made by other tools are found by their
    // public key (a scan), whatever CKA_ID they were given.
    for (const priv of findObjects(lib, session, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
      { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_EC },
      { type: pkcs11js.CKA_ID, value: idBytes },
    ])) {
      const pub = this.#publicFor(session, idBytes);
      const entry = pub === undefined ? undefined : this.#readEntry(session, priv, pub, id);
      if (entry !== undefined) {
        conn.keys.set(id, entry);
        return entry;
      }
    }
    return this.#scanSync(conn, session, undefined).find((e) => e.ref.id === id);
  }

  #publicFor(session: Buffer, ckaId: Buffer): Buffer | undefined {
    return findObjects(this.#module.lib, session, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY },
      { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_EC },
      { type: pkcs11js.CKA_ID, value: ckaId },
    ])[0];
  }

  /** Every usable-looking P-256 key pair on the token (optionally with one label), cached. */
  #scanSync(conn: Connection, session: Buffer, label: string | undefined): KeyEntry[] {
    const lib = this.#module.lib;
    const template = [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
      { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_EC },
      ...(label === undefined ? [] : [{ type: pkcs11js.CKA_LABEL, value: label }]),
    ];
    const entries: KeyEntry[] = [];
    for (const priv of findObjects(lib, session, template)) {
      const [ckaId] = readAttributes(lib, session, priv, [pkcs11js.CKA_ID]);
      if (ckaId === undefined || ckaId.length === 0) continue;
      const pub = this.#publicFor(session, ckaId);
      if (pub === undefined) continue;
      const entry = this.#readEntry(session, priv, pub, undefined);
      if (entry === undefined) continue;
      conn.keys.set(entry.ref.id, entry);
      entries.push(entry);
    }
    return entries;
  }

  /**
   * Reads a key pair and judges it against the policy. Returns undefined for what is not a
   * P-256 pair (another curve; a public key that is not a valid point; an id that does not
   * match the point). The policy check is done once per handle: a token lets CKA_SENSITIVE
   * only become true and CKA_EXTRACTABLE only become false (PKCS#11 2.40 §4.9), so a key
   * that passed cannot later fail.
   */
  #readEntry(session: Buffer, priv: Buffer, pub: Buffer, expectedId: string | undefined): KeyEntry | undefined {
    const lib = this.#module.lib;
    const [label, sensitive, extractable, canSign, canDerive, privParams] = readAttributes(lib, session, priv, [
      pkcs11js.CKA_LABEL,
      pkcs11js.CKA_SENSITIVE,
      pkcs11js.CKA_EXTRACTABLE,
      pkcs11js.CKA_SIGN,
      pkcs11js.CKA_DERIVE,
      pkcs11js.CKA_EC_PARAMS,
    ]);
    const [point, pubParams] = readAttributes(lib, session, pub, [pkcs11js.CKA_EC_POINT, pkcs11js.CKA_EC_PARAMS]);
    if (pubParams === undefined || !pubParams.equals(P256_EC_PARAMS)) return undefined;
    if (privParams !== undefined && privParams.length > 0 && !privParams.equals(P256_EC_PARAMS)) return undefined;
    let publicKey: Uint8Array;
    try {
      publicKey = decodeEcPoint(point ?? Buffer.alloc(0));
      checkP256PublicKey(publicKey);
    } catch {
      return undefined;
    }
    const id = keyIdSync(publicKey);
    if (expectedId !== undefined && id !== expectedId) return undefined;
    const sign = isTrue(canSign);
    const derive = isTrue(canDerive);
    const tokenUsage: KeyUsage | undefined = sign === derive ? undefined : sign ? 'sign' : 'agree';
    let violation: string | undefined;
    if (isTrue(extractable)) violation = `Key ${id} is extractable (CKA_EXTRACTABLE true): Sigil will not use it.`;
    else if (!isTrue(sensitive)) violation = `Key ${id} is not sensitive (CKA_SENSITIVE false): Sigil will not use it.`;
    else if (tokenUsage === undefined) {
      violation = `Key ${id} permits ${sign ? 'both signing and derivation' : 'neither signing nor derivation'}: Sigil uses one purpose per key.`;
    }
    const ref: KeyRef = Object.freeze({
      id,
      usage: tokenUsage ?? (sign ? 'sign' : 'agree'),
      label: (label ?? Buffer.alloc(0)).toString('utf8'),
      publicKey,
    });
    return { ref, privateHandle: priv, publicHandle: pub, violation, tokenUsage };
  }

  #usableWrapping(conn: Connection, session: Buffer, id: string): WrappingEntry {
    if (typeof id !== 'string' || !ID_PATTERN.test(id)) throw notFound(String(id));
    const entry = this.#lookupWrapping(conn, session, id);
    if (entry === undefined) throw notFound(id);
    if (entry.violation !== undefined) throw new SigilError('E_KEY_POLICY', entry.violation);
    this.#requireMechanism(conn, session, pkcs11js.CKM_AES_GCM, 'CKM_AES_GCM');
    return entry;
  }

  #lookupWrapping(conn: Connection, session: Buffer, id: string): WrappingEntry | undefined {
    const cached = conn.wrappingKeys.get(id);
    if (cached !== undefined) return cached;
    const [handle] = findObjects(this.#module.lib, session, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
      { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
      { type: pkcs11js.CKA_ID, value: Buffer.from(id, 'hex') },
    ]);
    if (handle === undefined) return undefined;
    const entry = this.#readWrappingEntry(session, handle, id);
    conn.wrappingKeys.set(id, entry);
    return entry;
  }

  #readWrappingEntry(session: Buffer, handle: Buffer, id: string): WrappingEntry {
    const [label, sensitive, extractable, length] = readAttributes(this.#module.lib, session, handle, [
      pkcs11js.CKA_LABEL,
      pkcs11js.CKA_SENSITIVE,
      pkcs11js.CKA_EXTRACTABLE,
      pkcs11js.CKA_VALUE_LEN,
    ]);
    let violation: string | undefined;
    if (isTrue(extractable)) violation = `Wrapping key ${id} is extractable (CKA_EXTRACTABLE true): Sigil will not use it.`;
    else if (!isTrue(sensitive)) violation = `Wrapping key ${id} is not sensitive (CKA_SENSITIVE false): Sigil will not use it.`;
    else if (length === undefined || length.length < 1 || length.readUIntLE(0, Math.min(length.length, 6)) !== 32) {
      violation = `Wrapping key ${id} is not an AES-256 key.`;
    }
    return { ref: Object.freeze({ id, label: (label ?? Buffer.alloc(0)).toString('utf8') }), handle, violation };
  }
}

/** keyIdOf without the await: the first 16 bytes of SHA-256 over the point (same definition). */
function keyIdSync(publicKey: Uint8Array): string {
  return createHash('sha256').update(publicKey).digest().subarray(0, 16).toString('hex');
}

/** The 64-byte r || s that CKM_ECDSA returns for P-256 (PKCS#11 2.40 §2.3.1), as a plain Uint8Array. */
function p1363(sig: Uint8Array): Uint8Array {
  if (sig.length !== 64) throw new SigilError('E_HSM', `The token returned a ${sig.length}-byte ECDSA P-256 signature.`);
  return new Uint8Array(sig.buffer, sig.byteOffset, 64);
}

/** An ECDH P-256 output from a token worker: the 32-byte x coordinate. */
function secret32(secret: Uint8Array): Uint8Array {
  if (secret.length !== 32) throw new SigilError('E_HSM', 'The token derived a secret of the wrong length.');
  return secret;
}

function gcm(iv: Buffer, aad: Buffer | undefined): Mechanism {
  // CK_GCM_PARAMS (PKCS#11 2.40 §2.12.3); pkcs11js marshals the v2.40 layout that SoftHSM reads.
  return {
    mechanism: pkcs11js.CKM_AES_GCM,
    parameter: { type: pkcs11js.CK_PARAMS_AES_GCM, iv, ivBits: GCM_IV_BYTES * 8, tagBits: GCM_TAG_BYTES * 8, ...(aad ? { aad } : {}) },
  } as Mechanism;
}

function checkOpenOptions(options: Pkcs11KeyBackendOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('"options" expected an object');
  for (const name of ['module', 'token', 'pin'] as const) {
    const value: unknown = options[name];
    if (typeof value !== 'string') throw new TypeError(`"${name}" expected string, got ${typeof value}`);
    if (value.length === 0) throw new RangeError(`"${name}" expected a non-empty string`);
  }
  const sessions = options.sessions ?? 4;
  if (!Number.isInteger(sessions) || sessions < 1 || sessions > 64) {
    throw new RangeError(`"sessions" expected an integer from 1 to 64, got ${String(sessions)}`);
  }
  const asyncCalls = options.asyncCalls ?? false;
  if (typeof asyncCalls !== 'boolean') throw new TypeError(`"asyncCalls" expected boolean, got ${typeof asyncCalls}`);
  const execution = options.execution ?? (asyncCalls ? 'thread' : 'auto');
  if (execution !== 'auto' && execution !== 'thread' && execution !== 'workers') {
    throw new TypeError(`"execution" expected 'auto', 'thread' or 'workers', got ${String(execution)}`);
  }
  const workers = options.workers ?? Math.min(16, Math.max(1, availableParallelism() - 1));
  if (!Number.isInteger(workers) || workers < 1 || workers > 16) {
    throw new RangeError(`"workers" expected an integer from 1 to 16, got ${String(workers)}`);
  }
  return { module: options.module, token: options.token, pin: options.pin, sessions, asyncCalls, execution, workers };
}

function checkRef(ref: KeyRef): void {
  if (typeof ref !== 'object' || ref === null || typeof ref.id !== 'string') {
    throw new TypeError('"ref" expected a KeyRef');
  }
}

function checkBytes(name: string, value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(`"${name}" expected Uint8Array, got ${value === null ? 'null' : typeof value}`);
  }
  return value;
}

function notFound(id: string): SigilError {
  return new SigilError('E_KEY_NOT_FOUND', `No key with id ${id} on the token.`);
}

function closedError(): SigilError {
  return new SigilError('E_BACKEND_CLOSED', 'This Pkcs11KeyBackend is closed: open a new one.');
}

function authFailed(cause?: unknown): SigilError {
  return new SigilError('E_AUTH_FAILED', 'The wrapped data did not authenticate.', cause === undefined ? {} : { cause });
}
