// The account's user-key chain as one device holds it (docs/ARCHITECTURE.md "Key hierarchy", "Rotation and the walk-back chain"):
// the user key of each epoch this device can reach, unwrapped from its own wrap or walked back
// from the next epoch's key, or adopted from a sealed cache or backup; in memory only. Decryption
// sees it through `keyring()`, which offers key lookup and ECDH and nothing else.
import { p256 } from '@noble/curves/nist.js';
import type { DecryptionKeys, KeyBackend, KeyRef } from '../backend/key-backend.js';
import { WebCryptoKeyBackend } from '../backend/webcrypto-key-backend.js';
import type { DirectoryClient } from '../directory/client.js';
import type { AccountState } from '../identity/account-state.js';
import { importUserKey, openPreviousUserKey, openUserKeyWrap, type UserKeyPair } from '../identity/user-key.js';
import { equalConstantTime } from '../internal/bytes.js';
import { keyIdOf } from '../internal/p256.js';
import type { SessionKeeper } from './session-keeper.js';

/** The device whose wraps the chain opens: its id and its ECDH agreement key. */
export interface ChainDevice {
  readonly id: string;
  readonly backend: KeyBackend;
  readonly agreement: KeyRef;
}

/** A user private key of one epoch, as a sealed cache or backup carries it (checked before use). */
export interface UserKeyEntry {
  readonly epoch: number;
  readonly privateKey: Uint8Array;
}

export class UserKeyChain {
  readonly #directory: DirectoryClient;
  readonly #account: string;
  readonly #device: ChainDevice;
  readonly #sessions: SessionKeeper;
  /** Unwrapped user keys of this account, by epoch. */
  readonly #pairs = new Map<number, UserKeyPair>();
  /** The same keys as non-extractable WebCrypto keys, for envelope decryption. */
  readonly #userKeys = new WebCryptoKeyBackend();
  /** Told when this device learns a newer user-key epoch (it rotated, or unwrapped one). */
  #onNewEpoch: ((epoch: number) => Promise<void>) | undefined;

  constructor(directory: DirectoryClient, account: string, device: ChainDevice, sessions: SessionKeeper) {
    this.#directory = directory;
    this.#account = account;
    this.#device = device;
    this.#sessions = sessions;
  }

  /**
   * Sets (or, with `undefined`, clears) the one listener told, and awaited, when this device
   * learns a user-key epoch newer than any it held: the browser's sealed cache and passkey
   * backup follow the chain through it. The listener reports its own failures and never throws.
   */
  onNewEpoch(listener: ((epoch: number) => Promise<void>) | undefined): void {
    this.#onNewEpoch = listener;
  }

  /**
   * This device's copy of the user key of `epoch`: its own wrap if the epoch has one, else the
   * next epoch's key walked back one step (docs/ARCHITECTURE.md "Rotation and the walk-back chain"). `undefined` if this device
   * holds no wrap of this epoch or any later one (it was revoked before them).
   *
   * @param notify - Whether a newer epoch learnt here is told to the listener (false when the
   *   listener itself is asking: awaiting it from here would wait on itself).
   */
  async pair(state: AccountState, epoch: number, notify = true): Promise<UserKeyPair | undefined> {
    const cached = this.#pairs.get(epoch);
    if (cached !== undefined && equalConstantTime(cached.publicKey, state.userKeys.find((k) => k.epoch === epoch)?.publicKey ?? new Uint8Array())) {
      return cached;
    }
    const e = state.userKeys.find((k) => k.epoch === epoch);
    if (e === undefined) return undefined;
    let pair: UserKeyPair | undefined;
    const wrapHash = e.wraps.get(this.#device.id);
    if (wrapHash !== undefined) {
      const blob = await this.#sessions.withSession((session) => this.#directory.blob(this.#account, wrapHash, session));
      pair = await openUserKeyWrap(state, epoch, blob, { id: this.#device.id, backend: this.#device.backend, agreementKey: this.#device.agreement });
    } else {
      const next = state.userKeys.find((k) => k.epoch === epoch + 1);
      const nextPair = next === undefined ? undefined : await this.pair(state, epoch + 1, notify);
      if (next === undefined || nextPair === undefined || next.previousKeyWrapHash === undefined) return undefined;
      const hash = next.previousKeyWrapHash;
      const blob = await this.#sessions.withSession((session) => this.#directory.blob(this.#account, hash, session));
      pair = await openPreviousUserKey(state, epoch + 1, blob, nextPair);
    }
    // Awaited, so a newer epoch received here is sealed into the cache and backup before the
    // caller goes on (the listener reports its own failures and never throws).
    await this.hold(epoch, pair, notify);
    return pair;
  }

  /** Keeps an unwrapped pair; tells the listener (awaited) when it is a newer epoch than any held. */
  async hold(epoch: number, pair: UserKeyPair, notify = true): Promise<void> {
    const newest = Math.max(0, ...this.#pairs.keys());
    this.#pairs.set(epoch, pair);
    if (notify && epoch > newest && this.#onNewEpoch !== undefined) await this.#onNewEpoch(epoch);
  }

  /**
   * Takes user private keys from a sealed cache or backup: each is kept only if its public key
   * is the one the verified account state names for that epoch (others are stale or foreign).
   *
   * @returns The epochs adopted.
   */
  async adopt(state: AccountState, keys: readonly UserKeyEntry[]): Promise<number[]> {
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
  async reachable(): Promise<Map<number, UserKeyPair>> {
    const { state } = await this.#directory.lookup(this.#account);
    const chain = new Map<number, UserKeyPair>();
    // Newest first, so each older epoch is one step back from a key already held.
    for (const e of [...state.userKeys].sort((a, b) => b.epoch - a.epoch)) {
      // Quiet: the listener is the one asking (awaiting it from here would wait on itself).
      const pair = await this.pair(state, e.epoch, false);
      if (pair !== undefined) chain.set(e.epoch, pair);
    }
    return chain;
  }

  /**
   * The account's user keys for envelope decryption: key lookup by id (an epoch is unwrapped the
   * first time its key is asked for) and ECDH. The account state is read once per keyring, so one
   * keyring serves one decryption.
   */
  keyring(): DecryptionKeys {
    const userKeys = this.#userKeys;
    let epochs: Promise<{ state: AccountState; epochOf: Map<string, number> }> | undefined;
    const load = () =>
      (epochs ??= this.#directory.lookup(this.#account).then(async ({ state }) => ({
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
        const pair = await this.pair(state, epoch);
        return pair === undefined ? undefined : importUserKey(userKeys, pair);
      },
      deriveSharedSecret: (ref, peer) => userKeys.deriveSharedSecret(ref, peer),
    };
  }
}
