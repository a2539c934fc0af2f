// User-key epochs with their wrapped keys (docs/STATEMENTS.md §5): the user private key of an
// epoch HPKE-sealed to each current device's agreement key, and the previous epoch's private key
// sealed to the new user public key (the walk-back chain of docs/ARCHITECTURE.md). The blobs
// travel beside the statement, which commits to their SHA-256.
import { p256 } from '@noble/curves/nist.js';
import { SigilError } from '../errors.js';
import type { KeyBackend, KeyRef } from '../backend/key-backend.js';
import { concatBytes, equalConstantTime, toBase64Url } from '../internal/bytes.js';
import { openBase, sealBase, HPKE_ENC_LENGTH, HPKE_TAG_LENGTH } from '../internal/hpke.js';
import { checkP256PublicKey } from '../internal/p256.js';
import { WebCryptoKeyBackend } from '../backend/webcrypto-key-backend.js';
import { chainAfter, type AccountState, type UserKeyEpoch } from './account-state.js';
import { signUserKeyPossession } from './possession.js';
import { signStatement } from './signed-statement.js';
import type { UserKeyEpochStatement } from './statement.js';
import { Writer, encodeUtf8 } from './wire.js';

/**
 * A user key pair in memory. The private half exists as bytes only on the account's own
 * devices, between unwrapping and importing it into a backend (`importUserKey`).
 */
export interface UserKeyPair {
  /** The P-256 private scalar, 32 bytes big-endian. Secret: never log or send it. */
  readonly privateKey: Uint8Array;
  /** Uncompressed SEC1 public key (65 bytes). */
  readonly publicKey: Uint8Array;
}

/** Length of a wrap blob: HPKE `enc` (65) || AES-256-GCM ciphertext of 32 bytes + tag (48). */
export const USER_KEY_WRAP_LENGTH = HPKE_ENC_LENGTH + 32 + HPKE_TAG_LENGTH;

const WRAP_LABEL = encodeUtf8('sigil/v1 user-key-wrap\0');
const CHAIN_LABEL = encodeUtf8('sigil/v1 user-key-chain\0');
const EMPTY = new Uint8Array(0);

/** A fresh user key pair from the platform CSPRNG (via @noble/curves' rejection sampling). */
export function generateUserKey(): UserKeyPair {
  const privateKey = p256.utils.randomSecretKey();
  return { privateKey, publicKey: p256.getPublicKey(privateKey, false) };
}

/** HPKE info of a device wrap (§5.1): binds account, epoch, user public key and device. */
function wrapInfo(accountId: string, epoch: number, userPublicKey: Uint8Array, deviceId: string): Uint8Array {
  const id = encodeUtf8(accountId);
  return new Writer().bytes(WRAP_LABEL).u8(id.length).bytes(id).u32(epoch).bytes(userPublicKey).bytes(hexBytes(deviceId)).finish();
}

/** HPKE info of a chain link (§5.2): binds account, the new epoch, and both public keys. */
function chainInfo(accountId: string, epoch: number, userPublicKey: Uint8Array, previousPublicKey: Uint8Array): Uint8Array {
  const id = encodeUtf8(accountId);
  return new Writer().bytes(CHAIN_LABEL).u8(id.length).bytes(id).u32(epoch).bytes(userPublicKey).bytes(previousPublicKey).finish();
}

function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
}

async function sha256(b: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', b as Uint8Array<ArrayBuffer>));
}

export interface CreateUserKeyEpochOptions {
  /** The publishing device's signing key (a current device of the account). */
  readonly signer: { readonly backend: KeyBackend; readonly ref: KeyRef };
  /** The current epoch's key pair, to seal into the new epoch (required unless this is epoch 1). */
  readonly previous?: UserKeyPair | undefined;
  /** The new key pair; generated when absent. */
  readonly userKey?: UserKeyPair | undefined;
  readonly time?: number | undefined;
}

export interface CreatedUserKeyEpoch {
  /** The signed user-key-epoch statement, to publish. */
  readonly statement: Uint8Array;
  readonly userKey: UserKeyPair;
  readonly epoch: number;
  /** One blob per current device, to store beside the statement and serve to that device only. */
  readonly wraps: readonly { readonly deviceId: string; readonly blob: Uint8Array }[];
  /** The previous epoch's private key sealed to this epoch; undefined for epoch 1. */
  readonly previousKeyWrap: Uint8Array | undefined;
}

/**
 * Opens the account's next user-key epoch: seals the new user private key to every current
 * device of `state` (each device's agreement key, from its root-signed certificate), seals the
 * previous private key to the new public key, and signs the statement that commits to each blob.
 *
 * @throws TypeError / RangeError on misuse (no current device, `previous` missing or not the
 *   current epoch's key).
 * @throws SigilError from the signer's backend.
 * @example
 * ```ts
 * const next = await createUserKeyEpoch(state, { signer: { backend, ref: deviceSigningKey }, previous: currentUserKey });
 * await directory.publish(next.statement, { wraps: next.wraps, previousKeyWrap: next.previousKeyWrap });
 * ```
 */
export async function createUserKeyEpoch(state: AccountState, options: CreateUserKeyEpochOptions): Promise<CreatedUserKeyEpoch> {
  const epoch = (state.userKey?.epoch ?? 0) + 1;
  if (state.devices.length === 0) throw new RangeError('The account has no current device to wrap the user key to.');
  const userKey = options.userKey ?? generateUserKey();
  checkPair('userKey', userKey);
  let previousKeyWrap: Uint8Array | undefined;
  if (state.userKey !== undefined) {
    const previous = options.previous;
    if (previous === undefined) throw new TypeError('"previous" expected the current user key pair (epoch > 1 chains to it)');
    checkPair('previous', previous);
    if (!equalConstantTime(previous.publicKey, state.userKey.publicKey)) {
      throw new RangeError('"previous" expected the key pair of the current epoch');
    }
    const sealed = await sealBase(userKey.publicKey, chainInfo(state.accountId, epoch, userKey.publicKey, previous.publicKey), EMPTY, previous.privateKey);
    previousKeyWrap = concatBytes(sealed.enc, sealed.ciphertext);
  }
  const devices = [...state.devices].sort((a, b) => (a.id < b.id ? -1 : 1));
  const wraps: { deviceId: string; blob: Uint8Array }[] = [];
  for (const d of devices) {
    const sealed = await sealBase(d.agreementKey, wrapInfo(state.accountId, epoch, userKey.publicKey, d.id), EMPTY, userKey.privateKey);
    wraps.push({ deviceId: d.id, blob: concatBytes(sealed.enc, sealed.ciphertext) });
  }
  const header = chainAfter(state, options.signer.ref.id, options.time);
  const body = {
    kind: 'user-key-epoch' as const,
    epoch,
    userPublicKey: userKey.publicKey,
    // §4.6: the new user key signs too, so no account can publish a key it does not hold.
    possessionSignature: await signUserKeyPossession(state.accountId, epoch, userKey),
    wraps: await Promise.all(wraps.map(async (w) => ({ deviceId: w.deviceId, wrapHash: await sha256(w.blob) }))),
  };
  const statement: UserKeyEpochStatement =
    previousKeyWrap === undefined ? { ...header, ...body } : { ...header, ...body, previousKeyWrapHash: await sha256(previousKeyWrap) };
  return { statement: await signStatement(statement, options.signer), userKey, epoch, wraps, previousKeyWrap };
}

function epochOf(state: AccountState, epoch: number): UserKeyEpoch {
  const e = state.userKeys.find((k) => k.epoch === epoch);
  if (e === undefined) throw new SigilError('E_KEY_NOT_FOUND', `The account has no user-key epoch ${epoch}.`);
  return e;
}

async function checkBlob(blob: Uint8Array, expectedHash: Uint8Array | undefined): Promise<void> {
  if (!(blob instanceof Uint8Array)) throw new TypeError('"blob" expected Uint8Array');
  if (expectedHash === undefined || blob.length !== USER_KEY_WRAP_LENGTH || !equalConstantTime(await sha256(blob), expectedHash)) {
    throw new SigilError('E_DIRECTORY_PROOF', 'The wrapped user key is not the one the signed epoch statement names.', { detail: 'wrap-hash' });
  }
}

function pairFrom(privateKey: Uint8Array, expectedPublicKey: Uint8Array): UserKeyPair {
  let publicKey: Uint8Array;
  try {
    publicKey = p256.getPublicKey(privateKey, false);
  } catch (cause) {
    throw new SigilError('E_DIRECTORY_PROOF', 'The wrapped user key is not a P-256 private key.', { cause, detail: 'wrap-key' });
  }
  if (!equalConstantTime(publicKey, expectedPublicKey)) {
    throw new SigilError('E_DIRECTORY_PROOF', "The wrapped user key does not match the epoch's public key.", { detail: 'wrap-key' });
  }
  return { privateKey, publicKey };
}

/**
 * Opens this device's wrap of an epoch's user key. The blob is checked against the hash in the
 * verified epoch statement before it is opened, and the result against the epoch's public key.
 *
 * @param device - This device: its id (`keyIdOf(signingKey)`) and its agreement key.
 * @throws SigilError `E_DIRECTORY_PROOF` (detail `wrap-hash` or `wrap-key`) for a blob the
 *   statement does not name; `E_KEY_NOT_FOUND` for an unknown epoch; `E_AUTH_FAILED` if HPKE
 *   fails (a blob sealed to another key: cannot happen for a blob that matches its hash unless the
 *   publishing device misbehaved).
 */
export async function openUserKeyWrap(
  state: AccountState,
  epoch: number,
  blob: Uint8Array,
  device: { readonly id: string; readonly backend: KeyBackend; readonly agreementKey: KeyRef },
): Promise<UserKeyPair> {
  const e = epochOf(state, epoch);
  await checkBlob(blob, e.wraps.get(device.id));
  const enc = blob.slice(0, HPKE_ENC_LENGTH);
  const privateKey = await openBase(
    { backend: device.backend, ref: device.agreementKey },
    enc,
    wrapInfo(state.accountId, e.epoch, e.publicKey, device.id),
    EMPTY,
    blob.slice(HPKE_ENC_LENGTH),
  );
  return pairFrom(privateKey, e.publicKey);
}

/**
 * Walks the chain back one step: opens the previous epoch's user key, sealed to `userKey`
 * (the key of epoch `epoch`). Repeat to reach any older epoch.
 *
 * @throws SigilError as `openUserKeyWrap`; `E_KEY_NOT_FOUND` for epoch 1 (nothing before it).
 * @example
 * ```ts
 * let key = await openUserKeyWrap(state, 3, myWrap, device);
 * key = await openPreviousUserKey(state, 3, chainBlobs[3], key); // epoch 2
 * ```
 */
export async function openPreviousUserKey(state: AccountState, epoch: number, blob: Uint8Array, userKey: UserKeyPair): Promise<UserKeyPair> {
  const e = epochOf(state, epoch);
  const prev = epochOf(state, epoch - 1);
  checkPair('userKey', userKey);
  if (!equalConstantTime(userKey.publicKey, e.publicKey)) throw new RangeError(`"userKey" expected the key pair of epoch ${epoch}`);
  await checkBlob(blob, e.previousKeyWrapHash);
  const backend = new WebCryptoKeyBackend();
  const ref = await importUserKey(backend, userKey, 'user-key-chain');
  const privateKey = await openBase(
    { backend, ref },
    blob.slice(0, HPKE_ENC_LENGTH),
    chainInfo(state.accountId, e.epoch, e.publicKey, prev.publicKey),
    EMPTY,
    blob.slice(HPKE_ENC_LENGTH),
  );
  return pairFrom(privateKey, prev.publicKey);
}

/**
 * Imports a user key pair into a WebCryptoKeyBackend as a non-extractable ECDH key, so that
 * envelopes to the account can be opened through the KeyBackend interface (`decrypt({ keys })`).
 *
 * @returns The ref; its id is `keyIdOf(publicKey)`.
 */
export async function importUserKey(backend: WebCryptoKeyBackend, userKey: UserKeyPair, label = 'user-key'): Promise<KeyRef> {
  checkPair('userKey', userKey);
  const subtle = globalThis.crypto.subtle;
  const jwk: JsonWebKey = {
    kty: 'EC',
    crv: 'P-256',
    x: toBase64Url(userKey.publicKey.subarray(1, 33)),
    y: toBase64Url(userKey.publicKey.subarray(33, 65)),
    d: toBase64Url(userKey.privateKey),
  };
  const algorithm = { name: 'ECDH', namedCurve: 'P-256' };
  const privateKey = await subtle.importKey('jwk', jwk, algorithm, false, ['deriveBits']);
  const publicKey = await subtle.importKey('raw', userKey.publicKey as Uint8Array<ArrayBuffer>, algorithm, true, []);
  return backend.adoptKeyPair({ privateKey, publicKey, usage: 'agree', label });
}

function checkPair(name: string, pair: UserKeyPair): void {
  if (typeof pair !== 'object' || pair === null) throw new TypeError(`"${name}" expected { privateKey, publicKey }`);
  if (!(pair.privateKey instanceof Uint8Array) || pair.privateKey.length !== 32) {
    throw new RangeError(`"${name}.privateKey" expected Uint8Array of length 32`);
  }
  checkP256PublicKey(pair.publicKey);
}
