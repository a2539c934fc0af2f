// What a directory client remembers between lookups (docs/TRANSPARENCY.md "What a client checks,
// in order"): the last checkpoint it verified, and per account the highest statement
// it verified. Both only ever move forward; an answer behind them is a directory rolling back.
import { fromBase64Url, toBase64Url } from '../internal/bytes.js';

/** The highest verified statement of one account: its `seq` and `statementHash`. */
export interface AccountHead {
  readonly seq: number;
  /** `statementHash` of the statement with sequence number `seq` (32 bytes). */
  readonly head: Uint8Array;
}

/**
 * Where a `DirectoryClient` keeps its memory. Small and async so it can live in memory, a file
 * (`FileClientStateStore` from `@sigil/sdk/node`), IndexedDB or a database.
 *
 * Contract: `load*` returns what the last `save*` for that key stored (or `undefined`); saves are
 * durable when they resolve if the store claims durability. The client re-verifies what it loads
 * (the checkpoint against the pinned log key), so a store is trusted for availability and
 * freshness, not for authenticity.
 */
export interface ClientStateStore {
  /** The signed note of the last checkpoint verified. */
  loadCheckpoint(): Promise<string | undefined>;
  saveCheckpoint(note: string): Promise<void>;
  loadAccountHead(accountId: string): Promise<AccountHead | undefined>;
  saveAccountHead(accountId: string, head: AccountHead): Promise<void>;
}

/** The JSON form of a client state (what `FileClientStateStore` writes). */
export interface ClientStateJSON {
  readonly version: 1;
  readonly checkpoint?: string | undefined;
  readonly accounts: Readonly<Record<string, { readonly seq: number; readonly headB64: string }>>;
}

/**
 * A client state in memory, for tests and short-lived processes: a new process starts with no
 * memory, so it trusts its first checkpoint (the log key is still pinned).
 *
 * @example
 * ```ts
 * const directory = new DirectoryClient({ url, logPublicKey, state: new MemoryClientStateStore() });
 * ```
 */
export class MemoryClientStateStore implements ClientStateStore {
  #checkpoint: string | undefined;
  readonly #heads = new Map<string, AccountHead>();

  async loadCheckpoint(): Promise<string | undefined> {
    return this.#checkpoint;
  }
  async saveCheckpoint(note: string): Promise<void> {
    if (typeof note !== 'string') throw new TypeError('"note" expected a string');
    this.#checkpoint = note;
  }
  async loadAccountHead(accountId: string): Promise<AccountHead | undefined> {
    const h = this.#heads.get(accountId);
    return h === undefined ? undefined : { seq: h.seq, head: new Uint8Array(h.head) };
  }
  async saveAccountHead(accountId: string, head: AccountHead): Promise<void> {
    checkHead(head);
    this.#heads.set(accountId, { seq: head.seq, head: new Uint8Array(head.head) });
  }
}

/** @internal Validates a head before it is stored. */
export function checkHead(head: AccountHead): void {
  if (typeof head !== 'object' || head === null) throw new TypeError('"head" expected { seq, head }');
  if (!Number.isInteger(head.seq) || head.seq < 0 || head.seq > 0xffffffff) throw new RangeError('"head.seq" expected an integer in 0..2^32-1');
  if (!(head.head instanceof Uint8Array) || head.head.length !== 32) {
    throw new RangeError(`"head.head" expected Uint8Array of length 32, got length=${(head.head as Uint8Array | undefined)?.length}`);
  }
}

/** @internal Encodes a state for storage as JSON. */
export function stateToJSON(checkpoint: string | undefined, heads: ReadonlyMap<string, AccountHead>): ClientStateJSON {
  const accounts: Record<string, { seq: number; headB64: string }> = {};
  for (const [id, h] of [...heads].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) accounts[id] = { seq: h.seq, headB64: toBase64Url(h.head) };
  return checkpoint === undefined ? { version: 1, accounts } : { version: 1, checkpoint, accounts };
}

/**
 * @internal Decodes a stored state; `undefined` if it is not one (the caller says what to do: a
 * corrupt state file is an error, never silently an empty memory).
 */
export function stateFromJSON(value: unknown): { checkpoint: string | undefined; heads: Map<string, AccountHead> } | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Partial<Record<keyof ClientStateJSON, unknown>>;
  if (v.version !== 1) return undefined;
  if (v.checkpoint !== undefined && typeof v.checkpoint !== 'string') return undefined;
  if (typeof v.accounts !== 'object' || v.accounts === null || Array.isArray(v.accounts)) return undefined;
  const heads = new Map<string, AccountHead>();
  for (const [id, h] of Object.entries(v.accounts as Record<string, unknown>)) {
    if (typeof h !== 'object' || h === null) return undefined;
    const { seq, headB64 } = h as { seq?: unknown; headB64?: unknown };
    const head = typeof headB64 === 'string' ? fromBase64Url(headB64) : undefined;
    if (typeof seq !== 'number' || !Number.isInteger(seq) || seq < 0 || head === undefined || head.length !== 32) return undefined;
    heads.set(id, { seq, head });
  }
  return { checkpoint: v.checkpoint as string | undefined, heads };
}
