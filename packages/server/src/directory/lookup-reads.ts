// The store reads of account lookups, shared by the lookups of one turn of the event loop.
//
// A lookup asks for its account (or, holding a cached answer, only the log's size); the reads
// asked for in one turn are made together at its end (setImmediate: the check phase, right after
// the turn's I/O callbacks) in ONE store call, Store.getManyAccountStatements: one SQL statement,
// so one read transaction for all of them.
//
// Why: on SQLite in WAL mode a read transaction costs more than the indexed row it reads (a
// read lock taken and released with fcntl on the -shm file and a size check of the mapped file:
// three system calls, about 2 µs of the 7 µs an uncached lookup spends in the store at a million
// accounts), and the answers of one batch are then written out together. Measured with
// `npm run bench directory`: docs/DIRECTORY.md, "Performance".
//
// Freshness is unchanged: the shared read starts after every request of the batch was received
// (they were read in this turn), so each answer is at least as new as the store was when its
// request arrived. The price is latency within the turn: a lookup's read waits for the other
// requests read in the same turn to be parsed and routed (microseconds each).
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
