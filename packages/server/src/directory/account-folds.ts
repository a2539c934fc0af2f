// Folded account states (docs/STATEMENTS.md §7), cached in memory by account id and validated
// against the store on every use, so the cache stays correct when several server processes
// append to one store: statements are immutable once logged, so a cached fold of the account's
// first k statements is reused only if the store still lists the same leaf as the k-th, and the
// statements after it are folded on top. A miss refolds from the genesis.
import { applyStatement, type AccountState, type VerifyStatementOptions } from '@sigil/sdk/identity';
import type { StatementRecord, Store } from '../store/store.js';

interface Entry {
  readonly count: number;
  readonly lastLeaf: number;
  readonly state: AccountState;
}

/** Every statement of the account, in log order (the store pages at 1000). */
export async function listAllStatements(store: Store, accountId: string): Promise<StatementRecord[]> {
  const out: StatementRecord[] = [];
  for (;;) {
    const page = await store.listStatements(accountId, { afterIndex: out.at(-1)?.leafIndex, limit: 1000 });
    out.push(...page);
    if (page.length < 1000) return out;
  }
}

export class AccountFolds {
  readonly #entries = new Map<string, Entry>();
  readonly #max: number;
  readonly #policy: VerifyStatementOptions;

  constructor(maxEntries: number, policy: Omit<VerifyStatementOptions, 'accountId'>) {
    this.#max = maxEntries;
    this.#policy = policy;
  }

  /** The verification options for `accountId`: the server's WebAuthn policy, UV required. */
  options(accountId: string): VerifyStatementOptions {
    return { ...this.#policy, accountId };
  }

  /**
   * The state after the account's stored statements (`undefined` if there are none).
   * @throws SigilError if a stored statement no longer verifies (a damaged store or a changed policy).
   */
  async stateOf(accountId: string, stored: readonly StatementRecord[]): Promise<AccountState | undefined> {
    if (stored.length === 0) return undefined;
    const cached = this.#entries.get(accountId);
    let state: AccountState | undefined;
    let from = 0;
    if (cached !== undefined && cached.count <= stored.length && stored[cached.count - 1]?.leafIndex === cached.lastLeaf) {
      state = cached.state;
      from = cached.count;
    }
    const options = this.options(accountId);
    for (let i = from; i < stored.length; i++) state = await applyStatement(state, (stored[i] as StatementRecord).bytes, options);
    this.remember(accountId, stored.length, (stored.at(-1) as StatementRecord).leafIndex, state as AccountState);
    return state;
  }

  /** Records the state after `count` statements whose last is leaf `lastLeaf`. */
  remember(accountId: string, count: number, lastLeaf: number, state: AccountState): void {
    if (this.#max === 0) return;
    this.#entries.delete(accountId); // re-insert: Map order is the LRU order
    this.#entries.set(accountId, { count, lastLeaf, state });
    if (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value as string);
  }
}
