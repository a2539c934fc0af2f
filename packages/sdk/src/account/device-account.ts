// One device of one account: its directory client, its two device keys, its session keeper and
// its user-key chain, held together so that every verb (Sigil's, and the browser layer's sealed
// cache and passkey backup) shares them explicitly. Package-internal: user private keys pass here.
import { SigilError } from '../errors.js';
import type { KeyBackend, KeyRef } from '../backend/key-backend.js';
import type { DirectoryClient, DirectorySession, VerifiedAccount } from '../directory/client.js';
import { chainAfter, type AccountState } from '../identity/account-state.js';
import { proveDevicePossession } from '../identity/possession.js';
import { signStatement, signStatementWithWebAuthn } from '../identity/signed-statement.js';
import type { Statement } from '../identity/statement.js';
import { createUserKeyEpoch, type UserKeyPair } from '../identity/user-key.js';
import type { WebAuthnAssertion } from '../identity/webauthn.js';
import { equalConstantTime } from '../internal/bytes.js';
import { SessionKeeper } from './session-keeper.js';
import { UserKeyChain } from './user-key-chain.js';

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

/** A new device to certify (`addDevice`): its public keys and proof of possession, made on that device. */
export interface NewDevice {
  readonly name: string;
  readonly signingKey: Uint8Array;
  readonly agreementKey: Uint8Array;
  /** `proveDevicePossession(account, keys)` made by the new device (docs/STATEMENTS.md §4.4). */
  readonly possessionSignature: Uint8Array;
}

export function checkDeviceKeys(keys: DeviceKeys): void {
  if (typeof keys !== 'object' || keys === null || typeof keys.backend?.sign !== 'function') {
    throw new TypeError('"keys" expected { backend, signing, agreement }');
  }
  if (keys.signing?.usage !== 'sign') throw new TypeError('"keys.signing" expected a KeyRef with usage "sign"');
  if (keys.agreement?.usage !== 'agree') throw new TypeError('"keys.agreement" expected a KeyRef with usage "agree"');
}

export function rootId(root: RootSigner): string {
  return 'backend' in root ? root.ref.id : root.id;
}

export async function signWithRoot(statement: Statement, root: RootSigner): Promise<Uint8Array> {
  if ('backend' in root) return signStatement(statement, root);
  if (typeof root.getAssertion !== 'function') throw new TypeError('"root" expected { backend, ref } or { id, getAssertion }');
  return signStatementWithWebAuthn(statement, root.getAssertion);
}

/** Publishes a root-signed certificate of `device` after `state`. */
export async function certify(
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

export class DeviceAccount {
  readonly directory: DirectoryClient;
  readonly account: string;
  /** `keyIdOf(keys.signing.publicKey)`. */
  readonly deviceId: string;
  readonly keys: DeviceKeys;
  readonly sessions: SessionKeeper;
  readonly userKeys: UserKeyChain;

  /**
   * @param session - Gets a directory session; default: sign the directory's challenge with the
   *   device's signing key.
   */
  constructor(directory: DirectoryClient, account: string, keys: DeviceKeys, session?: (() => Promise<DirectorySession>) | undefined) {
    this.directory = directory;
    this.account = account;
    this.deviceId = keys.signing.id;
    this.keys = keys;
    this.sessions = new SessionKeeper(session ?? (() => directory.serviceSession(account, { backend: keys.backend, ref: keys.signing })));
    this.userKeys = new UserKeyChain(directory, account, { id: this.deviceId, backend: keys.backend, agreement: keys.agreement }, this.sessions);
  }

  /**
   * The account, verified, with this device a current device of it.
   * @throws SigilError `E_KEY_REVOKED` (this device was revoked), `E_KEY_NOT_FOUND` (not a device
   *   of the account, or its certified agreement key is another one), the codes of `lookup`.
   */
  async verified(): Promise<VerifiedAccount> {
    const account = await this.directory.lookup(this.account);
    const me = account.state.devices.find((d) => d.id === this.deviceId);
    if (me === undefined) {
      if (account.state.revokedDevices.some((d) => d.id === this.deviceId)) {
        throw new SigilError('E_KEY_REVOKED', 'This device was revoked from the account; enrol it again with a root.');
      }
      throw new SigilError('E_KEY_NOT_FOUND', 'This device is not a device of the account; certify it with a root first.');
    }
    if (!equalConstantTime(me.agreementKey, this.keys.agreement.publicKey)) {
      throw new SigilError('E_KEY_NOT_FOUND', "The account's certificate for this device names another agreement key.");
    }
    return account;
  }

  /**
   * Opens a new user-key epoch: a fresh user key wrapped to the account's current devices, the
   * previous key sealed to it, signed by this device, published and verified back.
   *
   * @returns The new epoch number.
   */
  async rotate(): Promise<number> {
    const { state } = await this.verified();
    let previous: UserKeyPair | undefined;
    if (state.userKey !== undefined) {
      previous = await this.userKeys.pair(state, state.userKey.epoch);
      if (previous === undefined) throw new SigilError('E_NOT_RECIPIENT', 'This device cannot read the current user key, so it cannot rotate it.');
    }
    const next = await createUserKeyEpoch(state, { signer: { backend: this.keys.backend, ref: this.keys.signing }, previous });
    const blobs = next.wraps.map((w) => w.blob);
    if (next.previousKeyWrap !== undefined) blobs.push(next.previousKeyWrap);
    await this.directory.publish(next.statement, { blobs });
    await this.userKeys.hold(next.epoch, next.userKey);
    return next.epoch;
  }
}
