// A person's account in a browser: register with a passkey or security key, sign in again later,
// on top of `Sigil` and the verifying `DirectoryClient`. The WebAuthn credential is the account
// root; the device keys are non-extractable CryptoKeys made here and kept in IndexedDB
// (BrowserKeyStore), so the same browser signs in again without re-enrolling.
import { SigilError } from '../errors.js';
import { equalConstantTime, fromBase64Url, toBase64Url } from '../internal/bytes.js';
import { checkP256PublicKey, keyIdOf } from '../internal/p256.js';
import { DirectoryClient, type DirectorySession } from '../directory/client.js';
import type { FetchLike } from '../directory/http.js';
import type { ClientStateStore } from '../directory/state-store.js';
import type { WebAuthnPolicy } from '../identity/webauthn.js';
import type { LogVerifierKey } from '../transparency/signed-note.js';
import { chainAfter, type AccountState } from '../identity/account-state.js';
import type { WebAuthnRoot } from '../identity/statement.js';
import { proveDevicePossession } from '../identity/possession.js';
import { signStatementWithWebAuthn } from '../identity/signed-statement.js';
import { Sigil } from '../sigil.js';
import type { DeviceAccount, DeviceKeys, RootSigner } from '../account/device-account.js';
import { connectDevice, enrolWebAuthnAccount } from '../account/enrol.js';
import { WebCryptoKeyBackend } from '../backend/webcrypto-key-backend.js';
import { IndexedDbClientStateStore } from './client-state-store.js';
import { BrowserKeyStore, type BrowserKeyStoreOptions } from './key-store.js';
import type { PrfKeks } from './prf.js';
import { registerWebAuthnCredential, signInWithWebAuthn, webAuthnStatementSigner, type WebAuthnMode } from './webauthn.js';

/** How to reach the directory and where this browser keeps its keys. */
export interface BrowserAccountOptions {
  /** The directory's URL, or a DirectoryClient already made (then it carries the WebAuthn policy). */
  readonly directory: string | DirectoryClient;
  /** The pinned log verifier key (vkey text); required with a URL. */
  readonly logPublicKey?: string | LogVerifierKey | undefined;
  /** Client memory (checkpoint, account heads). Default: an IndexedDbClientStateStore. */
  readonly state?: ClientStateStore | undefined;
  readonly fetch?: FetchLike | undefined;
  /**
   * The relying-party policy that statements signed by WebAuthn roots are checked against.
   * Default: this page's host name as RP ID and its origin.
   */
  readonly webauthn?: WebAuthnPolicy | undefined;
  /** Where device keys live. Default: IndexedDB database `sigil:<account>`. */
  readonly keyStore?: ((account: string) => BrowserKeyStoreOptions) | undefined;
  /** WebAuthn ceremony timeout (ms). */
  readonly timeoutMs?: number | undefined;
}

export interface RegisterBrowserAccountOptions extends BrowserAccountOptions {
  /** The new account's id (1 to 128 visible ASCII characters, e.g. `alice@example.org`). */
  readonly account: string;
  /** Shown by the authenticator. */
  readonly displayName: string;
  /** This device's name in the account (1 to 64 UTF-8 bytes; default `"browser"`). */
  readonly deviceName?: string | undefined;
}

export interface EnrolBrowserDeviceOptions extends BrowserAccountOptions {
  /** The account to join; omit for a discoverable credential to choose. */
  readonly account?: string | undefined;
  /** This device's name in the account (1 to 64 UTF-8 bytes; default `"browser"`). */
  readonly deviceName?: string | undefined;
}

export interface SignInBrowserAccountOptions extends BrowserAccountOptions {
  /** The account to sign in to; omit for a discoverable credential to choose. */
  readonly account?: string | undefined;
}

/** A signed-in browser device of an account. */
export interface BrowserAccount {
  readonly sigil: Sigil;
  readonly account: string;
  /** 'prf' if the credential of this ceremony gave a PRF output, else 'no-prf'. */
  readonly mode: WebAuthnMode;
  /** The KEKs of the PRF output (mode 'prf'); they stay in this page. */
  readonly keks: PrfKeks | undefined;
  /** The WebAuthn session the directory opened for this ceremony. */
  readonly session: DirectorySession;
  /** The credential as a root signer, for `sigil.addDevice` / `sigil.revokeDevice` (one touch each). */
  readonly root: Extract<RootSigner, { readonly id: string }>;
  /** This device's keys (non-extractable, stored in IndexedDB). */
  readonly keys: DeviceKeys;
}

/**
 * A signed-in device with its account key material (package-internal): the browser layer's
 * sealed cache and passkey backup work on `device`; the public results carry only `sigil`.
 */
export interface SignedInDevice extends BrowserAccount {
  readonly device: DeviceAccount;
}

/** The public part of a signed-in device: everything but its key material. */
export function publicPart<T extends SignedInDevice>(signedIn: T): Omit<T, 'device'> {
  const { device: _, ...rest } = signedIn;
  return rest;
}

/** The page's own relying-party policy (package-internal). */
export function pagePolicy(): WebAuthnPolicy {
  const loc = (globalThis as { location?: { hostname?: string; origin?: string } }).location;
  if (typeof loc?.hostname !== 'string' || typeof loc.origin !== 'string') {
    throw new TypeError('"webauthn" expected { rpId, origins } outside a page');
  }
  return { rpId: loc.hostname, origins: [loc.origin] };
}

/** The verifying directory client of the options (package-internal). */
export function directoryOf(o: BrowserAccountOptions, policy: WebAuthnPolicy): DirectoryClient {
  if (o.directory instanceof DirectoryClient) return o.directory;
  if (typeof o.directory !== 'string') throw new TypeError('"directory" expected a URL string or a DirectoryClient');
  if (o.logPublicKey === undefined) throw new TypeError('"logPublicKey" expected the pinned log verifier key');
  // A wrapper, not `globalThis.fetch` itself: browsers refuse fetch called on another `this`
  // ("Illegal invocation"), and DirectoryHttp calls it as a method of its own.
  const fetchImpl: FetchLike = o.fetch ?? ((input, init) => globalThis.fetch(input, init));
  // The client's memory (last checkpoint, account heads) outlives the page by default, so a
  // rollback or a fork is caught across reloads too.
  const state = o.state ?? new IndexedDbClientStateStore();
  return new DirectoryClient({ url: o.directory, logPublicKey: o.logPublicKey, state, webauthn: policy, fetch: fetchImpl });
}

/** Where the account's device keys live (package-internal). */
export function storeOptions(o: BrowserAccountOptions, account: string): BrowserKeyStoreOptions {
  return o.keyStore?.(account) ?? { name: `sigil:${account}` };
}

/** A WebAuthn sign-in verified by the directory, and the account root that answered (from the verified log). */
export async function rootSignIn(directory: DirectoryClient, account: string | undefined, timeoutMs: number | undefined) {
  const requestOptions = await directory.webAuthnLoginOptions(account);
  const signIn = await signInWithWebAuthn(requestOptions as Parameters<typeof signInWithWebAuthn>[0], { timeoutMs });
  const session = await directory.webAuthnLogin(signIn.response);
  if (account !== undefined && session.accountId !== account) {
    throw new SigilError('E_UNAUTHORIZED', 'This credential belongs to another account.', { detail: 'account' });
  }
  const { state } = await directory.lookup(session.accountId);
  // The root that answered, from the verified account state (never from the directory's word).
  const root = state.roots.find((r) => r.type === 'webauthn' && equalConstantTime(r.credentialId, signIn.credentialId));
  if (root === undefined || root.type !== 'webauthn') {
    throw new SigilError('E_UNAUTHORIZED', 'The credential that signed in is not a root of the account.', { detail: 'root' });
  }
  const getAssertion = webAuthnStatementSigner({ rpId: root.rpId, credentialId: root.credentialId, timeoutMs });
  return { session, account: session.accountId, signIn, state, root, signer: { id: root.id, getAssertion } };
}

/**
 * Registers a new account in this browser: a WebAuthn credential (passkey or security key,
 * ES256, PRF requested) registered with the directory; two device keys made non-extractable and
 * stored in IndexedDB; the genesis and this device's certificate signed by the credential (two
 * assertions whose challenges are the statements' SHA-256); the first user-key epoch published.
 *
 * Resumable: the registered credential (public data) is kept in the key store until the account
 * is complete, so if a later touch is cancelled or fails, calling this again in the same browser
 * signs in with that credential (the directory's session then authorises the genesis) and
 * finishes what is missing, instead of failing on the taken account id.
 *
 * @throws SigilError `E_DIRECTORY` (`detail` `E_CONFLICT`: the account id is taken by someone
 *   else), `E_WEBAUTHN` (a ceremony failed: cancelled, timed out, refused), `E_DIRECTORY_PROOF`
 *   (the directory registered another credential than this one), `E_UNAUTHORIZED` (resuming with
 *   another credential than the registered one), `E_KEY_NOT_FOUND` (IndexedDB unavailable), and
 *   every code of `Sigil.enrolWebAuthn`.
 * @example
 * ```ts
 * const alice = await registerBrowserAccount({ directory: 'https://keys.example.org', logPublicKey: PINNED_VKEY,
 *   account: 'alice@example.org', displayName: 'Alice' });
 * console.log(alice.mode); // 'prf' with a passkey that has PRF, 'no-prf' with most security keys
 * ```
 */
export async function registerBrowserAccount(options: RegisterBrowserAccountOptions): Promise<SignedInDevice> {
  if (typeof options !== 'object' || options === null) throw new TypeError('"options" expected { directory, logPublicKey, account, displayName }');
  const { account } = options;
  const policy = options.webauthn ?? pagePolicy();
  const directory = directoryOf(options, policy);
  const store = await BrowserKeyStore.open(storeOptions(options, account));
  try {
    const pending = pendingRootFrom(await store.getSealed(PENDING_ROOT));
    const registered = pending === undefined ? await registerRoot(directory, store, options) : await resumeRoot(directory, store, pending, options);
    const { root, session, keys, mode, keks } = registered;
    const getAssertion = webAuthnStatementSigner({ rpId: root.rpId, credentialId: root.credentialId, timeoutMs: options.timeoutMs });
    const rootId = await keyIdOf(root.publicKey);
    const deviceName = options.deviceName ?? 'browser';

    let state: AccountState | undefined;
    if (pending !== undefined) {
      try {
        state = (await directory.lookup(account)).state;
      } catch (e) {
        // An account the directory serves with no statement (or not at all, though it just
        // signed us in to it): its genesis is still to publish. Were the directory hiding a
        // genesis, it would refuse the second one: no harm done.
        const noHistory = (SigilError.is(e, 'E_DIRECTORY_PROOF') && e.detail === 'sequence') || SigilError.is(e, 'E_UNKNOWN_ACCOUNT');
        if (!noHistory) throw e;
      }
    }
    let device: DeviceAccount;
    if (state === undefined) {
      device = await enrolWebAuthnAccount(directory, { account, root: { ...root, getAssertion }, registrationSession: session, keys, deviceName });
    } else {
      if (!state.roots.some((r) => r.id === rootId)) {
        throw new SigilError('E_UNAUTHORIZED', 'The account was created with another root than the credential registered here.', { detail: 'root' });
      }
      if (!state.devices.some((d) => d.id === keys.signing.id)) {
        const certificate = await signStatementWithWebAuthn(
          {
            kind: 'device-certificate',
            ...chainAfter(state, rootId),
            device: { signingKey: keys.signing.publicKey, agreementKey: keys.agreement.publicKey, possessionSignature: await proveDevicePossession(account, keys), name: deviceName },
          },
          getAssertion,
        );
        state = (await directory.publish(certificate)).state;
      }
      device = await connectDevice(directory, account, keys);
      if (state.userKey === undefined) await device.rotate();
    }
    await store.deleteSealed(PENDING_ROOT);
    return { sigil: new Sigil(device), device, account, mode, keks, session, root: { id: rootId, getAssertion }, keys };
  } finally {
    store.close();
  }
}

/** Key-store entry of a registered credential whose account is not complete yet (public data). */
const PENDING_ROOT = 'pending-root';

interface RegisteredRoot {
  readonly root: WebAuthnRoot;
  readonly session: DirectorySession;
  readonly keys: DeviceKeys;
  readonly mode: WebAuthnMode;
  readonly keks: PrfKeks | undefined;
}

function pendingRootFrom(bytes: Uint8Array | undefined): WebAuthnRoot | undefined {
  if (bytes === undefined) return undefined;
  try {
    const v = JSON.parse(new TextDecoder().decode(bytes)) as { rpId?: unknown; credentialIdB64?: unknown; publicKeyB64?: unknown };
    const credentialId = typeof v.credentialIdB64 === 'string' ? fromBase64Url(v.credentialIdB64) : undefined;
    const publicKey = typeof v.publicKeyB64 === 'string' ? fromBase64Url(v.publicKeyB64) : undefined;
    if (typeof v.rpId !== 'string' || credentialId === undefined || publicKey === undefined) throw new Error('fields');
    checkP256PublicKey(publicKey);
    return { type: 'webauthn', rpId: v.rpId, credentialId, publicKey };
  } catch (cause) {
    throw new SigilError('E_FORMAT', 'The pending registration in the key store is malformed.', { cause, detail: 'key-store' });
  }
}

async function newDeviceKeys(store: BrowserKeyStore, account: string): Promise<DeviceKeys> {
  const backend = new WebCryptoKeyBackend();
  const keys: DeviceKeys = {
    backend,
    signing: await backend.generateKeyPair({ usage: 'sign', label: `${account} device signing` }),
    agreement: await backend.generateKeyPair({ usage: 'agree', label: `${account} device agreement` }),
  };
  for (const k of await store.listKeys()) await store.deleteKey(k.id);
  await store.saveKey(backend, keys.signing);
  await store.saveKey(backend, keys.agreement);
  return keys;
}

/** First attempt: register a new credential, make and store the device keys, remember the root. */
async function registerRoot(directory: DirectoryClient, store: BrowserKeyStore, options: RegisterBrowserAccountOptions): Promise<RegisteredRoot> {
  const { account } = options;
  const creationOptions = await directory.webAuthnRegistrationOptions(account, options.displayName);
  const created = await registerWebAuthnCredential(creationOptions as Parameters<typeof registerWebAuthnCredential>[0], { timeoutMs: options.timeoutMs });
  const { session, credential } = await directory.webAuthnRegister(account, created.response);
  if (!equalConstantTime(credential.id, created.root.credentialId) || !equalConstantTime(credential.publicKey, created.root.publicKey)) {
    throw new SigilError('E_DIRECTORY_PROOF', 'The directory registered another credential than the one this authenticator made.', {
      detail: 'credential',
    });
  }
  const pending = { rpId: created.root.rpId, credentialIdB64: toBase64Url(created.root.credentialId), publicKeyB64: toBase64Url(created.root.publicKey) };
  await store.putSealed(PENDING_ROOT, new TextEncoder().encode(JSON.stringify(pending)));
  const keys = await newDeviceKeys(store, account);
  return { root: created.root, session, keys, mode: created.mode, keks: created.keks };
}

/** A later attempt: sign in with the registered credential; reuse the stored device keys. */
async function resumeRoot(
  directory: DirectoryClient,
  store: BrowserKeyStore,
  root: WebAuthnRoot,
  options: RegisterBrowserAccountOptions,
): Promise<RegisteredRoot> {
  const { account } = options;
  const requestOptions = await directory.webAuthnLoginOptions(account);
  const signIn = await signInWithWebAuthn(requestOptions as Parameters<typeof signInWithWebAuthn>[0], { timeoutMs: options.timeoutMs });
  if (!equalConstantTime(signIn.credentialId, root.credentialId)) {
    throw new SigilError('E_UNAUTHORIZED', 'Another credential than the one registered in this browser answered.', { detail: 'credential' });
  }
  const session = await directory.webAuthnLogin(signIn.response);
  if (session.accountId !== account) throw new SigilError('E_UNAUTHORIZED', 'This credential belongs to another account.', { detail: 'account' });
  const backend = new WebCryptoKeyBackend();
  const refs = await store.loadKeys(backend);
  const signing = refs.find((r) => r.usage === 'sign');
  const agreement = refs.find((r) => r.usage === 'agree');
  const keys = signing !== undefined && agreement !== undefined ? { backend, signing, agreement } : await newDeviceKeys(store, account);
  return { root, session, keys, mode: signIn.mode, keks: signIn.keks };
}

/**
 * Signs in to an account this browser is a device of: a WebAuthn assertion (discoverable, or
 * bound to `account`) verified by the directory, PRF evaluated when the credential has it, then
 * the device keys loaded from IndexedDB and `Sigil.connect`, which checks that they are a
 * current, certified device of the account in the verified log.
 *
 * @throws SigilError `E_WEBAUTHN` (the ceremony failed), `E_DIRECTORY` (the directory refused
 *   the assertion), `E_UNAUTHORIZED` (the credential belongs to another account than `account`),
 *   `E_KEY_NOT_FOUND` (this browser holds no device keys of the account: enrol it as a new
 *   device first), `E_KEY_REVOKED` (this device was revoked), and every code of `Sigil.connect`.
 * @example
 * ```ts
 * const me = await signInBrowserAccount({ directory: url, logPublicKey: PINNED_VKEY });
 * for (const m of await me.sigil.list()) show(await me.sigil.decrypt(m.envelope, { from: m.senderId }));
 * ```
 */
export async function signInBrowserAccount(options: SignInBrowserAccountOptions): Promise<SignedInDevice> {
  if (typeof options !== 'object' || options === null) throw new TypeError('"options" expected { directory, logPublicKey }');
  const directory = directoryOf(options, options.webauthn ?? pagePolicy());
  const { session, account, signIn, signer } = await rootSignIn(directory, options.account, options.timeoutMs);

  const backend = new WebCryptoKeyBackend();
  const store = await BrowserKeyStore.open(storeOptions(options, account));
  let refs;
  try {
    refs = await store.loadKeys(backend);
  } finally {
    store.close();
  }
  const signing = refs.find((r) => r.usage === 'sign');
  const agreement = refs.find((r) => r.usage === 'agree');
  if (signing === undefined || agreement === undefined) {
    throw new SigilError('E_KEY_NOT_FOUND', 'This browser holds no device keys of the account; enrol it as a new device first.', {
      detail: 'no-device',
    });
  }
  const keys: DeviceKeys = { backend, signing, agreement };
  const device = await connectDevice(directory, account, keys);
  return { sigil: new Sigil(device), device, account, mode: signIn.mode, keks: signIn.keks, session, root: signer, keys };
}

/**
 * Makes this browser a new device of an existing account, with a root credential of the account
 * (a synced passkey, or a second registered credential): a WebAuthn sign-in, two new device keys
 * (non-extractable, stored in IndexedDB), and their certificate signed by the credential and
 * published. The device is connected at once but reads nothing yet: it receives the account's
 * user keys when an existing device approves it by rotating (`sigil.rotate()`, which wraps the
 * new epoch to every current device; older epochs follow by walking back the chain).
 *
 * @throws SigilError `E_KEY_POLICY` (detail `device-exists`: this browser is already a current
 *   device of the account: sign in instead), `E_UNAUTHORIZED` (the credential is not a root of
 *   the account), and the codes of {@link signInBrowserAccount} and `DirectoryClient.publish`.
 * @example
 * ```ts
 * const phone = await enrolBrowserDevice({ directory: url, logPublicKey: PINNED_VKEY, account: 'alice@example.org', deviceName: 'phone' });
 * // on the laptop, once the user approves: await laptop.sigil.rotate();
 * ```
 */
export async function enrolBrowserDevice(options: EnrolBrowserDeviceOptions): Promise<SignedInDevice> {
  if (typeof options !== 'object' || options === null) throw new TypeError('"options" expected { directory, logPublicKey }');
  const policy = options.webauthn ?? pagePolicy();
  const directory = directoryOf(options, policy);

  return enrolSignedIn(directory, await rootSignIn(directory, options.account, options.timeoutMs), options);
}

/** A sign-in verified by the directory (package-internal). */
export type RootSignIn = Awaited<ReturnType<typeof rootSignIn>>;

/**
 * The rest of {@link enrolBrowserDevice} after its sign-in (package-internal): new device keys
 * in IndexedDB, their certificate signed by the credential (one more assertion) and published.
 */
export async function enrolSignedIn(directory: DirectoryClient, signedIn: RootSignIn, options: EnrolBrowserDeviceOptions): Promise<SignedInDevice> {
  const { session, account, signIn, state, root, signer } = signedIn;
  const store = await BrowserKeyStore.open(storeOptions(options, account));
  let keys: DeviceKeys;
  try {
    const existing = await store.listKeys();
    if (existing.some((k) => k.usage === 'sign' && state.devices.some((d) => d.id === k.id))) {
      throw new SigilError('E_KEY_POLICY', 'This browser is already a device of the account; sign in instead.', { detail: 'device-exists' });
    }
    // Keys of a revoked or never-certified device: of no further use to anyone.
    for (const k of existing) await store.deleteKey(k.id);
    const backend = new WebCryptoKeyBackend();
    keys = {
      backend,
      signing: await backend.generateKeyPair({ usage: 'sign', label: `${account} device signing` }),
      agreement: await backend.generateKeyPair({ usage: 'agree', label: `${account} device agreement` }),
    };
    await store.saveKey(backend, keys.signing);
    await store.saveKey(backend, keys.agreement);
  } finally {
    store.close();
  }

  const certificate = await signStatementWithWebAuthn(
    {
      kind: 'device-certificate',
      ...chainAfter(state, root.id),
      device: { signingKey: keys.signing.publicKey, agreementKey: keys.agreement.publicKey, possessionSignature: await proveDevicePossession(account, keys), name: options.deviceName ?? 'browser' },
    },
    signer.getAssertion,
  );
  await directory.publish(certificate);
  const device = await connectDevice(directory, account, keys);
  return { sigil: new Sigil(device), device, account, mode: signIn.mode, keks: signIn.keks, session, root: signer, keys };
}
