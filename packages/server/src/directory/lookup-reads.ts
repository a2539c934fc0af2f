// The store reads of account lookups, made together at the end of each turn of the event loop
// (setImmediate) in ONE Store.getManyAccountStatements call. Why, what it gains, and why answers
// stay as fresh: docs/DIRECTORY.md, "The lookup path".
import type { AccountStatements, Store } from '../store/store.js';

/** Most reads in one store call (the Store contract allows 1000). */
const BATCH_MAX = 1000;

interface PendingRead {
  /** `undefined`: only the tree size. */
  readonly accountId: string | undefined;
  /** Settles `account` (with what it read) or `treeSize` (with the size), without a wrapper. */
  readonly resolve: (treeSize: number, account: Omit<AccountStatements, 'treeSize'> | undefined) => void;
  readonly reject: (error: unknown) => void;
}

export class LookupReads {
  readonly #store: Store;
  #pending: PendingRead[] = [];

  constructor(store: Store) {
    this.#store = store;
  }

  /**
   * The account's kind and statements with the log's size, or `undefined` for an unknown account.
   * (Not an async function: the pending read settles the caller's promise itself, one promise per
   * lookup.)
   */
  account(accountId: string): Promise<AccountStatements | undefined> {
    return new Promise((resolve, reject) => {
      this.#add({
        accountId,
        resolve: (treeSize, account) => resolve(account === undefined ? undefined : { kind: account.kind, statements: account.statements, treeSize }),
        reject,
      });
    });
  }

  /** The log's size. */
  treeSize(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#add({ accountId: undefined, resolve: (treeSize) => resolve(treeSize), reject });
    });
  }

  #add(read: PendingRead): void {
    if (this.#pending.length === 0) setImmediate(() => this.#flush());
    this.#pending.push(read);
  }

  #flush(): void {
    const pending = this.#pending;
    this.#pending = [];
    for (let at = 0; at < pending.length; at += BATCH_MAX) void this.#readBatch(pending.slice(at, at + BATCH_MAX));
  }

  async #readBatch(batch: readonly PendingRead[]): Promise<void> {
    try {
      const ids: string[] = [];
      for (const r of batch) if (r.accountId !== undefined) ids.push(r.accountId);
      const { treeSize, accounts } = await this.#store.getManyAccountStatements(ids);
      let next = 0;
      for (const r of batch) r.resolve(treeSize, r.accountId === undefined ? undefined : accounts[next++]);
    } catch (e) {
      if (batch.length === 1) {
        batch[0]!.reject(e);
        return;
      }
      // One read that cannot be made (an id the store refuses, say) must not fail the others:
      // each is read again on its own.
      for (const r of batch) void this.#readBatch([r]);
    }
  }
}
