// The account-state fold (docs/STATEMENTS.md §7): statements are applied one by one, each
// authenticated (signature by a key the state so far authorises) before anything it says is used.
import { SigilError, type SigilErrorCode } from '../errors.js';
import { equalConstantTime } from '../internal/bytes.js';
import { verifyP1363 } from '../internal/ecdsa.js';
import { keyIdOf } from '../internal/p256.js';
import {
  decodeSignedStatement,
  statementHash,
  statementSignatureInput,
  type SignedStatement,
} from './signed-statement.js';
import { genesisPrev, isZeroHash, type RootCredential, type Statement, type StatementHeader } from './statement.js';
import { devicePossessionInput, userKeyPossessionInput, webAuthnStatementChallenge } from './contexts.js';
import { verifyWebAuthnAssertion, type WebAuthnPolicy } from './webauthn.js';

/** A root credential of the account, with its id (`keyIdOf(publicKey)`). */
export type AccountRoot = RootCredential & {
  readonly id: string;
  /** `seq` of the statement that added it. */
  readonly addedAt: number;
};

/** A device certified by a root. `id` is `keyIdOf(signingKey)`. */
export interface AccountDevice {
  readonly id: string;
  readonly name: string;
  readonly signingKey: Uint8Array;
  readonly agreementKey: Uint8Array;
  /** The certificate's `time` (ms since the Unix epoch). */
  readonly createdAt: number;
  /** Id of the root that certified it. */
  readonly certifiedBy: string;
  /** `seq` of its certificate. */
  readonly certifiedAt: number;
}

export interface RevokedDevice extends AccountDevice {
  /** The revocation's `time`. */
  readonly revokedTime: number;
  readonly revokedBy: string;
  /** `seq` of the revocation. */
  readonly revokedAt: number;
}

/** One user-key epoch as published. */
export interface UserKeyEpoch {
  readonly epoch: number;
  /** ECDH P-256 user public key of this epoch. */
  readonly publicKey: Uint8Array;
  /** Device id of the publisher. */
  readonly publishedBy: string;
  readonly time: number;
  /** `seq` of the epoch statement. */
  readonly seq: number;
  /** `statementHash` of the epoch statement. */
  readonly statementHash: Uint8Array;
  /** Device id → SHA-256 of the wrap blob for that device (§5). */
  readonly wraps: ReadonlyMap<string, Uint8Array>;
  /** SHA-256 of the previous epoch's key sealed to this one; undefined for epoch 1. */
  readonly previousKeyWrapHash: Uint8Array | undefined;
}

/** What an account's verified statements say, after the statement with sequence number `seq`. */
export interface AccountState {
  readonly accountId: string;
  /** `seq` of the last applied statement. */
  readonly seq: number;
  /** `statementHash` of the last applied statement: the next statement's `prev`. */
  readonly head: Uint8Array;
  /** `time` of the last applied statement. */
  readonly time: number;
  readonly roots: readonly AccountRoot[];
  /** Certified and not revoked. */
  readonly devices: readonly AccountDevice[];
  readonly revokedDevices: readonly RevokedDevice[];
  /** The current user-key epoch; undefined until the first one is published. */
  readonly userKey: UserKeyEpoch | undefined;
  /** Every epoch, oldest first (so an envelope for an older epoch finds its key). */
  readonly userKeys: readonly UserKeyEpoch[];
  /**
   * True when the current epoch is not wrapped to exactly the current devices: a device was
   * revoked (it may hold the current user key: encrypting to it reaches the revoked device) or
   * certified (it cannot read the current epoch yet). Publish a new epoch.
   */
  readonly rotationNeeded: boolean;
}

/** Verification options: which account, and the relying-party policy for WebAuthn roots. */
export interface VerifyStatementOptions extends Partial<WebAuthnPolicy> {
  /** The account the statements must belong to. Strongly recommended: the id the caller asked for. */
  readonly accountId?: string | undefined;
}

function proofError(detail: string, message: string, cause?: unknown, code: SigilErrorCode = 'E_DIRECTORY_PROOF'): SigilError {
  return new SigilError(code, message, cause === undefined ? { detail } : { detail, cause });
}

/**
 * Verifies an account's whole statement history, from its genesis, and returns the account state.
 *
 * @param statements - The signed statements (docs/STATEMENTS.md §6), in sequence order.
 * @throws SigilError `E_DIRECTORY_PROOF` for anything wrong — `detail` says what (`format`,
 *   `account`, `sequence`, `link`, `time`, `signer`, `signature`, `webauthn-<check>`, `possession`, `rule`);
 *   `E_KEY_REVOKED` for a statement signed by a revoked device.
 * @example
 * ```ts
 * const state = await verifyAccountLog(served, { accountId: 'alice@example.org',
 *   rpId: 'example.org', origins: ['https://example.org'] });
 * const recipientKey = state.userKey?.publicKey;
 * ```
 */
export async function verifyAccountLog(statements: readonly Uint8Array[], options: VerifyStatementOptions = {}): Promise<AccountState> {
  if (!Array.isArray(statements)) throw new TypeError('"statements" expected an array of Uint8Array');
  if (statements.length === 0) throw proofError('sequence', 'The account has no statements: it has no genesis.');
  let state: AccountState | undefined;
  for (const s of statements) state = await applyStatement(state, s, options);
  return state as AccountState;
}

/**
 * Applies one signed statement to a verified state (or to `undefined` for the genesis) and returns
 * the new state; the input state is not modified. A client keeps the state and folds the new
 * statements it is served, so it verifies each statement once.
 *
 * @throws SigilError as `verifyAccountLog`.
 */
export async function applyStatement(
  state: AccountState | undefined,
  signedStatement: Uint8Array,
  options: VerifyStatementOptions = {},
): Promise<AccountState> {
  let signed: SignedStatement;
  try {
    signed = decodeSignedStatement(signedStatement);
  } catch (cause) {
    if (cause instanceof TypeError) throw cause;
    throw proofError('format', 'The directory served a malformed statement.', cause);
  }
  const s = signed.statement;
  const hash = await statementHash(signed.statementBytes);

  // §7.1: the statement's place in the chain, before anything else.
  const accountId = state?.accountId ?? options.accountId;
  if (accountId !== undefined && s.accountId !== accountId) {
    throw proofError('account', 'The directory served a statement of another account.');
  }
  if (state === undefined) {
    if (s.kind !== 'genesis' || s.seq !== 0 || !isZeroHash(s.prev)) {
      throw proofError('sequence', 'The account history does not begin with a genesis statement.');
    }
  } else {
    // A genesis is self-signed: one in mid-chain would let its own signer replace the roots.
    if (s.kind === 'genesis') throw proofError('sequence', 'A genesis statement can only begin an account history.');
    if (s.seq !== state.seq + 1) throw proofError('sequence', 'The account history skips or repeats a statement.');
    if (!equalConstantTime(s.prev, state.head)) throw proofError('link', "The statement does not link to the account's previous statement.");
    if (s.time < state.time) throw proofError('time', 'The statement is dated before its predecessor.');
  }

  // §7.2: who may sign this kind, then the signature itself.
  const genesisRoots = s.kind === 'genesis' ? await withIds(s.roots, 0) : undefined;
  await checkSignature(state, s, signed, genesisRoots, hash, options);

  // §7.3: what the statement does, under each kind's rules.
  return applyVerified(state, s, hash, genesisRoots);
}

async function withIds(roots: readonly RootCredential[], seq: number): Promise<AccountRoot[]> {
  const out: AccountRoot[] = [];
  for (const r of roots) out.push(Object.freeze({ ...r, id: await keyIdOf(r.publicKey), addedAt: seq }));
  return out;
}

async function checkSignature(
  state: AccountState | undefined,
  s: Statement,
  signed: SignedStatement,
  genesisRoots: AccountRoot[] | undefined,
  hash: Uint8Array,
  options: VerifyStatementOptions,
): Promise<void> {
  let publicKey: Uint8Array;
  let webauthnRoot: (AccountRoot & { type: 'webauthn' }) | undefined;
  if (s.kind === 'user-key-epoch') {
    const device = state?.devices.find((d) => d.id === s.signer);
    if (device === undefined) {
      if (state?.revokedDevices.some((d) => d.id === s.signer)) {
        throw proofError('signer', 'The statement is signed by a revoked device.', undefined, 'E_KEY_REVOKED');
      }
      throw proofError('signer', 'The user-key epoch is not signed by a current device of the account.');
    }
    publicKey = device.signingKey;
  } else {
    const roots = genesisRoots ?? state?.roots ?? [];
    const root = roots.find((r) => r.id === s.signer);
    if (root === undefined) throw proofError('signer', 'The statement is not signed by a root of the account.');
    publicKey = root.publicKey;
    if (root.type === 'webauthn') webauthnRoot = root;
  }

  if (webauthnRoot === undefined) {
    if (signed.proof.type !== 'ecdsa') throw proofError('signature', 'The statement carries the wrong kind of signature for its signer.');
    const ok = await verifyP1363(publicKey, statementSignatureInput(signed.statementBytes), signed.proof.signature);
    if (!ok) throw proofError('signature', 'The statement signature does not verify.');
    return;
  }

  if (signed.proof.type !== 'webauthn') throw proofError('signature', 'The statement carries the wrong kind of signature for its signer.');
  if (options.rpId === undefined || options.origins === undefined) {
    throw proofError('webauthn-policy', 'A WebAuthn-signed statement needs { rpId, origins } to be verified.');
  }
  try {
    await verifyWebAuthnAssertion(signed.proof, {
      publicKey,
      credentialRpId: webauthnRoot.rpId,
      // §6.2: only the statement form of the challenge; a sign-in's (or any server nonce) fails.
      challenge: await webAuthnStatementChallenge(hash),
      rpId: options.rpId,
      origins: options.origins,
      requireUserVerification: options.requireUserVerification,
    });
  } catch (cause) {
    if (SigilError.is(cause, 'E_WEBAUTHN')) {
      throw proofError(`webauthn-${cause.detail ?? 'assertion'}`, 'The WebAuthn signature of the statement does not verify.', cause);
    }
    throw cause;
  }
}

async function applyVerified(
  state: AccountState | undefined,
  s: Statement,
  hash: Uint8Array,
  genesisRoots: AccountRoot[] | undefined,
): Promise<AccountState> {
  const rule = (message: string) => proofError('rule', message);
  const base = {
    accountId: s.accountId,
    seq: s.seq,
    head: hash,
    time: s.time,
    roots: state?.roots ?? [],
    devices: state?.devices ?? [],
    revokedDevices: state?.revokedDevices ?? [],
    userKey: state?.userKey,
    userKeys: state?.userKeys ?? [],
  };
  const allKeyIds = (): Set<string> =>
    new Set([...base.roots.map((r) => r.id), ...base.devices.map((d) => d.id), ...base.revokedDevices.map((d) => d.id)]);

  switch (s.kind) {
    case 'genesis': {
      const roots = genesisRoots as AccountRoot[];
      if (new Set(roots.map((r) => r.id)).size !== roots.length) throw rule('The genesis names the same root twice.');
      // §4.2: the genesis signature is the proof of possession of its root, so the genesis names
      // that root alone; further roots join by root-add.
      if (roots.length !== 1) throw rule('A genesis names exactly one root, its signer.');
      return finish({ ...base, roots });
    }
    case 'root-add': {
      const [root] = await withIds([s.root], s.seq);
      if (allKeyIds().has(root!.id)) throw rule('The added root is already a key of the account.');
      return finish({ ...base, roots: [...base.roots, root!] });
    }
    case 'device-certificate': {
      const id = await keyIdOf(s.device.signingKey);
      if (allKeyIds().has(id)) throw rule('The certified device key is already a key of the account.');
      if (equalConstantTime(s.device.signingKey, s.device.agreementKey)) throw rule('A device uses one key for two purposes.');
      // §4.4: the device key itself signs, so a root cannot certify a key nobody holds for it.
      const held = await verifyP1363(s.device.signingKey, devicePossessionInput(s.accountId, s.device.signingKey, s.device.agreementKey), s.device.possessionSignature);
      if (!held) throw proofError('possession', 'The device certificate lacks the device key\'s proof of possession.');
      const device: AccountDevice = Object.freeze({
        id,
        name: s.device.name,
        signingKey: s.device.signingKey,
        agreementKey: s.device.agreementKey,
        createdAt: s.time,
        certifiedBy: s.signer,
        certifiedAt: s.seq,
      });
      return finish({ ...base, devices: [...base.devices, device] });
    }
    case 'device-revocation': {
      const device = base.devices.find((d) => d.id === s.deviceId);
      if (device === undefined) throw rule('The revocation names no current device of the account.');
      const revoked: RevokedDevice = Object.freeze({ ...device, revokedTime: s.time, revokedBy: s.signer, revokedAt: s.seq });
      return finish({
        ...base,
        devices: base.devices.filter((d) => d.id !== s.deviceId),
        revokedDevices: [...base.revokedDevices, revoked],
      });
    }
    case 'user-key-epoch': {
      const expected = (base.userKey?.epoch ?? 0) + 1;
      if (s.epoch !== expected) throw rule(`The user-key epoch must be ${expected}.`);
      const current = new Set(base.devices.map((d) => d.id));
      if (s.wraps.length !== current.size || !s.wraps.every((w) => current.has(w.deviceId))) {
        throw rule('The user key must be wrapped to exactly the current devices of the account.');
      }
      if (base.userKeys.some((k) => equalConstantTime(k.publicKey, s.userPublicKey))) {
        throw rule('The user-key epoch reuses an earlier user key.');
      }
      // §4.6: the user key itself signs, so no account publishes a key it does not hold (another
      // account's user key, say, which would make messages "to" this account open elsewhere).
      const held = await verifyP1363(s.userPublicKey, userKeyPossessionInput(s.accountId, s.epoch, s.userPublicKey), s.possessionSignature);
      if (!held) throw proofError('possession', 'The user-key epoch lacks the user key\'s proof of possession.');
      const epoch: UserKeyEpoch = Object.freeze({
        epoch: s.epoch,
        publicKey: s.userPublicKey,
        publishedBy: s.signer,
        time: s.time,
        seq: s.seq,
        statementHash: hash,
        wraps: new Map(s.wraps.map((w) => [w.deviceId, w.wrapHash])),
        previousKeyWrapHash: s.previousKeyWrapHash,
      });
      return finish({ ...base, userKey: epoch, userKeys: [...base.userKeys, epoch] });
    }
  }
}

function finish(s: Omit<AccountState, 'rotationNeeded'>): AccountState {
  const current = s.devices.map((d) => d.id);
  const wrapped = s.userKey?.wraps;
  const rotationNeeded =
    wrapped !== undefined && (wrapped.size !== current.length || !current.every((id) => wrapped.has(id)));
  return Object.freeze({
    ...s,
    roots: Object.freeze([...s.roots]),
    devices: Object.freeze([...s.devices]),
    revokedDevices: Object.freeze([...s.revokedDevices]),
    userKeys: Object.freeze([...s.userKeys]),
    rotationNeeded,
  });
}

/**
 * The header of the account's next statement: `{ accountId, seq, prev }` from a verified state,
 * plus the signer and time you give.
 *
 * @example
 * ```ts
 * const draft = { kind: 'device-revocation', ...chainAfter(state, root.id), deviceId } as const;
 * ```
 */
export function chainAfter(state: AccountState, signer: string, time: number = Date.now()): StatementHeader {
  return { accountId: state.accountId, seq: state.seq + 1, prev: new Uint8Array(state.head), time: Math.max(time, state.time), signer };
}

/** The header of an account's genesis statement, signed by root `signer`. */
export function genesisHeader(accountId: string, signer: string, time: number = Date.now()): StatementHeader {
  return { accountId, seq: 0, prev: genesisPrev(), time, signer };
}
