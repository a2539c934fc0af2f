// `Sigil.register` / `Sigil.signIn`: a person's account in a browser, on top of the ceremonies
// of account.ts, with the PRF-sealed local cache and the passkey backup of key-chain.ts.
// Imported by ../sigil.ts (a cycle): nothing here runs at module evaluation.
import { SigilError } from '../errors.js';
import type { AccountState } from '../identity/account-state.js';
import { Sigil, sigilInternals, type DeviceKeys } from '../sigil.js';
import { WebCryptoKeyBackend } from '../backend/webcrypto-key-backend.js';
import {
  directoryOf,
  enrolSignedIn,
  pagePolicy,
  registerBrowserAccount,
  rootSignIn,
  storeOptions,
  type BrowserAccount,
  type RegisterBrowserAccountOptions,
  type SignInBrowserAccountOptions,
} from './account.js';
import { fetchPasskeyBackup, PrfKeyChainKeeper, type BackupStatus, type ChainEntry } from './key-chain.js';
import { BrowserKeyStore } from './key-store.js';

/** Options of `Sigil.register`. */
export interface SigilRegisterOptions extends RegisterBrowserAccountOptions {
  /** Told when sealing the local cache or updating the passkey backup fails (retried at the next change). */
  readonly onBackupError?: ((error: unknown) => void) | undefined;
}

/** Options of `Sigil.signIn`. */
export interface SigilSignInOptions extends SignInBrowserAccountOptions {
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

/** What `Sigil.register` and `Sigil.signIn` return. */
export interface SigilSignIn extends BrowserAccount {
  /** True if this call made this browser a new device of the account. */
  readonly newDevice: boolean;
  readonly userKeys: UserKeySource;
  /** The passkey backup after this call: `'current'`, `'failed'` (see `onBackupError`), or `'none'` without PRF. */
  readonly backup: BackupStatus | 'none';
}

/** The keeper of the sealed cache and backup, in PRF mode (the KEKs came with this ceremony). */
function keeperOf(a: BrowserAccount, options: SigilRegisterOptions | SigilSignInOptions): PrfKeyChainKeeper | undefined {
  return a.keks === undefined ? undefined : new PrfKeyChainKeeper(a.sigil, a.keks, storeOptions(options, a.account), options.onBackupError);
}

/** Seals what the device holds now, then follows every newer epoch. */
async function keepUp(keeper: PrfKeyChainKeeper | undefined): Promise<BackupStatus | 'none'> {
  if (keeper === undefined) return 'none';
  const status = await keeper.sync();
  keeper.attach();
  return status;
}

/** `Sigil.register` (see there). */
export async function registerWithPasskey(options: SigilRegisterOptions): Promise<SigilSignIn> {
  const a = await registerBrowserAccount(options);
  // In PRF mode without KEKs (an authenticator that enabled PRF but gave no result at creation),
  // the cache and the backup are sealed at the next sign-in.
  const backup = await keepUp(keeperOf(a, options));
  return { ...a, newDevice: true, userKeys: 'own-wraps', backup };
}

/**
 * A device of the account that holds no key of the current epoch (enrolled while the account
 * had no backup): takes the chain from the backup if it opens and names the current epoch, and
 * rotates so that it holds its own wrap. A backup that does not open is left to the next sync.
 */
async function restoreFromBackup(a: BrowserAccount, state: AccountState): Promise<boolean> {
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
    if (!(await sigilInternals.adoptUserKeys(a.sigil, state, entries)).includes(state.userKey.epoch)) return false;
  } finally {
    for (const e of entries) e.privateKey.fill(0);
  }
  await a.sigil.rotate();
  return true;
}

/** `Sigil.signIn` (see there). */
export async function signInWithPasskey(options: SigilSignInOptions): Promise<SigilSignIn> {
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
        const adopted = await sigilInternals.adoptUserKeys(a.sigil, now, restored);
        if (now.userKey !== undefined && adopted.includes(now.userKey.epoch)) {
          // The new device holds the current key: a rotation wraps the next one to it (and to
          // the other devices), so it no longer depends on the backup or its cache.
          await a.sigil.rotate();
          userKeys = 'passkey-backup';
        }
      }
      return { ...a, newDevice: true, userKeys, backup: await keepUp(keeperOf(a, options)) };
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
  const sigil = await Sigil.connect({ directory, account, keys });
  const a: BrowserAccount = { sigil, account, mode: signIn.mode, keks: signIn.keks, session: signedIn.session, root: signedIn.signer, keys };

  const { state: now } = await directory.lookup(account);
  const current = now.userKey;
  const keeper = keeperOf(a, options);
  let userKeys: UserKeySource = current === undefined || current.wraps.has(sigil.deviceId) ? 'own-wraps' : 'awaiting-approval';
  if (keeper !== undefined && current !== undefined) {
    if ((await keeper.restoreLocal(now)).includes(current.epoch)) userKeys = 'local-cache';
    else if (userKeys === 'awaiting-approval' && (await restoreFromBackup(a, now))) userKeys = 'passkey-backup';
  }
  return { ...a, newDevice: false, userKeys, backup: await keepUp(keeper) };
}
