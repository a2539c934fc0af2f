// `Sigil`: the account-level API over the verified directory. Recipients are account ids; every
// key used comes out of DirectoryClient (pinned log key, inclusion and consistency proofs,
// signature chain to the account's root), so a lying directory cannot make this encrypt to a key
// the recipient's root did not sign, nor accept a sender key its account did not certify.
import { SigilError } from './errors.js';
import type { KeyBackend, KeyRef } from './key-backend.js';
import { equalConstantTime } from './internal/bytes.js';
import { keyIdOf } from './internal/p256.js';
import { WebCryptoKeyBackend } from './webcrypto-key-backend.js';
import { encrypt as encryptEnvelope, type EnvelopeRecipient, type EnvelopeSender } from './envelope/encrypt.js';
import { decrypt as decryptEnvelope, type EnvelopeParties } from './envelope/decrypt.js';
import { decryptStream as decryptEnvelopeStream, encryptStream as encryptEnvelopeStream } from './envelope/streams.js';
import { chainAfter, genesisHeader, type AccountState } from './identity/account-state.js';
import { proveDevicePossession } from './identity/possession.js';
import { signStatement, signStatementWithWebAuthn } from './identity/signed-statement.js';
import type { Statement } from './identity/statement.js';
import { createUserKeyEpoch, importUserKey, openPreviousUserKey, openUserKeyWrap, type UserKeyPair } from './identity/user-key.js';
import type { WebAuthnAssertion, WebAuthnPolicy } from './identity/webauthn.js';
import type { LogVerifierKey } from './transparency/signed-note.js';
import { DirectoryClient, type DirectorySession, type MailboxEntry, type VerifiedAccount } from './directory/client.js';
import type { FetchLike } from './directory/http.js';
import type { ClientStateStore } from './directory/state-store.js';
import { p256 } from '@noble/curves/nist.js';
// A cycle (browser/sigil-browser.ts imports this module): safe in ESM, as neither side uses the
// other's bindings while it is evaluated, only when a function runs.
import { registerWithPasskey, signInWithPasskey, type SigilRegisterOptions, type SigilSignInOptions, type SigilSignIn } from './browser/sigil-browser.js';

/** This device's two keys, in a backend (WebCrypto, non-extractable; or a PKCS#11 token). */
export interface DeviceKeys {
  readonly backend: KeyBackend;
  /** ECDSA P-256: signs envelopes, user-key epochs and session challenges. */
  readonly signing: KeyRef;
  /** ECDH P-256: receives the account's user keys. */
  readonly agreement: KeyRef;
}

/**
 * An account root that signs a statement: a service root in a KeyBackend (a PKCS#11 token), or a
 * WebAuthn credential (`id` = `keyIdOf(credential public key)`; `getAssertion` gets the SHA-256
 * of the statement as its challenge, e.g. through `navigator.credentials.get`).
 */
export type RootSigner =
  | { readonly backend: KeyBackend; readonly ref: KeyRef }
  | { readonly id: string; readonly getAssertion: (challenge: Uint8Array) => Promise<WebAuthnAssertion> };

/** How to reach and verify the directory. */
export interface DirectoryOptions {
  /** The directory's URL, or a `DirectoryClient` already made (then omit the other fields). */
  readonly directory: string | DirectoryClient;
  /** The pinned log verifier key (vkey text); required with a URL. */
  readonly logPublicKey?: string | LogVerifierKey | undefined;
  /** Client memory (checkpoint, account heads); memory by default. Use a durable one in apps. */
  readonly state?: ClientStateStore | undefined;
  /** Relying-party policy, to verify accounts rooted at WebAuthn credentials. */
  readonly webauthn?: WebAuthnPolicy | undefined;
  readonly fetch?: FetchLike | undefined;
}

export interface SigilConnectOptions extends DirectoryOptions {
  /** This device's account. */
  readonly account: string;
  readonly keys: DeviceKeys;
  /**
   * Gets a directory session (for wrapped keys and the mailbox). Default: sign the directory's
   * challenge with this device's signing key.
   */
  readonly session?: (() => Promise<DirectorySession>) | undefined;
}

export interface EnrolServiceOptions extends DirectoryOptions {
  readonly account: string;
  /** The account's service root, e.g. a key in a PKCS#11 token through Pkcs11KeyBackend. */
  readonly root: { readonly backend: KeyBackend; readonly ref: KeyRef };
  readonly keys: DeviceKeys;
  /** 1 to 64 bytes of UTF-8, shown to the account's other devices. */
  readonly deviceName: string;
}

export interface EnrolWebAuthnOptions extends DirectoryOptions {
  readonly account: string;
  /** The credential registered with the directory (`DirectoryClient.webAuthnRegister`). */
  readonly root: {
    readonly rpId: string;
    readonly credentialId: Uint8Array;
    readonly publicKey: Uint8Array;
    readonly getAssertion: (challenge: Uint8Array) => Promise<WebAuthnAssertion>;
  };
  /** The session returned by the registration (the genesis of a WebAuthn account needs it). */
  readonly registrationSession: DirectorySession;
  /** As in `connect`: default, sessions signed by this device's key. */
  readonly keys: DeviceKeys;
  readonly deviceName: string;
  readonly webauthn: WebAuthnPolicy;
  readonly session?: (() => Promise<DirectorySession>) | undefined;
}

/** A new device to certify (`addDevice`): its public keys and proof of possession, made on that device. */
export interface NewDevice {
  readonly name: string;
  readonly signingKey: Uint8Array;
  readonly agreementKey: Uint8Array;
  /** `proveDevicePossession(account, keys)` made by the new device (docs/STATEMENTS.md §4.4). */
  readonly possessionSignature: Uint8Array;
}

/** What `decrypt` returns: the plaintext and who sent it, both verified. */
export interface SigilDecryptResult {
  readonly plaintext: Uint8Array;
  readonly sender: {
    readonly accountId: string;
    /** Key id of the sender's signing key: a current device of the account, or its service root. */
    readonly deviceId: string;
  };
}

const SESSION_MARGIN_MS = 60_000;

function makeDirectory(o: DirectoryOptions): DirectoryClient {
  if (o.directory instanceof DirectoryClient) {
    if (o.logPublicKey !== undefined || o.state !== undefined || o.webauthn !== undefined || o.fetch !== undefined) {
      throw new TypeError('"logPublicKey", "state", "webauthn" and "fetch" belong to the DirectoryClient when one is given');
    }
    return o.directory;
  }
  if (typeof o.directory !== 'string') throw new TypeError('"directory" expected a URL string or a DirectoryClient');
  if (o.logPublicKey === undefined) throw new TypeError('"logPublicKey" expected the pinned log verifier key');
  return new DirectoryClient({ url: o.directory, logPublicKey: o.logPublicKey, state: o.state, webauthn: o.webauthn, fetch: o.fetch });
}

function checkDeviceKeys(keys: DeviceKeys): void {
  if (typeof keys !== 'object' || keys === null || typeof keys.backend?.sign !== 'function') {
    throw new TypeError('"keys" expected { backend, signing, agreement }');
  }
  if (keys.signing?.usage !== 'sign') throw new TypeError('"keys.signing" expected a KeyRef with usage "sign"');
  if (keys.agreement?.usage !== 'agree') throw new TypeError('"keys.agreement" expected a KeyRef with usage "agree"');
}

function rootId(root: RootSigner): string {
  return 'backend' in root ? root.ref.id : root.id;
}

async function signWithRoot(statement: Statement, root: RootSigner): Promise<Uint8Array> {
  if ('backend' in root) return signStatement(statement, root);
  if (typeof root.getAssertion !== 'function') throw new TypeError('"root" expected { backend, ref } or { id, getAssertion }');
  return signStatementWithWebAuthn(statement, root.getAssertion);
}

function uniqueAccounts(to: unknown): string[] {
  if (!Array.isArray(to) || to.length === 0) throw new TypeError('"to" expected a non-empty array of account ids');
  for (const [i, id] of to.entries()) if (typeof id !== 'string') throw new TypeError(`"to[${i}]" expected an account id string`);
  return [...new Set(to as string[])];
}

/**
 * Package-internal hooks on a `Sigil` for the browser layer's sealed key cache and passkey
 * backup (browser/key-chain.ts). Not exported from the package: user private keys pass here.
 */
export interface SigilInternals {
  adoptUserKeys(sigil: Sigil, state: AccountState, keys: readonly { readonly epoch: number; readonly privateKey: Uint8Array }[]): Promise<number[]>;
  userKeyChain(sigil: Sigil): Promise<Map<number, UserKeyPair>>;
  withSession<T>(sigil: Sigil, fn: (session: DirectorySession) => Promise<T>): Promise<T>;
  onNewEpoch(sigil: Sigil, listener: ((epoch: number) => Promise<void>) | undefined): void;
}

// Assigned by Sigil's static block when this module is evaluated (declared first: no TDZ).
export let sigilInternals: SigilInternals;

/**
 * One device of one account, connected to a verifying directory client.
 *
 * @example
 * ```ts
 * const sigil = await Sigil.connect({ directory: 'https://keys.example.com', logPublicKey: PINNED_VKEY,
 *   account: 'alice@example.com', keys: { backend, signing, agreement } });
 * const envelope = await sigil.encrypt(data, { to: ['bob@example.com'] });
 * const { plaintext, sender } = await sigil.decrypt(envelope);
 * ```
 */
export class Sigil {
  /** The verifying directory client this device uses. */
  readonly directory: DirectoryClient;
  readonly account: string;
  /** This device's id: `keyIdOf(keys.signing.publicKey)`. */
  readonly deviceId: string;
  readonly #keys: DeviceKeys;
  readonly #sessionSource: () => Promise<DirectorySession>;
  #session: DirectorySession | undefined;
  /** Unwrapped user keys of this account, by epoch. In memory only. */
  readonly #pairs = new Map<number, UserKeyPair>();
  /** The same keys as non-extractable WebCrypto keys, for envelope decryption. */
  readonly #userKeys = new WebCryptoKeyBackend();
  /** Told when this device learns a newer user-key epoch (it rotated, or unwrapped one). */
  #onNewEpoch: ((epoch: number) => Promise<void>) | undefined;

  static {
    sigilInternals = {
      adoptUserKeys: (sigil, state, keys) => sigil.#adoptUserKeys(state, keys),
      userKeyChain: (sigil) => sigil.#userKeyChain(),
      withSession: (sigil, fn) => sigil.#withSession(fn),
      onNewEpoch: (sigil, listener) => {
        sigil.#onNewEpoch = listener;
      },
    };
  }

  private constructor(directory: DirectoryClient, account: string, keys: DeviceKeys, session: (() => Promise<DirectorySession>) | undefined) {
    this.directory = directory;
    this.account = account;
    this.deviceId = keys.signing.id;
    this.#keys = keys;
    this.#sessionSource = session ?? (() => directory.serviceSession(account, { backend: keys.backend, ref: keys.signing }));
  }

  /**
   * Registers a new account in this browser with a passkey or a security key (WebAuthn, ES256,
   * PRF requested): the credential is the account root; two device keys are made non-extractable
   * and kept in IndexedDB; the genesis and the device certificate are signed by the credential;
   * the first user-key epoch is published. With PRF (`mode: 'prf'`), the account's user-key
   * chain is sealed under keys only the passkey's PRF yields: in this browser (the local cache)
   * and on the directory (the passkey backup, docs/BACKUP.md); both follow every rotation.
   * Without PRF (`mode: 'no-prf'`, most security keys) the keys rest under the browser's
   * protection alone and another device joins through an existing one.
   *
   * @returns The connected `Sigil` and the mode this credential gave.
   * @throws SigilError `E_DIRECTORY` (detail `E_CONFLICT`: the account id is taken),
   *   `E_WEBAUTHN` (a ceremony was cancelled, timed out or refused), `E_DIRECTORY_PROOF`,
   *   `E_UNAUTHORIZED`, `E_KEY_NOT_FOUND` (IndexedDB unavailable), `E_NETWORK`, and the codes of
   *   `registerBrowserAccount`.
   * @example
   * ```ts
   * const { sigil, mode } = await Sigil.register({ directory: 'https://keys.example.org', logPublicKey: PINNED_VKEY,
   *   account: 'alice@example.org', displayName: 'Alice' });
   * if (mode === 'no-prf') tell('Keep this browser: add a second device from here before you lose it.');
   * ```
   */
  static async register(options: SigilRegisterOptions): Promise<SigilSignIn> {
    return registerWithPasskey(options);
  }

  /**
   * Signs in with a passkey or security key of the account (discoverable when `account` is
   * omitted). With the device keys of this browser: connects; with PRF, one touch also unseals
   * the local cache of user keys. In a browser without device keys (a new one, or wiped
   * storage) it enrols this browser as a new device under a certificate signed by the credential
   * (a second touch); with PRF it reads the account's user-key chain from the passkey backup at
   * once (no other device needed) and rotates so the new device holds its own wrap; without PRF
   * it waits for an existing device to approve it by rotating (`userKeys: 'awaiting-approval'`).
   *
   * @returns The connected `Sigil`, the mode (`'prf'` | `'no-prf'`), whether this browser was
   *   enrolled now, and where its user keys came from.
   * @throws SigilError `E_WEBAUTHN` (ceremony failed), `E_UNAUTHORIZED` (the credential is not a
   *   root of the account, or belongs to another account), `E_AUTH_FAILED` (the passkey backup
   *   does not open: tampered, or not this account's; nothing was published), `E_KEY_REVOKED`
   *   (this browser's device was revoked), `E_KEY_NOT_FOUND` (no device keys here and
   *   `enrol: false`), `E_DIRECTORY_ROLLBACK` / `E_DIRECTORY_PROOF` (the directory lied),
   *   `E_NETWORK`, `E_DIRECTORY`.
   * @example
   * ```ts
   * const me = await Sigil.signIn({ directory: 'https://keys.example.org', logPublicKey: PINNED_VKEY });
   * if (me.userKeys === 'awaiting-approval') tell('Approve this browser from one of your devices.');
   * for (const m of await me.sigil.list()) show(await me.sigil.decrypt(m.envelope));
   * ```
   */
  static async signIn(options: SigilSignInOptions): Promise<SigilSignIn> {
    return signInWithPasskey(options);
  }

  /**
   * Connects this device to its account: looks the account up through the verified path and
   * checks that this device is a current device of it (its signing and agreement keys certified
   * by a root, not revoked).
   *
   * @throws SigilError `E_KEY_REVOKED` (this device was revoked), `E_KEY_NOT_FOUND` (not a device
   *   of the account, or its certified agreement key is another one), every code of
   *   `DirectoryClient.lookup`.
   * @example
   * ```ts
   * const sigil = await Sigil.connect({ directory: url, logPublicKey, account: 'svc@example.com',
   *   keys: { backend: hsm, signing, agreement }, state: new FileClientStateStore('state.json') });
   * ```
   */
  static async connect(options: SigilConnectOptions): Promise<Sigil> {
    if (typeof options !== 'object' || options === null) throw new TypeError('"options" expected { directory, account, keys, logPublicKey }');
    checkDeviceKeys(options.keys);
    const directory = makeDirectory(options);
    const sigil = new Sigil(directory, options.account, options.keys, options.session);
    await sigil.#ownAccount();
    return sigil;
  }

  /**
   * Enrols a service account whose root is a key in a PKCS#11 token (or any KeyBackend): the
   * genesis naming the root, the certificate of this device (both signed by the root), then the
   * first user-key epoch (signed by this device), and connects.
   *
   * @throws SigilError `E_DIRECTORY` (`detail` `E_CONFLICT` or similar: the account id is
   *   taken), backend errors (`E_HSM*`, `E_KEY_*`), and every code of `connect`.
   * @example
   * ```ts
   * const hsm = await Pkcs11KeyBackend.open({ module, token: 'svc', pin });
   * const root = await hsm.generateKeyPair({ usage: 'sign', label: 'svc root' });
   * const keys = { backend: hsm, signing: await hsm.generateKeyPair({ usage: 'sign', label: 'svc device' }),
   *   agreement: await hsm.generateKeyPair({ usage: 'agree', label: 'svc device' }) };
   * const sigil = await Sigil.enrolService({ directory: url, logPublicKey, account: 'svc@example.com',
   *   root: { backend: hsm, ref: root }, keys, deviceName: 'svc-1' });
   * ```
   */
  static async enrolService(options: EnrolServiceOptions): Promise<Sigil> {
    if (typeof options !== 'object' || options === null) throw new TypeError('"options" expected { directory, account, root, keys, deviceName, logPublicKey }');
    checkDeviceKeys(options.keys);
    const { root } = options;
    if (root?.ref?.usage !== 'sign' || typeof root.backend?.sign !== 'function') throw new TypeError('"root" expected { backend, ref } of a signing key');
    const directory = makeDirectory(options);
    const genesis = await signStatement(
      { kind: 'genesis', ...genesisHeader(options.account, root.ref.id), roots: [{ type: 'service', publicKey: root.ref.publicKey }] },
      root,
    );
    const account = await directory.publish(genesis);
    await certify(directory, account.state, root, options.keys, options.deviceName);
    const sigil = new Sigil(directory, options.account, options.keys, undefined);
    await sigil.rotate();
    return sigil;
  }

  /**
   * Enrols an account rooted at a WebAuthn credential just registered with the directory: the
   * genesis and this device's certificate, each signed by an assertion of the credential (two
   * touches), then the first user-key epoch, and connects.
   *
   * @throws SigilError `E_DIRECTORY` (refused: e.g. the credential is not the registered one),
   *   `E_WEBAUTHN`, and every code of `connect`.
   * @example
   * ```ts
   * const { session, credential } = await directory.webAuthnRegister(account, await startRegistration(options));
   * const sigil = await Sigil.enrolWebAuthn({ directory, account, registrationSession: session, keys, deviceName: 'laptop',
   *   root: { rpId, credentialId: credential.id, publicKey: credential.publicKey, getAssertion }, webauthn: { rpId, origins } });
   * ```
   */
  static async enrolWebAuthn(options: EnrolWebAuthnOptions): Promise<Sigil> {
    if (typeof options !== 'object' || options === null) throw new TypeError('"options" expected { directory, account, root, ... }');
    checkDeviceKeys(options.keys);
    const directory = makeDirectory(options.directory instanceof DirectoryClient ? { directory: options.directory } : options);
    const r = options.root;
    const signer: RootSigner = { id: await keyIdOf(r.publicKey), getAssertion: r.getAssertion };
    const genesis = await signWithRoot(
      {
        kind: 'genesis',
        ...genesisHeader(options.account, rootId(signer)),
        roots: [{ type: 'webauthn', publicKey: r.publicKey, rpId: r.rpId, credentialId: r.credentialId }],
      },
      signer,
    );
    const account = await directory.publish(genesis, { session: options.registrationSession });
    await certify(directory, account.state, signer, options.keys, options.deviceName);
    const sigil = new Sigil(directory, options.account, options.keys, options.session);
    await sigil.rotate();
    return sigil;
  }

  /** The account, verified, and this device's place in it. */
  async #ownAccount(): Promise<VerifiedAccount> {
    const account = await this.directory.lookup(this.account);
    const me = account.state.devices.find((d) => d.id === this.deviceId);
    if (me === undefined) {
      if (account.state.revokedDevices.some((d) => d.id === this.deviceId)) {
        throw new SigilError('E_KEY_REVOKED', 'This device was revoked from the account; enrol it again with a root.');
      }
      throw new SigilError('E_KEY_NOT_FOUND', 'This device is not a device of the account; certify it with a root first.');
    }
    if (!equalConstantTime(me.agreementKey, this.#keys.agreement.publicKey)) {
      throw new SigilError('E_KEY_NOT_FOUND', "The account's certificate for this device names another agreement key.");
    }
    return account;
  }

  async #sessionToken(): Promise<DirectorySession> {
    const s = this.#session;
    if (s !== undefined && s.expiresAt - SESSION_MARGIN_MS > Date.now()) return s;
    this.#session = await this.#sessionSource();
    return this.#session;
  }

  /** Runs `fn` with a session; once more with a new session if the directory no longer knows it. */
  async #withSession<T>(fn: (session: DirectorySession) => Promise<T>): Promise<T> {
    const session = await this.#sessionToken();
    try {
      return await fn(session);
    } catch (e) {
      if (!SigilError.is(e, 'E_UNAUTHORIZED') || this.#session !== session) throw e;
      this.#session = undefined; // expired early, or the directory restarted: sign in again, once
      return fn(await this.#sessionToken());
    }
  }

  /**
   * This device's copy of the user key of `epoch`: its own wrap if the epoch has one, else the
   * next epoch's key walked back one step (DESIGN.md "Rotation"). `undefined` if this device
   * holds no wrap of this epoch or any later one (it was revoked before them).
   */
  async #pair(state: AccountState, epoch: number, notify = true): Promise<UserKeyPair | undefined> {
    const cached = this.#pairs.get(epoch);
    if (cached !== undefined && equalConstantTime(cached.publicKey, state.userKeys.find((k) => k.epoch === epoch)?.publicKey ?? new Uint8Array())) {
      return cached;
    }
    const e = state.userKeys.find((k) => k.epoch === epoch);
    if (e === undefined) return undefined;
    let pair: UserKeyPair | undefined;
    const wrapHash = e.wraps.get(this.deviceId);
    if (wrapHash !== undefined) {
      const blob = await this.#withSession((session) => this.directory.blob(this.account, wrapHash, session));
      pair = await openUserKeyWrap(state, epoch, blob, { id: this.deviceId, backend: this.#keys.backend, agreementKey: this.#keys.agreement });
    } else {
      const next = state.userKeys.find((k) => k.epoch === epoch + 1);
      const nextPair = next === undefined ? undefined : await this.#pair(state, epoch + 1, notify);
      if (next === undefined || nextPair === undefined || next.previousKeyWrapHash === undefined) return undefined;
      const hash = next.previousKeyWrapHash;
      const blob = await this.#withSession((session) => this.directory.blob(this.account, hash, session));
      pair = await openPreviousUserKey(state, epoch + 1, blob, nextPair);
    }
    // Awaited, so a newer epoch received here is sealed into the cache and backup before the
    // caller goes on (the listener reports its own failures and never throws).
    await this.#setPair(epoch, pair, notify);
    return pair;
  }

  /** Keeps an unwrapped pair; tells the listener (awaitable) when it is a newer epoch than any held. */
  async #setPair(epoch: number, pair: UserKeyPair, notify = true): Promise<void> {
    const newest = Math.max(0, ...this.#pairs.keys());
    this.#pairs.set(epoch, pair);
    if (notify && epoch > newest && this.#onNewEpoch !== undefined) await this.#onNewEpoch(epoch);
  }

  /**
   * Takes user private keys from a sealed cache or backup: each is kept only if its public key
   * is the one the verified account state names for that epoch (others are stale or foreign).
   */
  async #adoptUserKeys(state: AccountState, keys: readonly { readonly epoch: number; readonly privateKey: Uint8Array }[]): Promise<number[]> {
    const adopted: number[] = [];
    for (const k of keys) {
      const e = state.userKeys.find((u) => u.epoch === k.epoch);
      if (e === undefined || k.privateKey.length !== 32) continue;
      let publicKey: Uint8Array;
      try {
        publicKey = p256.getPublicKey(k.privateKey, false);
      } catch {
        continue;
      }
      if (!equalConstantTime(publicKey, e.publicKey)) continue;
      this.#pairs.set(k.epoch, { privateKey: new Uint8Array(k.privateKey), publicKey });
      adopted.push(k.epoch);
    }
    return adopted;
  }

  /** Every user key this device can reach now (its wraps, walked back; or what it adopted), by epoch. */
  async #userKeyChain(): Promise<Map<number, UserKeyPair>> {
    const { state } = await this.directory.lookup(this.account);
    const chain = new Map<number, UserKeyPair>();
    // Newest first, so each older epoch is one step back from a key already held.
    for (const e of [...state.userKeys].sort((a, b) => b.epoch - a.epoch)) {
      // Quiet: the listener is the one asking (awaiting it from here would wait on itself).
      const pair = await this.#pair(state, e.epoch, false);
      if (pair !== undefined) chain.set(e.epoch, pair);
    }
    return chain;
  }

  /**
   * Encrypts to accounts: looks each one up through the verified directory path and encrypts to
   * its current user-key epoch; this device signs the header, which names this account.
   *
   * @param options.to - Account ids (duplicates count once); include your own to read it later.
   * @throws SigilError `E_KEY_NOT_FOUND` (a recipient has no user key yet), `E_KEY_REVOKED` (a
   *   recipient's current user key is still held by a device it revoked: it must rotate first),
   *   every code of `DirectoryClient.lookup` (`E_UNKNOWN_ACCOUNT`, `E_DIRECTORY_PROOF`, ...).
   *   Nothing is encrypted unless every recipient verified.
   * @example
   * ```ts
   * const envelope = await sigil.encrypt(new TextEncoder().encode('hi'), { to: ['bob@example.com'] });
   * ```
   */
  async encrypt(data: Uint8Array, options: { readonly to: readonly string[] }): Promise<Uint8Array> {
    if (!(data instanceof Uint8Array)) throw new TypeError('"data" expected Uint8Array');
    const plaintext = new Uint8Array(data);
    const to = await this.#recipients(options?.to);
    return encryptEnvelope(plaintext, { to, from: this.#from() });
  }

  /** Each account's current user key, verified; refused while a revoked device holds it. */
  async #recipients(accounts: unknown): Promise<EnvelopeRecipient[]> {
    const to: EnvelopeRecipient[] = [];
    for (const id of uniqueAccounts(accounts)) {
      const { state } = await this.directory.lookup(id);
      const key = state.userKey;
      if (key === undefined) throw new SigilError('E_KEY_NOT_FOUND', `${id} has no user key yet; it must finish enrolment.`);
      const revoked = new Set(state.revokedDevices.map((d) => d.id));
      if ([...key.wraps.keys()].some((d) => revoked.has(d))) {
        throw new SigilError('E_KEY_REVOKED', `${id} revoked a device that holds its current user key; it must rotate before you can write to it.`, {
          detail: 'rotation-needed',
        });
      }
      to.push({ publicKey: key.publicKey, epoch: key.epoch });
    }
    return to;
  }

  /** This device as the envelope sender, for this account (signed into the header, FORMAT.md §3.1). */
  #from(): EnvelopeSender {
    return { backend: this.#keys.backend, ref: this.#keys.signing, accountId: this.account };
  }

  /**
   * Decrypts an envelope sent to this account: finds the user-key epoch it was sealed to among
   * the account's verified epochs (unwrapping this device's copy, walking back older epochs),
   * then checks that the signing key is a current device (or the service root) of the sender
   * account, looked up through the verified path. Plaintext is returned only after all of it.
   *
   * @param options.from - The account the caller expects the envelope from (e.g. a mailbox
   *   message's `senderId`); optional, as the envelope names its sender account under the
   *   signature. If both are there they must agree; if neither, `E_BAD_SIGNATURE`.
   * @throws SigilError `E_NOT_RECIPIENT` (not sealed to an epoch this device can read: e.g. sent
   *   after it was revoked), `E_BAD_SIGNATURE` (bad signature, or the key is not a device of the
   *   sender account), `E_KEY_REVOKED` (signed by a device the sender revoked), the envelope
   *   codes of `decrypt` (`E_FORMAT`, `E_AUTH_FAILED`, `E_TRUNCATED`, ...), and every code of
   *   `DirectoryClient.lookup`.
   * @example
   * ```ts
   * const { plaintext, sender } = await sigil.decrypt(envelope);
   * console.log(`${sender.accountId} (${sender.deviceId}) says`, new TextDecoder().decode(plaintext));
   * ```
   */
  async decrypt(envelope: Uint8Array, options: { readonly from?: string | undefined } = {}): Promise<SigilDecryptResult> {
    if (!(envelope instanceof Uint8Array)) throw new TypeError('"envelope" expected Uint8Array');
    const bytes = new Uint8Array(envelope);
    const result = await decryptEnvelope(bytes, { keys: this.#ring() });
    try {
      return { plaintext: result.plaintext, sender: await this.#verifySender(result.sender, options.from) };
    } catch (e) {
      result.plaintext.fill(0);
      throw e;
    }
  }

  /**
   * `decrypt` as a stream: envelope bytes in, plaintext out. No plaintext leaves the stream
   * before the sender is verified as `decrypt` does; then each chunk once it authenticated.
   *
   * @returns The stream, and `sender`, which resolves once the sender verified (or rejects with
   *   the stream's error).
   * @throws (errors the stream) the codes of `decrypt`.
   * @example
   * ```ts
   * const { readable, writable, sender } = sigil.decryptStream({ from: 'bob@example.com' });
   * await Promise.all([response.body!.pipeTo(writable), readable.pipeTo(file), sender]);
   * ```
   */
  decryptStream(options: { readonly from?: string | undefined } = {}): {
    readonly readable: ReadableStream<Uint8Array>;
    readonly writable: WritableStream<Uint8Array>;
    readonly sender: Promise<SigilDecryptResult['sender']>;
  } {
    const inner = decryptEnvelopeStream({ keys: this.#ring() });
    const sender = inner.parties.then((p) => this.#verifySender(p.sender, options.from));
    sender.catch(() => undefined); // also reported through the stream
    const gate = new TransformStream<Uint8Array, Uint8Array>({
      async transform(chunk, controller) {
        await sender;
        controller.enqueue(chunk);
      },
      async flush() {
        await sender;
      },
    });
    return { readable: inner.readable.pipeThrough(gate), writable: inner.writable, sender };
  }

  /**
   * `encrypt` as a stream: looks the recipients up (as `encrypt`), then returns a
   * TransformStream of plaintext to envelope bytes.
   *
   * @throws SigilError as `encrypt`, before any byte is written.
   * @example
   * ```ts
   * await file.stream().pipeThrough(await sigil.encryptStream({ to: ['bob@example.com'] })).pipeTo(upload);
   * ```
   */
  async encryptStream(options: { readonly to: readonly string[] }): Promise<TransformStream<Uint8Array, Uint8Array>> {
    const to = await this.#recipients(options?.to);
    return encryptEnvelopeStream({ to, from: this.#from() });
  }

  /** A KeyBackend over this account's user keys: unwraps an epoch the first time it is asked for. */
  #ring(): KeyBackend {
    const userKeys = this.#userKeys;
    let epochs: Promise<{ state: AccountState; epochOf: Map<string, number> }> | undefined;
    const load = () =>
      (epochs ??= this.directory.lookup(this.account).then(async ({ state }) => ({
        state,
        epochOf: new Map(await Promise.all(state.userKeys.map(async (k) => [await keyIdOf(k.publicKey), k.epoch] as const))),
      })));
    return {
      getKey: async (id) => {
        const { state, epochOf } = await load();
        const epoch = epochOf.get(id);
        if (epoch === undefined) return undefined;
        const have = await userKeys.getKey(id);
        if (have !== undefined) return have;
        const pair = await this.#pair(state, epoch);
        return pair === undefined ? undefined : importUserKey(userKeys, pair);
      },
      deriveSharedSecret: (ref, peer) => userKeys.deriveSharedSecret(ref, peer),
      describeKey: (ref) => userKeys.describeKey(ref),
      listKeys: async () => [],
      generateKeyPair: () => Promise.reject(new TypeError('not supported')),
      sign: () => Promise.reject(new TypeError('not supported')),
      deleteKey: () => Promise.reject(new TypeError('not supported')),
    };
  }

  /** The envelope's signing key must be a current device (or the service root) of the sender account. */
  async #verifySender(signer: EnvelopeParties['sender'], from: string | undefined): Promise<SigilDecryptResult['sender']> {
    // The account the header claims, under the sender's signature (FORMAT.md §3.1).
    const claimed = signer.accountId;
    if (claimed !== undefined && from !== undefined && claimed !== from) {
      throw new SigilError('E_BAD_SIGNATURE', 'The envelope is signed for another sender account than the one given.', { detail: 'sender-account' });
    }
    const accountId = claimed ?? from;
    if (accountId === undefined) {
      throw new SigilError('E_BAD_SIGNATURE', 'The envelope names no sender account; pass { from }.', { detail: 'sender-account' });
    }
    const sender = (await this.directory.lookup(accountId)).state;
    const keyId = signer.keyId;
    const device = sender.devices.find((d) => d.id === keyId);
    const root = sender.roots.find((r) => r.id === keyId && r.type === 'service');
    const key = device?.signingKey ?? root?.publicKey;
    if (key === undefined || !equalConstantTime(key, signer.publicKey)) {
      if (sender.revokedDevices.some((d) => d.id === keyId)) {
        throw new SigilError('E_KEY_REVOKED', `The envelope is signed by a device ${accountId} revoked.`);
      }
      throw new SigilError('E_BAD_SIGNATURE', `The envelope is not signed by a key of ${accountId}.`, { detail: 'sender-key' });
    }
    return { accountId, deviceId: keyId };
  }

  /**
   * Opens a new user-key epoch: a fresh user key wrapped to the account's current devices, the
   * previous key sealed to it, signed by this device, published and verified back.
   *
   * @returns The new epoch number.
   * @throws SigilError `E_KEY_REVOKED` / `E_KEY_NOT_FOUND` (this device is not a current device),
   *   `E_NOT_RECIPIENT` (this device cannot read the current epoch, so cannot chain to it),
   *   every code of `DirectoryClient.publish`.
   * @example
   * ```ts
   * const epoch = await sigil.rotate();
   * ```
   */
  async rotate(): Promise<number> {
    const { state } = await this.#ownAccount();
    let previous: UserKeyPair | undefined;
    if (state.userKey !== undefined) {
      previous = await this.#pair(state, state.userKey.epoch);
      if (previous === undefined) throw new SigilError('E_NOT_RECIPIENT', 'This device cannot read the current user key, so it cannot rotate it.');
    }
    const next = await createUserKeyEpoch(state, { signer: { backend: this.#keys.backend, ref: this.#keys.signing }, previous });
    const blobs = next.wraps.map((w) => w.blob);
    if (next.previousKeyWrap !== undefined) blobs.push(next.previousKeyWrap);
    await this.directory.publish(next.statement, { blobs });
    await this.#setPair(next.epoch, next.userKey);
    return next.epoch;
  }

  /**
   * Certifies another device of this account (a root signs its keys), then rotates so that the
   * new device holds the current user key (and, by walking back, every older one).
   *
   * @returns The new device's id.
   * @throws SigilError `E_DIRECTORY` (refused), `E_WEBAUTHN`, backend errors, and as `rotate`.
   * @example
   * ```ts
   * // on the phone: const possessionSignature = await proveDevicePossession(account, phoneKeys);
   * const id = await sigil.addDevice({ name: 'phone', signingKey, agreementKey, possessionSignature }, { root });
   * ```
   */
  async addDevice(device: NewDevice, options: { readonly root: RootSigner }): Promise<string> {
    const { state } = await this.#ownAccount();
    await certify(this.directory, state, options.root, device, device.name);
    await this.rotate();
    return keyIdOf(device.signingKey);
  }

  /**
   * Revokes another device of this account (a root signs the revocation), then rotates, so that
   * nothing encrypted to the account afterwards is readable by the revoked device.
   *
   * @throws RangeError if `deviceId` is this device (revoke it from another device).
   * @throws SigilError `E_KEY_NOT_FOUND` (not a current device of the account), and as `rotate`.
   * @example
   * ```ts
   * await sigil.revokeDevice(lostPhoneId, { root: { backend: hsm, ref: rootKey } });
   * ```
   */
  async revokeDevice(deviceId: string, options: { readonly root: RootSigner }): Promise<void> {
    if (deviceId === this.deviceId) throw new RangeError('"deviceId" is this device: revoke it from another device of the account');
    const { state } = await this.#ownAccount();
    if (!state.devices.some((d) => d.id === deviceId)) throw new SigilError('E_KEY_NOT_FOUND', 'No current device of the account has this id.');
    const statement = await signWithRoot({ kind: 'device-revocation', ...chainAfter(state, rootId(options.root)), deviceId }, options.root);
    await this.directory.publish(statement);
    await this.rotate();
  }

  /**
   * Mailbox: encrypts `data` to account `to` (as `encrypt`) and leaves it in its mailbox.
   *
   * @returns The message id.
   * @throws SigilError as `encrypt`, and `E_UNAUTHORIZED`, `E_DIRECTORY`, `E_NETWORK`.
   * @example
   * ```ts
   * await sigil.send('bob@example.com', new TextEncoder().encode('hi'));
   * ```
   */
  async send(to: string, data: Uint8Array): Promise<number> {
    const envelope = await this.encrypt(data, { to: [to] });
    return this.#withSession((session) => this.directory.postMessage(to, envelope, session));
  }

  /**
   * Mailbox: this account's messages (envelopes, unverified; open each with
   * `decrypt(m.envelope, { from: m.senderId })`).
   *
   * @throws SigilError `E_UNAUTHORIZED`, `E_DIRECTORY`, `E_NETWORK`.
   * @example
   * ```ts
   * for (const m of await sigil.list()) { const { plaintext } = await sigil.decrypt(m.envelope, { from: m.senderId }); }
   * ```
   */
  async list(options: { readonly after?: number | undefined } = {}): Promise<MailboxEntry[]> {
    return this.#withSession((session) => this.directory.listMessages(session, options));
  }

  /**
   * Mailbox: deletes one of this account's messages.
   * @throws SigilError `E_UNAUTHORIZED`, `E_DIRECTORY`, `E_NETWORK`.
   * @example
   * ```ts
   * await sigil.delete(message.id);
   * ```
   */
  async delete(id: number): Promise<void> {
    return this.#withSession((session) => this.directory.deleteMessage(id, session));
  }
}

/** Publishes a root-signed certificate of `device` after `state`. */
async function certify(
  directory: DirectoryClient,
  state: AccountState,
  root: RootSigner,
  device: DeviceKeys | NewDevice,
  name: string,
): Promise<VerifiedAccount> {
  const keys = 'backend' in device && 'signing' in device
    ? { signingKey: device.signing.publicKey, agreementKey: device.agreement.publicKey, possessionSignature: await proveDevicePossession(state.accountId, device) }
    : { signingKey: device.signingKey, agreementKey: device.agreementKey, possessionSignature: device.possessionSignature };
  const statement = await signWithRoot({ kind: 'device-certificate', ...chainAfter(state, rootId(root)), device: { ...keys, name } }, root);
  return directory.publish(statement);
}
