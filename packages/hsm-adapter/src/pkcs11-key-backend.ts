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
import pkcs11js from 'pkcs11js';
import type { Mechanism } from 'pkcs11js';
import { checkGenerateOptions, checkP256PublicKey, keyIdOf } from '@sigil/sdk/backend';
import type { GenerateKeyPairOptions, KeyBackend, KeyDescription, KeyRef, KeyWrapping, ListKeysOptions } from '@sigil/sdk/backend';
import { SigilError } from '@sigil/sdk/errors';
import { checkBytes, checkId, checkOpenOptions, checkRef, ID_PATTERN, notFound } from './internal/checks.js';
import { ckrOf, meaningOf } from './internal/ckr.js';
import { requireMechanism, type Connection } from './internal/connection.js';
import { decodeEcPoint, encodeEcPoint } from './internal/ec.js';
import { acquireModule, releaseModule, type LoadedModule } from './internal/module-registry.js';
import { DERIVED_SECRET_TEMPLATE, isTrue, privateKeyTemplate, publicKeyTemplate, readAttributes, verifyKeyTemplate, wrappingKeyTemplate } from './internal/objects.js';
import { SessionPool } from './internal/session-pool.js';
import { readTokenDescription, type TokenDescription } from './internal/token-description.js';
import { reconnectCodes, workerEntry } from './internal/worker-pool.js';
import { OP_DERIVE, OP_SIGN } from './internal/worker-protocol.js';
import { WorkerStarter } from './internal/worker-start.js';
import type { Pkcs11KeyBackendOptions } from './internal/options.js';
import { authFailed, GCM_IV_BYTES, MIN_WRAPPED_BYTES, openWithToken, sealWithToken, WRAP_VERSION, type WrapOptions, type WrappingKeyRef } from './internal/wrapping.js';

export type { WrappingKeyRef, WrapOptions } from './internal/wrapping.js';
export type { MechanismDescription, TokenDescription } from './internal/token-description.js';

export type { Pkcs11KeyBackendOptions } from './internal/options.js';

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
 * away (module finalized, sessions closed, token removed, its files moved away) calls fail with
 * `E_HSM_UNAVAILABLE`, never `E_KEY_NOT_FOUND`; the next call reconnects (re-initialising the
 * module when the token is not found again), logs in again and retries once, so the same
 * backend works again once the token is back, without `close()` and `open()`.
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
export class Pkcs11KeyBackend implements KeyBackend, KeyWrapping {
  readonly #module: LoadedModule;
  readonly #token: string;
  readonly #asyncCalls: boolean;
  readonly #pool: SessionPool;
  readonly #workers: WorkerStarter;
  #closed = false;

  private constructor(module: LoadedModule, options: { readonly token: string; readonly pin: string; readonly sessions: number; readonly asyncCalls: boolean }) {
    this.#module = module;
    this.#token = options.token;
    this.#asyncCalls = options.asyncCalls;
    this.#workers = new WorkerStarter(() => this.#pool.live?.generation ?? 0);
    this.#pool = new SessionPool(module, options, {
      connected: (conn) => (this.#workers.generation = conn.generation),
      // From now on workers refuse calls with this connection's key handles (they are retried).
      retired: () => (this.#workers.generation = 0),
    });
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
      const conn = await backend.#pool.connected();
      if (checked.execution !== 'thread') {
        const entry = workerEntry();
        const start = { entry, options: { module: checked.module, token: checked.token, pin: checked.pin, reconnectCodes: reconnectCodes() }, count: checked.workers };
        if (checked.execution === 'auto') {
          // Without a worker script beside this module (bundled into one file) every call runs here.
          if (entry !== undefined) backend.#workers.startLazily({ ...start, entry });
        } else {
          if (entry === undefined) {
            throw new SigilError('E_HSM', "execution 'workers' needs the token worker script beside this module (internal/token-worker.js); a single-file bundle has none.", {
              detail: 'no-worker-script',
            });
          }
          await backend.#workers.startNow({ ...start, entry }, conn.generation);
        }
      }
    } catch (e) {
      await backend.#pool.close();
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
    this.#workers.stopStarting();
    await this.#pool.close();
    // Workers close their sessions before the module can be finalized under them.
    await this.#workers.close();
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
    return this.#pool.run('generating a key pair', async ({ conn, session }) => {
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
        const entry = conn.keys.read(session, pair.privateKey, pair.publicKey, id);
        if (entry === undefined || entry.violation !== undefined) {
          throw new SigilError('E_KEY_POLICY', `The token did not keep the attributes Sigil set on key ${id}.`);
        }
        conn.keys.add(entry);
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
    return this.#pool.run('signing', ({ conn, session }) => {
      const entry = conn.keys.usable(session, ref.id, 'sign');
      this.#requireMechanism(conn, session, pkcs11js.CKM_ECDSA, 'CKM_ECDSA');
      const lib = this.#module.lib;
      const out = Buffer.alloc(64);
      const workers = this.#workers.workers;
      if (workers !== undefined) {
        const here = (): Uint8Array => {
          lib.C_SignInit(session, { mechanism: pkcs11js.CKM_ECDSA }, entry.privateHandle);
          return lib.C_Sign(session, digest, out);
        };
        return workers.run({ op: OP_SIGN, generation: conn.generation, key: entry.privateHandle, input: digest }, here).then(p1363);
      }
      this.#workers.noteCall(conn);
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
    return this.#pool.run('deriving a shared secret', ({ conn, session }) => {
      const entry = conn.keys.usable(session, ref.id, 'agree');
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
      const workers = this.#workers.workers;
      if (workers !== undefined) {
        const here = () => take(lib.C_DeriveKey(session, mechanism, entry.privateHandle, DERIVED_SECRET_TEMPLATE));
        const call = { op: OP_DERIVE, generation: conn.generation, key: entry.privateHandle, input: Buffer.from(peerPublicKey) } as const;
        return workers.run(call, here).then(secret32);
      }
      this.#workers.noteCall(conn);
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
    return this.#pool.run('verifying a signature', async ({ conn, session }) => {
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
    checkId(id);
    if (!ID_PATTERN.test(id)) return undefined;
    return this.#pool.run('finding a key', ({ conn, session }) => conn.keys.lookup(session, id)?.ref);
  }

  /**
   * Every EC P-256 private key on the token that has its public key beside it, filtered by
   * label and usage. Keys that break the policy are listed (so they can be found and deleted)
   * but refused when used.
   *
   * @throws {SigilError} `E_HSM_UNAVAILABLE`; `E_HSM`; `E_BACKEND_CLOSED`.
   */
  async listKeys(options: ListKeysOptions = {}): Promise<KeyRef[]> {
    return this.#pool.run('listing keys', async ({ conn, session }) => {
      const refs: KeyRef[] = [];
      for (const entry of conn.keys.scan(session, options.label)) {
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
    await this.#pool.run('deleting a key', ({ conn, session }) => {
      const entry = conn.keys.lookup(session, ref.id);
      if (entry === undefined) return;
      conn.keys.forget(ref.id);
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
    return this.#pool.run('describing a key', ({ conn, session }) => {
      const entry = conn.keys.lookup(session, ref.id);
      if (entry === undefined) throw notFound(ref.id);
      const [extractable, sensitive] = readAttributes(this.#module.lib, session, entry.privateHandle, [
        pkcs11js.CKA_EXTRACTABLE,
        pkcs11js.CKA_SENSITIVE,
      ]);
      return { extractable: isTrue(extractable), sensitive: isTrue(sensitive), hardware: conn.hardware };
    });
  }

  /**
   * What the token reports about itself: label, manufacturer, model, serial number, whether its
   * slot is a hardware slot, and every mechanism with its C_GetMechanismInfo (key sizes and
   * CKF_* flags). Compare with `SIGIL_MECHANISMS` to see which operations it can serve; a
   * mechanism listed can still fail in use (`sigil hsm doctor` tries each one).
   *
   * @throws {SigilError} `E_HSM_UNAVAILABLE`; `E_HSM`; `E_BACKEND_CLOSED`.
   * @example
   * ```ts
   * const { mechanisms } = await keys.describeToken();
   * const hasGcm = mechanisms.some((m) => m.name === 'CKM_AES_GCM');
   * ```
   */
  async describeToken(): Promise<TokenDescription> {
    return this.#pool.run('describing the token', ({ conn }) => readTokenDescription(this.#module.lib, conn.slot, conn.hardware));
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
    return this.#pool.run('generating a wrapping key', async ({ conn, session }) => {
      this.#requireMechanism(conn, session, pkcs11js.CKM_AES_KEY_GEN, 'CKM_AES_KEY_GEN');
      this.#requireMechanism(conn, session, pkcs11js.CKM_AES_GCM, 'CKM_AES_GCM');
      const handle = await this.#module.lib.C_GenerateKeyAsync(
        session,
        { mechanism: pkcs11js.CKM_AES_KEY_GEN },
        wrappingKeyTemplate(label, idBytes),
      );
      const entry = conn.wrappingKeys.read(session, handle, id);
      if (entry.violation !== undefined) throw new SigilError('E_KEY_POLICY', entry.violation);
      conn.wrappingKeys.add(entry);
      return entry.ref;
    });
  }

  /**
   * The wrapping key with this id, or undefined.
   *
   * @throws {SigilError} `E_HSM_UNAVAILABLE`; `E_HSM`; `E_BACKEND_CLOSED`.
   */
  async getWrappingKey(id: string): Promise<WrappingKeyRef | undefined> {
    checkId(id);
    if (!ID_PATTERN.test(id)) return undefined;
    return this.#pool.run('finding a wrapping key', ({ conn, session }) => conn.wrappingKeys.lookup(session, id)?.ref);
  }

  /**
   * Destroys a wrapping key; whatever it wrapped can no longer be unwrapped. Already gone is
   * not an error.
   *
   * @throws {SigilError} `E_HSM_UNAVAILABLE`; `E_HSM`; `E_BACKEND_CLOSED`.
   */
  async deleteWrappingKey(ref: WrappingKeyRef): Promise<void> {
    await this.#pool.run('deleting a wrapping key', ({ conn, session }) => {
      const entry = conn.wrappingKeys.lookup(session, ref.id);
      if (entry === undefined) return;
      conn.wrappingKeys.forget(ref.id);
      this.#module.lib.C_DestroyObject(session, entry.handle);
    });
  }

  /**
   * Encrypts `data` under a wrapping key with AES-256-GCM on the token (CKM_AES_GCM; SP 800-38D)
   * and a random 96-bit IV. Output: `0x01 || IV (12) || ciphertext || tag (16)`. Random IVs
   * allow at most 2^32 messages per key (SP 800-38D §8.3), far beyond backup and escrow volumes.
   *
   * @throws {SigilError} `E_KEY_NOT_FOUND`; `E_KEY_POLICY`; `E_HSM_MECHANISM`;
   *   `E_HSM_UNAVAILABLE`; `E_HSM`; `E_BACKEND_CLOSED`.
   * @throws {TypeError} if `data` or `aad` is not a Uint8Array; {RangeError} if `data` is empty.
   */
  async wrap(ref: WrappingKeyRef, data: Uint8Array, options: WrapOptions = {}): Promise<Uint8Array> {
    checkBytes('data', data);
    // The KeyWrapping contract leaves empty data out: SoftHSM answers C_Encrypt of zero bytes
    // with CKR_ARGUMENTS_BAD and leaves the session's encrypt operation open.
    if (data.length === 0) throw new RangeError('"data" expected a non-empty Uint8Array');
    const aad = options.aad === undefined ? undefined : Buffer.from(checkBytes('aad', options.aad));
    const iv = randomBytes(GCM_IV_BYTES);
    const plaintext = Buffer.from(data);
    return this.#pool.run('wrapping', ({ conn, session }) => {
      const entry = this.#usableWrapping(conn, session, ref.id);
      return sealWithToken(this.#module.lib, session, entry.handle, iv, plaintext, aad, this.#asyncCalls);
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
    if (wrapped.length < MIN_WRAPPED_BYTES || wrapped[0] !== WRAP_VERSION) throw authFailed();
    const input = Buffer.from(wrapped);
    return this.#pool.run('unwrapping', ({ conn, session }) => {
      const entry = this.#usableWrapping(conn, session, ref.id);
      return openWithToken(this.#module.lib, session, entry.handle, input, aad, this.#asyncCalls);
    });
  }

  #requireMechanism(conn: Connection, session: Buffer, mechanism: number, name: string): void {
    requireMechanism(this.#module, conn, session, this.#token, mechanism, name);
  }

  #usableWrapping(conn: Connection, session: Buffer, id: string) {
    if (typeof id !== 'string' || !ID_PATTERN.test(id)) throw notFound(String(id));
    const entry = conn.wrappingKeys.lookup(session, id);
    if (entry === undefined) throw notFound(id);
    if (entry.violation !== undefined) throw new SigilError('E_KEY_POLICY', entry.violation);
    this.#requireMechanism(conn, session, pkcs11js.CKM_AES_GCM, 'CKM_AES_GCM');
    return entry;
  }
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
