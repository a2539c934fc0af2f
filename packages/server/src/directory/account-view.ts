// GET /v1/accounts/:id: the account's statements with inclusion proofs, all against one
// checkpoint, so a client verifies the whole answer against one signed tree head.
import { ApiError } from '../http/errors.js';
import { foldRange, inclusionPlan } from '../log/tree-math.js';
import type { AccountKind, Store } from '../store/store.js';
import { listAllStatements } from './account-folds.js';
import type { DirectoryContext } from './context.js';

export interface AccountView {
  readonly accountId: string;
  readonly kind: AccountKind;
  readonly checkpoint: string;
  readonly statements: readonly { readonly leafIndex: number; readonly bytes: Uint8Array; readonly inclusion: Uint8Array[] }[];
}

/**
 * Audit paths (RFC 9162 §2.1.3.1) of several leaves in the tree of `size` leaves, read from the
 * store in one `getNodeHashes` call (one consistent read, one round trip).
 */
export async function inclusionProofs(store: Store, leafIndices: readonly number[], size: number): Promise<Uint8Array[][]> {
  const plans = leafIndices.map((i) => inclusionPlan(i, size));
  const hashes = await store.getNodeHashes(plans.flatMap((p) => p.flat()));
  let at = 0;
  return plans.map((plan) =>
    plan.map((range) => {
      const h = foldRange(hashes.slice(at, at + range.length));
      at += range.length;
      return h;
    }),
  );
}

/** @throws ApiError 404 `E_UNKNOWN_ACCOUNT`. */
export async function accountView(ctx: DirectoryContext, accountId: string): Promise<AccountView> {
  const account = await ctx.store.getAccount(accountId);
  if (account === undefined) throw new ApiError(404, 'E_UNKNOWN_ACCOUNT', 'No account has this id.');
  const stored = await listAllStatements(ctx.store, accountId);
  // Read after the statements: the checkpoint covers every one of them unless the log signs at a
  // minimum interval, in which case the newest are left out until the next checkpoint.
  const checkpoint = await ctx.log.checkpoint();
  const visible = stored.filter((s) => s.leafIndex < checkpoint.size);
  const proofs = await inclusionProofs(ctx.store, visible.map((s) => s.leafIndex), checkpoint.size);
  return {
    accountId,
    kind: account.kind,
    checkpoint: checkpoint.note,
    statements: visible.map((s, i) => ({ leafIndex: s.leafIndex, bytes: s.bytes, inclusion: proofs[i] as Uint8Array[] })),
  };
}
