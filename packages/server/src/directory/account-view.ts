// GET /v1/accounts/:id: the account's statements with inclusion proofs, all against one
// checkpoint, so a client verifies the whole answer against one signed tree head.
//
// The hot path of the directory: its speed devices (the answer cache, the shared reads, the tree
// mirror, ASCII JSON, pooled buffers) are explained once, in docs/DIRECTORY.md, "The lookup path".
// Lookups serve the stored bytes and their proofs; they do not refold the account (clients verify
// every statement themselves).
import { SigilError } from '@sigil/sdk/errors';
import { ApiError } from '../http/errors.js';
import { storageFaultOf } from '../store/storage-faults.js';
import type { CheckpointRecord } from '../store/store.js';
import { asciiJsonString } from './ascii-json.js';
import { toB64u } from './b64.js';
import type { DirectoryContext } from './context.js';
import type { AccountViewBody, SeenCheckpoint } from './view-types.js';

export type { AccountViewBody, SeenCheckpoint };

/**
 * The log's latest checkpoint, signing one if the tree grew (TransparencyLog.checkpoint). The
 * store keeps one checkpoint per size, so while the tree size is unchanged the one seen last is
 * still the latest: one tree-size read instead of two reads per lookup.
 */
export async function latestCheckpoint(ctx: DirectoryContext): Promise<CheckpointRecord> {
  return (await seenCheckpoint(ctx, false)).record;
}

/**
 * `latestCheckpoint` for reads: while no new checkpoint can be signed or recorded (SigilError
 * `E_HSM_UNAVAILABLE`, a storage fault), the latest checkpoint stored, which stays true; reads go on during a token outage, and the
 * statements appended since wait for the key (docs/DIRECTORY.md, "Failure modes").
 */
export async function servedCheckpoint(ctx: DirectoryContext): Promise<CheckpointRecord> {
  return (await seenCheckpoint(ctx, true)).record;
}

async function seenCheckpoint(ctx: DirectoryContext, staleWhileKeyDown: boolean): Promise<SeenCheckpoint> {
  const seen = ctx.caches.checkpoint.current;
  if (seen !== undefined && seen.record.size === (await ctx.store.treeSize())) return seen;
  let record: CheckpointRecord;
  try {
    record = await ctx.log.checkpoint();
  } catch (e) {
    const cannotSign = SigilError.is(e, 'E_HSM_UNAVAILABLE') || storageFaultOf(e) !== undefined;
    const stored = staleWhileKeyDown && cannotSign ? await ctx.store.latestCheckpoint() : undefined;
    if (stored === undefined) throw e;
    if (seen !== undefined && seen.record.size === stored.size) return seen;
    record = stored;
  }
  const latest = { record, noteJson: asciiJsonString(record.note) };
  ctx.caches.checkpoint.current = latest;
  return latest;
}

/**
 * The body of GET /v1/accounts/:id (schemas.ts, AccountResponse), as JSON bytes: every statement
 * below the latest checkpoint's size, in log order, each with its audit path against that
 * checkpoint. Written by hand, field for field of AccountResponse (a test parses it with the
 * schema), as ASCII bytes: docs/DIRECTORY.md, "The lookup path".
 * @throws ApiError 404 `E_UNKNOWN_ACCOUNT`.
 */
export async function accountViewBody(ctx: DirectoryContext, accountId: string): Promise<AccountViewBody> {
  // An answer made for the log's current size is current: the latest checkpoint has that size.
  const cached = ctx.caches.views.get(accountId);
  if (cached !== undefined && cached.size === (await ctx.lookupReads.treeSize())) return cached.body;
  let account = await ctx.lookupReads.account(accountId);
  if (account === undefined) throw new ApiError(404, 'E_UNKNOWN_ACCOUNT', 'No account has this id.');
  let latest = ctx.caches.checkpoint.current;
  if (latest === undefined || latest.record.size !== account.treeSize) {
    // The tree grew since the checkpoint seen last: sign or read the latest, then read the account
    // again, after it: every leaf below the checkpoint's size was committed before it was signed,
    // so that read lists all of the account's statements it covers (newer ones wait for the next
    // checkpoint, which the next lookup signs).
    latest = await seenCheckpoint(ctx, true);
    if (latest.record.size !== account.treeSize) account = await ctx.store.getAccountStatements(accountId);
    if (account === undefined) throw new ApiError(404, 'E_UNKNOWN_ACCOUNT', 'No account has this id.');
  }
  const size = latest.record.size;
  const visible = account.statements.filter((s) => s.leafIndex < size);
  const leaves = visible.map((s) => s.leafIndex);
  const paths = ctx.log.inclusionPathsInMemory(leaves, size) ?? (await ctx.log.inclusionPathsAt(leaves, size));
  let statements = '';
  for (let i = 0; i < visible.length; i++) {
    const s = visible[i]!;
    // statementB64 is base64url as the store keeps it (JSON-safe, as toB64u's output).
    statements += `${i === 0 ? '' : ','}{"leafIndex":${s.leafIndex},"statementB64":"${s.statementB64}","inclusionB64":"${toB64u(paths[i]!)}"}`;
  }
  const json = `{"accountId":${asciiJsonString(accountId)},"kind":${asciiJsonString(account.kind)},"checkpoint":${latest.noteJson},"statements":[${statements}]}`;
  // Every character is ASCII, so latin1 is its UTF-8. The cached copy is its own: a small Buffer
  // is a slice of Node's shared pool, which a cached slice would keep alive whole.
  const body: Uint8Array<ArrayBuffer> = Buffer.from(json, 'latin1');
  ctx.caches.views.offer(accountId, () => ({ size, body: new Uint8Array(body) as AccountViewBody }));
  return body as AccountViewBody;
}
