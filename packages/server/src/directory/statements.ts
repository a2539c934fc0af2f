// Statement submission (POST /v1/statements): decode, fold over the account's stored statements
// with the sdk's applyStatement (docs/STATEMENTS.md §7), check the blobs against the hashes the
// statement commits to, and only then write: account (for a new service account), blobs, and the
// statement with its log leaf (one store transaction). Anything invalid is refused before the
// first write, so a rejected request leaves the store as it was.
import { createHash } from 'node:crypto';
import { SigilError } from '@sigil/sdk/errors';
import {
  applyStatement,
  cosePublicKeyToRaw,
  decodeSignedStatement,
  genesisPrev,
  statementHash,
  type AccountState,
  type SignedStatement,
} from '@sigil/sdk/identity';
import { ApiError } from '../http/errors.js';
import type { CheckpointRecord, StatementRecord } from '../store/store.js';
import { listAllStatements } from './account-folds.js';
import { latestCheckpoint } from './account-view.js';
import { toB64u } from './b64.js';
import type { DirectoryContext } from './context.js';

export interface SubmitStatementInput {
  /** The signed statement (docs/STATEMENTS.md §6). */
  readonly bytes: Uint8Array;
  /** The wrap blobs the statement commits to (user-key epochs only). */
  readonly blobs: readonly Uint8Array[];
  /**
   * Account of the request's session (undefined without one), asked only when a WebAuthn genesis
   * needs it: other statements authenticate themselves, whatever header comes with them.
   */
  readonly sessionAccount: () => Promise<string | undefined>;
}

export interface SubmittedStatement {
  readonly leafIndex: number;
  readonly checkpoint: CheckpointRecord;
}

/** The blob name of a wrap: base64url SHA-256 of its bytes, as the statement commits to it. */
export function blobName(bytes: Uint8Array): string {
  return toB64u(createHash('sha256').update(bytes).digest());
}

/** A refused statement: 422 with the SigilError code (the contract's answer for an invalid statement). */
function refused(e: unknown): never {
  if (SigilError.is(e)) throw new ApiError(422, e.code, e.message);
  throw e;
}

// One submission per account at a time in this process, so that concurrent requests for one
// account fold in turn instead of failing. Across processes sharing one store, the store's
// compare-and-append (Store.appendNextStatement) is what keeps one successor per head.
const queues = new Map<string, Promise<unknown>>();
function serialised<T>(key: string, run: () => Promise<T>): Promise<T> {
  const before = queues.get(key) ?? Promise.resolve();
  const result = before.then(run, run);
  const tail = result.catch(() => undefined);
  queues.set(key, tail);
  void tail.then(() => {
    if (queues.get(key) === tail) queues.delete(key);
  });
  return result;
}

/**
 * Validates and appends one signed statement.
 *
 * @throws ApiError 422 (the SigilError code) for an invalid statement or blobs, 404
 *   `E_UNKNOWN_ACCOUNT` for a WebAuthn genesis of an unregistered account, 401/403 for a WebAuthn
 *   genesis without the account's session or naming another credential, 409 `E_CONFLICT` when a
 *   new service account's id was taken meanwhile or another statement took the statement's place
 *   in the account since its maker read it (nothing written), 413 `E_LIMIT` over the store's limits.
 * @throws SigilError `E_HSM_UNAVAILABLE` (503) when the log key cannot sign: nothing written,
 *   unless the key went between the check and the signature (then the statement is stored, and
 *   served once the key is back).
 * @throws a storage fault (503 `E_STORAGE_FULL`, `E_UNAVAILABLE`; http/errors.ts): nothing written.
 */
export async function submitStatement(ctx: DirectoryContext, input: SubmitStatementInput): Promise<SubmittedStatement> {
  if (input.bytes.length > ctx.store.limits.maxStatementBytes) {
    throw new ApiError(413, 'E_LIMIT', `Signed statements are limited to ${ctx.store.limits.maxStatementBytes} bytes.`);
  }
  let signed: SignedStatement;
  try {
    signed = decodeSignedStatement(input.bytes);
  } catch (e) {
    refused(e);
  }
  const accountId = signed.statement.accountId;
  return serialised(accountId, () => submitLocked(ctx, input, signed));
}

async function submitLocked(ctx: DirectoryContext, input: SubmitStatementInput, signed: SignedStatement): Promise<SubmittedStatement> {
  const { store, folds } = ctx;
  const s = signed.statement;
  const account = await store.getAccount(s.accountId);
  const stored = account === undefined ? [] : await listAllStatements(store, s.accountId);
  if (await lostRace(signed, input.bytes, stored)) {
    throw new ApiError(409, 'E_CONFLICT', 'Another statement was appended to this account meanwhile: fetch the account and try again.');
  }
  const state = await folds.stateOf(s.accountId, stored);
  let next: AccountState;
  try {
    next = await applyStatement(state, input.bytes, folds.options(s.accountId));
  } catch (e) {
    refused(e);
  }

  if (state === undefined) await checkGenesisAuthority(ctx, input, account?.kind, next, s.signer);
  const names = checkBlobs(signed, input.blobs);

  // Every check passed. Write only if a checkpoint can cover the statement: committed while the
  // log key is gone, it would be in the log but served to no one (issue 13, item 2).
  await ctx.log.checkSigner();
  const now = ctx.now();
  // A new service account, blobs, statement and leaf in one transaction, only if the head is
  // still the one folded above: a failed write leaves no account without its genesis.
  const record = await store.appendNextStatement({
    accountId: s.accountId,
    kind: s.kind,
    bytes: input.bytes,
    now,
    previousLeafIndex: stored.at(-1)?.leafIndex ?? null,
    blobs: input.blobs.map((bytes, i) => ({ name: names[i] as string, bytes })),
    newAccount: account === undefined ? { kind: 'service' } : undefined,
  });
  if (record === undefined) {
    throw new ApiError(409, 'E_CONFLICT', 'Another statement was appended to this account meanwhile: fetch the account and try again.');
  }
  folds.remember(s.accountId, stored.length + 1, record.leafIndex, next);
  ctx.logger.log('info', 'statement accepted', { account: s.accountId, kind: s.kind, seq: s.seq, leafIndex: record.leafIndex });
  return { leafIndex: record.leafIndex, checkpoint: await latestCheckpoint(ctx) };
}

/**
 * A lost race (issue 13, item 5): the statement links to a head the account had (its `prev` is
 * that statement's hash, or zero for a genesis, §6) but another statement has since taken its
 * place (`seq`). Its maker read the account before the winner was appended; the answer is 409,
 * refetch and retry (docs/DIRECTORY.md), not 422, which says the statement itself is invalid. The
 * same bytes again are a replay, and are refused by the fold (422) like any replay.
 */
async function lostRace(signed: SignedStatement, bytes: Uint8Array, stored: readonly StatementRecord[]): Promise<boolean> {
  const { seq, prev } = signed.statement;
  const taken = stored[seq];
  if (taken === undefined || sameBytes(taken.bytes, bytes)) return false;
  const before = stored[seq - 1];
  const expected = before === undefined ? genesisPrev() : await statementHash(decodeSignedStatement(before.bytes).statementBytes);
  return sameBytes(prev, expected);
}

/**
 * Who may begin an account (docs/DIRECTORY.md "API", POST /v1/statements): a service-root genesis
 * creates a new account, first come first served; a WebAuthn-root genesis needs the account
 * registered with that very credential and a session of it.
 */
async function checkGenesisAuthority(
  ctx: DirectoryContext,
  input: SubmitStatementInput,
  kind: 'user' | 'service' | undefined,
  genesis: AccountState,
  signerId: string,
): Promise<void> {
  const signer = genesis.roots.find((r) => r.id === signerId);
  if (signer === undefined) throw new Error('a verified genesis has its signer among its roots');
  if (kind === undefined || kind === 'service') {
    if (signer.type === 'service') return;
    if (kind === undefined) throw new ApiError(404, 'E_UNKNOWN_ACCOUNT', 'Register the WebAuthn credential before publishing its genesis.');
    throw new ApiError(403, 'E_FORBIDDEN', 'A service account begins with a service-root genesis.');
  }
  const session = await input.sessionAccount();
  if (session === undefined) throw new ApiError(401, 'E_UNAUTHORIZED', "A WebAuthn genesis needs the account's session.");
  if (session !== genesis.accountId) throw new ApiError(403, 'E_FORBIDDEN', 'The session belongs to another account.');
  if (signer.type !== 'webauthn') throw new ApiError(403, 'E_FORBIDDEN', 'A WebAuthn account begins with a genesis signed by its registered credential.');
  const credential = await ctx.store.getCredential(toB64u(signer.credentialId));
  if (credential === undefined || credential.accountId !== genesis.accountId || !sameBytes(cosePublicKeyToRaw(credential.publicKey), signer.publicKey)) {
    throw new ApiError(403, 'E_FORBIDDEN', 'The genesis must name the credential registered for this account.');
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0; // public keys: no timing concern
}

/** The blobs must be exactly the wraps a user-key epoch commits to (§4.6); other kinds take none. */
function checkBlobs(signed: SignedStatement, blobs: readonly Uint8Array[]): string[] {
  const s = signed.statement;
  const expected = new Set<string>();
  if (s.kind === 'user-key-epoch') {
    for (const w of s.wraps) expected.add(toB64u(w.wrapHash));
    if (s.previousKeyWrapHash !== undefined) expected.add(toB64u(s.previousKeyWrapHash));
  }
  const names = blobs.map(blobName);
  const distinct = new Set(names);
  if (distinct.size !== names.length || names.length !== expected.size || !names.every((n) => expected.has(n))) {
    throw new ApiError(422, 'E_DIRECTORY_PROOF', 'The blobs are not exactly the wraps the statement commits to.');
  }
  return names;
}
