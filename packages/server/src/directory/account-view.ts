// GET /v1/accounts/:id: the account's statements with inclusion proofs, all against one
// checkpoint, so a client verifies the whole answer against one signed tree head.
//
// Speed: proofs come from the log's in-memory copy of the tree's node hashes (nodes never change
// once their leaves exist, whichever process appended them: log/tree-mirror.ts), so a lookup is
// one read of the account's statements plus about 2 log2(n) memory reads. Account kinds never
// change either. The statements and the checkpoint are read per request (or the answer made
// for the same checkpoint size is served again), so an answer is never older than the store.
// Lookups serve the stored bytes and their proofs; they do not refold the account (clients
// verify every statement themselves).
import { ApiError } from '../http/errors.js';
import type { AccountKind, CheckpointRecord } from '../store/store.js';
import { listAllStatements } from './account-folds.js';
import { toB64u } from './b64.js';
import type { DirectoryContext } from './context.js';

export interface AccountView {
  readonly accountId: string;
  readonly kind: AccountKind;
  readonly checkpoint: string;
  readonly checkpointSize: number;
  readonly statements: readonly { readonly leafIndex: number; readonly bytes: Uint8Array; readonly inclusion: Uint8Array[] }[];
}

/** A bounded map that forgets its oldest entries first. */
export class BoundedCache<V> {
  readonly #map = new Map<string, V>();
  constructor(readonly max: number) {}
  get(key: string): V | undefined {
    return this.#map.get(key);
  }
  set(key: string, value: V): void {
    if (this.max === 0) return;
    this.#map.set(key, value);
    if (this.#map.size > this.max) this.#map.delete(this.#map.keys().next().value as string);
  }
}

/**
 * The account's statements with proofs against `latest` (default: the latest checkpoint, read now).
 * @throws ApiError 404 `E_UNKNOWN_ACCOUNT`.
 */
export async function accountView(ctx: DirectoryContext, accountId: string, latest?: CheckpointRecord): Promise<AccountView> {
  const kind = await accountKind(ctx, accountId);
  // The checkpoint first, then the statements: every leaf below the checkpoint's size was
  // committed before it was signed, so the listing has all of the account's statements the
  // checkpoint covers (newer ones wait for the next checkpoint, which lookups sign as needed).
  const checkpoint = latest ?? (await latestCheckpoint(ctx));
  const visible = (await listAllStatements(ctx.store, accountId)).filter((s) => s.leafIndex < checkpoint.size);
  const proofs = await ctx.log.inclusionProofsAt(visible.map((s) => s.leafIndex), checkpoint.size);
  return {
    accountId,
    kind,
    checkpoint: checkpoint.note,
    checkpointSize: checkpoint.size,
    statements: visible.map((s, i) => ({ leafIndex: s.leafIndex, bytes: s.bytes, inclusion: proofs[i] as Uint8Array[] })),
  };
}

/**
 * The log's latest checkpoint, signing one if the tree grew (TransparencyLog.checkpoint). The
 * store keeps one checkpoint per size, so while the tree size is unchanged the one seen last is
 * still the latest: one tree-size read instead of two reads per lookup.
 */
export async function latestCheckpoint(ctx: DirectoryContext): Promise<CheckpointRecord> {
  const seen = ctx.caches.checkpoint.current;
  if (seen !== undefined && seen.size === (await ctx.store.treeSize())) return seen;
  const latest = await ctx.log.checkpoint();
  ctx.caches.checkpoint.current = latest;
  return latest;
}

async function accountKind(ctx: DirectoryContext, accountId: string): Promise<AccountKind> {
  let kind = ctx.caches.accountKinds.get(accountId);
  if (kind === undefined) {
    const account = await ctx.store.getAccount(accountId);
    if (account === undefined) throw new ApiError(404, 'E_UNKNOWN_ACCOUNT', 'No account has this id.');
    kind = account.kind;
    ctx.caches.accountKinds.set(accountId, kind);
  }
  return kind;
}

/**
 * The JSON of GET /v1/accounts/:id. The answer for a given checkpoint size never changes (the
 * statements below it are fixed, and they are all listed: see accountView), so it is kept per
 * account with the size it was made for and served again while the latest checkpoint has that
 * size; one store read (the latest checkpoint) per hit.
 */
export async function accountViewJson(ctx: DirectoryContext, accountId: string): Promise<string> {
  const latest = await latestCheckpoint(ctx);
  const cached = ctx.caches.views.get(accountId);
  if (cached !== undefined && cached.size === latest.size) return cached.json;
  const view = await accountView(ctx, accountId, latest);
  const json = JSON.stringify({
    accountId: view.accountId,
    kind: view.kind,
    checkpoint: view.checkpoint,
    statements: view.statements.map((s) => ({ leafIndex: s.leafIndex, statementB64: toB64u(s.bytes), inclusionB64: s.inclusion.map(toB64u) })),
  });
  ctx.caches.views.set(accountId, { size: view.checkpointSize, json });
  return json;
}
