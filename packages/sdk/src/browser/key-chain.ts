// The account's user-key chain sealed under the PRF key-encryption keys (docs/BACKUP.md): in
// this browser's IndexedDB under the local-cache KEK (so a sign-in with a touch has the keys at
// once), and on the directory under the passkey-backup KEK (so a new browser signing in with
// the same synced passkey reads the account's history without another device online). Both are
// opaque to anyone without the passkey: AES-256-GCM (prf.ts) with the account and the purpose
// in the associated data. The PRF output itself never leaves the page (webauthn.ts derives the
// KEKs and drops it).
import { SigilError } from '../errors.js';
import type { DirectoryClient, DirectorySession } from '../directory/client.js';
import type { AccountState } from '../identity/account-state.js';
import type { UserKeyPair } from '../identity/user-key.js';
import type { DeviceAccount } from '../account/device-account.js';
import { BrowserKeyStore, type BrowserKeyStoreOptions } from './key-store.js';
import { openWithPrfKek, sealWithPrfKek, type PrfKeks } from './prf.js';

/** Key-store entry of the sealed local cache. */
export const LOCAL_CACHE_ENTRY = 'user-key-cache';

/** Chain format version (first byte of the plaintext, inside the seal). */
const CHAIN_VERSION = 1;
/** One entry: epoch (u32 big-endian) || P-256 private scalar (32 bytes). */
const ENTRY_LENGTH = 4 + 32;
/** More than any account will have; keeps a backup under the directory's 64 KiB limit. */
const MAX_ENTRIES = 1500;

/** A user private key of one epoch, as the chain carries it (checked against the log before use). */
export interface ChainEntry {
  readonly epoch: number;
  readonly privateKey: Uint8Array;
}

/**
 * Serialises user keys: `version (1) || count (u16) || count × (epoch u32 || private key 32)`,
 * epochs strictly increasing. Public keys are not stored: they are recomputed and compared with
 * the verified log when the chain is opened.
 */
export function encodeUserKeyChain(entries: Iterable<ChainEntry>): Uint8Array {
  const sorted = [...entries].sort((a, b) => a.epoch - b.epoch);
  if (sorted.length > MAX_ENTRIES) throw new RangeError(`"entries" expected at most ${MAX_ENTRIES} epochs, got ${sorted.length}`);
  const out = new Uint8Array(3 + sorted.length * ENTRY_LENGTH);
  const view = new DataView(out.buffer);
  out[0] = CHAIN_VERSION;
  view.setUint16(1, sorted.length);
  let previous = 0;
  sorted.forEach((e, i) => {
    if (!Number.isSafeInteger(e.epoch) || e.epoch <= previous || e.epoch > 0xffffffff) throw new RangeError('"epoch" expected distinct integers from 1 to 2^32-1');
    if (!(e.privateKey instanceof Uint8Array) || e.privateKey.length !== 32) throw new RangeError('"privateKey" expected Uint8Array of length 32');
    previous = e.epoch;
    view.setUint32(3 + i * ENTRY_LENGTH, e.epoch);
    out.set(e.privateKey, 3 + i * ENTRY_LENGTH + 4);
  });
  return out;
}

/**
 * Parses {@link encodeUserKeyChain}'s output (already authenticated by the seal).
 *
 * @throws SigilError `E_FORMAT` for any other shape.
 */
export function decodeUserKeyChain(bytes: Uint8Array): ChainEntry[] {
  const bad = () => new SigilError('E_FORMAT', 'The sealed user-key chain is malformed.', { detail: 'key-chain' });
  if (bytes.length < 3 || bytes[0] !== CHAIN_VERSION) throw bad();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint16(1);
  if (count > MAX_ENTRIES || bytes.length !== 3 + count * ENTRY_LENGTH) throw bad();
  const entries: ChainEntry[] = [];
  let previous = 0;
  for (let i = 0; i < count; i++) {
    const at = 3 + i * ENTRY_LENGTH;
    const epoch = view.getUint32(at);
    if (epoch <= previous) throw bad();
    previous = epoch;
    entries.push({ epoch, privateKey: bytes.slice(at + 4, at + ENTRY_LENGTH) });
  }
  return entries;
}

function wipe(entries: readonly ChainEntry[]): void {
  for (const e of entries) e.privateKey.fill(0);
}

function entriesOf(chain: ReadonlyMap<number, UserKeyPair>): ChainEntry[] {
  return [...chain].map(([epoch, pair]) => ({ epoch, privateKey: pair.privateKey }));
}

/**
 * Opens a sealed chain with a PRF KEK. The plaintext copy is wiped once parsed.
 *
 * @throws SigilError `E_AUTH_FAILED` (another passkey's key, another account or purpose, or any
 *   byte changed), `E_FORMAT`.
 */
export async function openUserKeyChain(kek: PrfKeks['localCache'], sealed: Uint8Array, account: string): Promise<ChainEntry[]> {
  const plain = await openWithPrfKek(kek, sealed, { account });
  try {
    return decodeUserKeyChain(plain);
  } finally {
    plain.fill(0);
  }
}

async function sealUserKeyChain(kek: PrfKeks['localCache'], entries: readonly ChainEntry[], account: string): Promise<Uint8Array> {
  const plain = encodeUserKeyChain(entries);
  try {
    return await sealWithPrfKek(kek, plain, { account });
  } finally {
    plain.fill(0);
  }
}

/**
 * The account's passkey backup from the directory, opened with the passkey-backup KEK, or
 * `undefined` if the account has none.
 *
 * @throws SigilError `E_AUTH_FAILED` (tampered, or not this account's / this passkey's),
 *   `E_FORMAT`, and the codes of `DirectoryClient.getBackup`.
 */
export async function fetchPasskeyBackup(directory: DirectoryClient, account: string, session: DirectorySession, keks: PrfKeks): Promise<ChainEntry[] | undefined> {
  const sealed = await directory.getBackup(account, session);
  return sealed === undefined ? undefined : openUserKeyChain(keks.passkeyBackup, sealed, account);
}

/** What {@link PrfKeyChainKeeper.sync} did with the passkey backup. */
export type BackupStatus = 'current' | 'failed';

/**
 * Keeps the sealed local cache and the passkey backup of one signed-in device up to date: at
 * sign-in, and whenever the device learns a newer user-key epoch (it rotated, or received one).
 */
export class PrfKeyChainKeeper {
  readonly #device: DeviceAccount;
  readonly #keks: PrfKeks;
  readonly #store: BrowserKeyStoreOptions;
  readonly #onError: ((error: unknown) => void) | undefined;
  #queue: Promise<BackupStatus> = Promise.resolve('current');

  constructor(device: DeviceAccount, keks: PrfKeks, store: BrowserKeyStoreOptions, onError?: ((error: unknown) => void) | undefined) {
    this.#device = device;
    this.#keks = keks;
    this.#store = store;
    this.#onError = onError;
  }

  /** From now on, every newer epoch this device learns is sealed into the cache and the backup. */
  attach(): void {
    this.#device.userKeys.onNewEpoch(async () => {
      await this.sync();
    });
  }

  /**
   * Adopts the user keys of the sealed local cache that the verified `state` names. A cache
   * that does not open (another passkey of the account signed in, or it was changed) is ignored
   * and replaced at the next sync: the device's own wraps still hold its keys.
   *
   * @returns The epochs adopted.
   */
  async restoreLocal(state: AccountState): Promise<number[]> {
    const account = this.#device.account;
    const store = await BrowserKeyStore.open(this.#store);
    let sealed: Uint8Array | undefined;
    try {
      sealed = await store.getSealed(LOCAL_CACHE_ENTRY);
    } finally {
      store.close();
    }
    if (sealed === undefined) return [];
    let entries: ChainEntry[];
    try {
      entries = await openUserKeyChain(this.#keks.localCache, sealed, account);
    } catch (e) {
      if (SigilError.is(e, 'E_AUTH_FAILED') || SigilError.is(e, 'E_FORMAT')) return [];
      throw e;
    }
    try {
      return await this.#device.userKeys.adopt(state, entries);
    } finally {
      wipe(entries);
    }
  }

  /**
   * Seals every user key this device can reach into the local cache, and into the passkey
   * backup when the backup lacks one of them (merged with what it holds, so a device that
   * reaches fewer epochs never shrinks it). Serialised; never throws (failures go to `onError`
   * and come back as `'failed'`; the next sync retries).
   */
  sync(): Promise<BackupStatus> {
    this.#queue = this.#queue.then(
      () => this.#sync(),
      () => this.#sync(),
    );
    return this.#queue;
  }

  async #sync(): Promise<BackupStatus> {
    const account = this.#device.account;
    try {
      const chain = await this.#device.userKeys.reachable();
      if (chain.size === 0) return 'current';
      const ours = entriesOf(chain);
      const local = await sealUserKeyChain(this.#keks.localCache, ours, account);
      const store = await BrowserKeyStore.open(this.#store);
      try {
        await store.putSealed(LOCAL_CACHE_ENTRY, local);
      } finally {
        store.close();
      }
      await this.#device.sessions.withSession(async (session) => {
        let theirs: ChainEntry[] = [];
        try {
          theirs = (await fetchPasskeyBackup(this.#device.directory, account, session, this.#keks)) ?? [];
        } catch (e) {
          // A backup this passkey cannot open (tampered, or sealed by another passkey of the
          // account) is replaced by one it can: this device holds the account's current keys.
          if (!SigilError.is(e, 'E_AUTH_FAILED') && !SigilError.is(e, 'E_FORMAT')) throw e;
        }
        try {
          const held = new Set(theirs.map((e) => e.epoch));
          if (ours.every((e) => held.has(e.epoch))) return;
          const merged = new Map<number, ChainEntry>(theirs.map((e) => [e.epoch, e]));
          for (const e of ours) merged.set(e.epoch, e);
          const sealed = await sealUserKeyChain(this.#keks.passkeyBackup, [...merged.values()], account);
          await this.#device.directory.putBackup(account, sealed, session);
        } finally {
          wipe(theirs);
        }
      });
      return 'current';
    } catch (e) {
      this.#onError?.(e);
      return 'failed';
    }
  }
}
