// The one register path and the one sign-in path of a person's account in a browser
// (`@sigil/sdk/browser`): the ceremonies of account.ts, with the PRF-sealed local cache and the
// passkey backup of key-chain.ts, which follow the device's user-key chain (account/) explicitly.
import { SigilError } from '../errors.js';
import type { AccountState } from '../identity/account-state.js';
import type { DeviceKeys } from '../account/device-account.js';
import { connectDevice } from '../account/enrol.js';
import { Sigil } from '../sigil.js';
import { WebCryptoKeyBackend } from '../backend/webcrypto-key-backend.js';
import {
  directoryOf,
  enrolSignedIn,
  pagePolicy,
  publicPart,
  registerBrowserAccount,
  rootSignIn,
  storeOptions,
  type BrowserAccount,
  type RegisterBrowserAccountOptions,
  type SignedInDevice,
  type SignInBrowserAccountOptions,
} from './account.js';
import { fetchPasskeyBackup, PrfKeyChainKeeper, type BackupStatus, type ChainEntry } from './key-chain.js';
import { BrowserKeyStore } from './key-store.js';

/** Options of {@link registerWithPasskey}. */
export interface RegisterWithPasskeyOptions extends RegisterBrowserAccountOptions {
  /** Told when sealing the local cache or updating the passkey backup fails (retried at the next change). */
  readonly onBackupError?: ((error: unknown) => void) | undefined;
}

/** Options of {@link signInWithPasskey}. */
export interface SignInWithPasskeyOptions extends SignInBrowserAccountOptions {
  /**
   * Enrol this browser as a new device when it holds no device keys of the account (default
   * true; one more touch). With `false`, such a sign-in fails with `E_KEY_NOT_FOUND`.
   */
  readonly enrol?: boolean | undefined;
  /** The new device's name when this sign-in enrols it (1 to 64 UTF-8 bytes; default `"browser"`). */
  readonly deviceName?: string | undefined;
  readonly onBackupError?: ((error: unknown) => void) | undefined;
}

/**
 * Where this device's user keys came from: its own wraps in the directory, the sealed local
 * cache, the passkey backup, or nowhere yet (`'awaiting-approval'`: an existing device must
 * approve it by rotating).
 */
export type UserKeySource = 'own-wraps' | 'local-cache' | 'passkey-backup' | 'awaiting-approval';

/** What {@link registerWithPasskey} and {@link signInWithPasskey} return. */
export interface PasskeySignIn extends BrowserAccount {
  /** True if this call made this browser a new device of the account. */
  readonly newDevice: boolean;
  readonly userKeys: UserKeySource;
  /** The passkey backup after this call: `'current'`, `'failed'` (see `onBackupError`), or `'none'` without PRF. */
  readonly backup: BackupStatus | 'none';
}

/** The keeper of the sealed cache and backup, in PRF mode (the KEKs came with this ceremony). */
function keeperOf(a: SignedInDevice, options: RegisterWithPasskeyOptions | SignInWithPasskeyOptions): PrfKeyChainKeeper | undefined {
  return a.keks === undefined ? undefined : new PrfKeyChainKeeper(a.device, a.keks, storeOptions(options, a.account), options.onBackupError);
}

/** Seals what the device holds now, then follows every newer epoch. */
async function keepUp(keeper: PrfKeyChainKeeper | undefined): Promise<BackupStatus | 'none'> {
  if (keeper === undefined) return 'none';
  const status = await keeper.sync();
  keeper.attach();
  return status;
}

/**
 * Registers a new account in this browser with a passkey or a security key (WebAuthn, ES256,
 * PRF requested): the credential is the account root; two device keys are made non-extractable
 * and kept in IndexedDB; the genesis and the device certificate are signed by the credential;
 * the first user-key epoch is published. With PRF (`mode: 'prf'`), the account's user-key
 * chain is sealed under keys only the passkey's PRF yields: in this browser (the local cache)
 * and on the directory (the passkey backup, docs/BACKUP.md); both follow every rotation.
 * Without PRF (`mode: 'no-prf'`, most security keys) the keys rest under the browser's
 * protection alone and another device joins through an existing one. Resumable: called again in
 * the same browser after a cancelled touch, it finishes what is missing.
 *
 * @returns The connected `Sigil` and the mode this credential gave.
 * @throws SigilError `E_DIRECTORY` (detail `E_CONFLICT`: the account id is taken),
 *   `E_WEBAUTHN` (a ceremony was cancelled, timed out or refused), `E_DIRECTORY_PROOF` (the
 *   directory registered another credential than this one), `E_UNAUTHORIZED` (resuming with
 *   another credential than the registered one), `E_KEY_NOT_FOUND` (IndexedDB unavailable),
 *   `E_NETWORK`, and every code of `Sigil.enrolWebAuthn`.
 * @example
 * ```ts
 * const { sigil, mode } = await registerWithPasskey({ directory: 'https://keys.example.org', logPublicKey: PINNED_VKEY,
 *   account: 'alice@example.org', displayName: 'Alice' });
 * if (mode === 'no-prf') tell('Keep this browser: add a second device from here before you lose it.');
 * ```
 */
export async function registerWithPasskey(options: RegisterWithPasskeyOptions): Promise<PasskeySignIn> {
  const a = await registerBrowserAccount(options);
  // In PRF mode without KEKs (an authenticator that enabled PRF but gave no result at creation),
  // the cache and the backup are sealed at the next sign-in.
  const backup = await keepUp(keeperOf(a, options));
  return { ...publicPart(a), newDevice: true, userKeys: 'own-wraps', backup };
}

/**
 * A device of the account that holds no key of the current epoch (enrolled while the account
 * had no backup): takes the chain from the backup if it opens and names the current epoch, and
 * rotates so that it holds its own wrap. A backup that does not open is left to the next sync.
 */
async function restoreFromBackup(a: SignedInDevice, state: AccountState): Promise<boolean> {
  if (a.keks === undefined || state.userKey === undefined) return false;
  let entries: ChainEntry[] | undefined;
  try {
    entries = await fetchPasskeyBackup(a.sigil.directory, a.account, a.session, a.keks);
  } catch (e) {
    if (SigilError.is(e, 'E_AUTH_FAILED') || SigilError.is(e, 'E_FORMAT')) return false;
    throw e;
  }
  if (entries === undefined) return false;
  try {
    if (!(await a.device.userKeys.adopt(state, entries)).includes(state.userKey.epoch)) return false;
  } finally {
    for (const e of entries) e.privateKey.fill(0);
  }
  await a.device.rotate();
  return true;
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
 *   (this browser's device was revoked), `E_KEY_NOT_FOUND` (detail `no-device`: no device keys
 *   here and `enrol: false`), `E_KEY_POLICY` (detail `device-exists`), `E_DIRECTORY_ROLLBACK` /
 *   `E_DIRECTORY_PROOF` (the directory lied), `E_NETWORK`, `E_DIRECTORY`.
 * @example
 * ```ts
 * const me = await signInWithPasskey({ directory: 'https://keys.example.org', logPublicKey: PINNED_VKEY });
 * if (me.userKeys === 'awaiting-approval') tell('Approve this browser from one of your devices.');
 * for (const m of await me.sigil.list()) show(await me.sigil.decrypt(m.envelope, { from: m.senderId }));
 * ```
 */
export async function signInWithPasskey(options: SignInWithPasskeyOptions): Promise<PasskeySignIn> {
  if (typeof options !== 'object' || options === null) throw new TypeError('"options" expected { directory, logPublicKey }');
  const directory = directoryOf(options, options.webauthn ?? pagePolicy());
  const signedIn = await rootSignIn(directory, options.account, options.timeoutMs);
  const { account, state, signIn } = signedIn;

  const backend = new WebCryptoKeyBackend();
  const store = await BrowserKeyStore.open(storeOptions(options, account));
  let stored;
  try {
    stored = await store.listKeys();
  } finally {
    store.close();
  }
  const signingId = stored.find((k) => k.usage === 'sign')?.id;
  const isDevice = signingId !== undefined && state.devices.some((d) => d.id === signingId);

  if (!isDevice) {
    if (signingId !== undefined && state.revokedDevices.some((d) => d.id === signingId)) {
      throw new SigilError('E_KEY_REVOKED', 'This browser was revoked from the account; it cannot sign in as that device again.');
    }
    if (options.enrol === false) {
      throw new SigilError('E_KEY_NOT_FOUND', 'This browser holds no device keys of the account; enrol it as a new device first.', { detail: 'no-device' });
    }
    // The backup is read and opened BEFORE anything is published: a backup that does not open
    // (tampered, another account's) ends the sign-in with E_AUTH_FAILED and no change.
    const restored: ChainEntry[] | undefined =
      signIn.keks === undefined ? undefined : await fetchPasskeyBackup(directory, account, signedIn.session, signIn.keks);
    try {
      const a = await enrolSignedIn(directory, signedIn, { ...options, deviceName: options.deviceName ?? 'browser' });
      let userKeys: UserKeySource = 'awaiting-approval';
      if (restored !== undefined) {
        const { state: now } = await directory.lookup(account);
        const adopted = await a.device.userKeys.adopt(now, restored);
        if (now.userKey !== undefined && adopted.includes(now.userKey.epoch)) {
          // The new device holds the current key: a rotation wraps the next one to it (and to
          // the other devices), so it no longer depends on the backup or its cache.
          await a.device.rotate();
          userKeys = 'passkey-backup';
        }
      }
      return { ...publicPart(a), newDevice: true, userKeys, backup: await keepUp(keeperOf(a, options)) };
    } finally {
      if (restored !== undefined) for (const e of restored) e.privateKey.fill(0);
    }
  }

  const store2 = await BrowserKeyStore.open(storeOptions(options, account));
  let refs;
  try {
    refs = await store2.loadKeys(backend);
  } finally {
    store2.close();
  }
  const signing = refs.find((r) => r.usage === 'sign');
  const agreement = refs.find((r) => r.usage === 'agree');
  if (signing === undefined || agreement === undefined) {
    throw new SigilError('E_KEY_NOT_FOUND', 'This browser holds no device keys of the account; enrol it as a new device first.', { detail: 'no-device' });
  }
  const keys: DeviceKeys = { backend, signing, agreement };
  const device = await connectDevice(directory, account, keys);
  const sigil = new Sigil(device);
  const a: SignedInDevice = { sigil, device, account, mode: signIn.mode, keks: signIn.keks, session: signedIn.session, root: signedIn.signer, keys };

  const { state: now } = await directory.lookup(account);
  const current = now.userKey;
  const keeper = keeperOf(a, options);
  let userKeys: UserKeySource = current === undefined || current.wraps.has(sigil.deviceId) ? 'own-wraps' : 'awaiting-approval';
  if (keeper !== undefined && current !== undefined) {
    if ((await keeper.restoreLocal(now)).includes(current.epoch)) userKeys = 'local-cache';
    else if (userKeys === 'awaiting-approval' && (await restoreFromBackup(a, now))) userKeys = 'passkey-backup';
  }
  return { ...publicPart(a), newDevice: false, userKeys, backup: await keepUp(keeper) };
}
