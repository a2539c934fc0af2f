// GET /v1/accounts/:id: the account's statements with inclusion proofs, all against one
// checkpoint, so a client verifies the whole answer against one signed tree head.
//
// Speed: a proof is a list of range hashes, and the hash of a leaf range [start, end) never
// changes once its leaves exist (the log is append-only), whatever the tree size and whichever
// process appended them. So range hashes are cached in memory (bounded): the ranges near the root
// are shared by every proof, and the two or three statements of one account share all but the
// lowest ones. Account kinds never change either. Nothing else is cached: the statements and
// the checkpoint are read per request, so an answer is never older than the store.
import { ApiError } from '../http/errors.js';
import { foldRange, rangeKeys, type NodeKey } from '../log/tree-math.js';
import type { AccountKind, CheckpointRecord, Store } from '../store/store.js';
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
 * Only ranges of at least this many leaves are cached: they are the upper part of the tree,
 * shared by many proofs (2n/64 of them at most), while the small ranges near the leaves are
 * rarely asked for twice in a large log and would only churn the cache (and the garbage
 * collector, which showed as 50 ms pauses at a million accounts). Each costs one node read.
 */
const MIN_CACHED_RANGE = 64;

/**
 * The leaf ranges [start, end) whose hashes make the audit path of leaf `m` in the tree of `n`
 * leaves, bottom-up: RFC 9162 §2.1.3.1 PATH(m, D[0:n]), the same walk as tree-math.ts's
 * inclusionPlan but without the node keys, which only the ranges missing from the cache need.
 */
function inclusionRanges(m: number, n: number): [number, number][] {
  const out: [number, number][] = [];
  let start = 0;
  let end = n;
  while (end - start > 1) {
    let k = 1;
    while (k * 2 < end - start) k *= 2; // largest power of two < end - start
    if (m - start < k) {
      out.push([start + k, end]);
      end = start + k;
    } else {
      out.push([start, start + k]);
      start += k;
    }
  }
  return out.reverse();
}

/**
 * Audit paths (RFC 9162 §2.1.3.1) of several leaves in the tree of `size` leaves. Range hashes
 * not in `cache` are read from the store in one `getNodeHashes` call (one consistent read).
 */
export async function inclusionProofs(
  store: Store,
  leafIndices: readonly number[],
  size: number,
  cache: BoundedCache<Uint8Array> = new BoundedCache(0),
): Promise<Uint8Array[][]> {
  const paths = leafIndices.map((i) => inclusionRanges(i, size).map(([a, b]) => `${a}:${b}`));
  const cacheable = (id: string) => {
    const [a, b] = id.split(':').map(Number) as [number, number];
    return b - a >= MIN_CACHED_RANGE;
  };
  // Every hash this call uses is held here: the shared cache may evict entries while this call
  // awaits the store (other requests fill it meanwhile).
  const hashes = new Map<string, Uint8Array | undefined>();
  const missing: { id: string; keys: NodeKey[] }[] = [];
  for (const path of paths) {
    for (const id of path) {
      if (hashes.has(id)) continue;
      const cached = cacheable(id) ? cache.get(id) : undefined;
      hashes.set(id, cached);
      if (cached === undefined) {
        const [a, b] = id.split(':').map(Number) as [number, number];
        missing.push({ id, keys: rangeKeys(a, b) });
      }
    }
  }
  if (missing.length > 0) {
    const nodes = await store.getNodeHashes(missing.flatMap((r) => r.keys));
    let at = 0;
    for (const { id, keys } of missing) {
      const h = foldRange(nodes.slice(at, at + keys.length));
      at += keys.length;
      hashes.set(id, h);
      if (cacheable(id)) cache.set(id, h);
    }
  }
  return paths.map((path) => path.map((id) => hashes.get(id) as Uint8Array));
}

/** @throws ApiError 404 `E_UNKNOWN_ACCOUNT`. */
export async function accountView(ctx: DirectoryContext, accountId: string): Promise<AccountView> {
  const kind = await accountKind(ctx, accountId);
  // The checkpoint first, then the statements: every leaf below the checkpoint's size was
  // committed before it was signed, so the listing has all of the account's statements the
  // checkpoint covers (newer ones wait for the next checkpoint, which lookups sign as needed).
  const checkpoint = await latestCheckpoint(ctx);
  const visible = (await listAllStatements(ctx.store, accountId)).filter((s) => s.leafIndex < checkpoint.size);
  const proofs = await inclusionProofs(ctx.store, visible.map((s) => s.leafIndex), checkpoint.size, ctx.caches.rangeHashes);
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
  const view = await accountView(ctx, accountId);
  const json = JSON.stringify({
    accountId: view.accountId,
    kind: view.kind,
    checkpoint: view.checkpoint,
    statements: view.statements.map((s) => ({ leafIndex: s.leafIndex, statementB64: toB64u(s.bytes), inclusionB64: s.inclusion.map(toB64u) })),
  });
  ctx.caches.views.set(accountId, { size: view.checkpointSize, json });
  return json;
}
