// The session pool and its reconnection: each operation leases a session of its own (PKCS#11
// 2.40 §5.6: one operation at a time per session), callers beyond the pool wait in FIFO order,
// and a call that finds the session, login or module gone reconnects and runs once more.
import { SigilError } from '@sigil/sdk/errors';
import { closedError } from './checks.js';
import { ckrOf, meaningOf, toSigilError } from './ckr.js';
import { openConnection, type Connection, type TokenTarget } from './connection.js';
import { leaseReturned, leaseTaken, type LoadedModule } from './module-registry.js';

export interface Lease {
  readonly conn: Connection;
  readonly session: Buffer;
}

/** What the token workers must hear about connections (worker-protocol.ts, `generation`). */
export interface ConnectionListener {
  /** A new connection is live: its key handles are the current ones. */
  connected(conn: Connection): void;
  /** The live connection was retired: no handle of it may be used any more. */
  retired(conn: Connection): void;
}

interface Waiter {
  readonly resolve: (lease: Lease) => void;
  readonly reject: (e: unknown) => void;
}

export class SessionPool {
  readonly #module: LoadedModule;
  readonly #target: TokenTarget;
  readonly #listener: ConnectionListener;
  #conn: Connection | undefined;
  #generation = 0;
  /** Some connection of this pool reached the token: not finding it now is an outage. */
  #hadToken = false;
  #connecting: Promise<Connection> | undefined;
  readonly #waiters: Waiter[] = [];
  #closed = false;
  /** Sessions leased out right now, across connections; close() waits for them. */
  #busy = 0;
  #idle: (() => void) | undefined;

  constructor(module: LoadedModule, target: TokenTarget, listener: ConnectionListener) {
    this.#module = module;
    this.#target = target;
    this.#listener = listener;
  }

  /** The live connection, if there is one. */
  get live(): Connection | undefined {
    return this.#conn?.live === true ? this.#conn : undefined;
  }

  /**
   * Runs `fn` with a session of the pool. If the session, login or module turned out to be
   * gone, reconnects and runs it once more; a cached object handle that went stale is dropped
   * and looked up again, once.
   */
  async run<T>(doing: string, fn: (lease: Lease) => T | Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      // Fast path: a free session of a live connection, taken without a promise of its own
      // (this keeps the adapter within a few µs of a raw pkcs11js loop).
      const conn = this.#conn;
      const free = !this.#closed && conn?.live === true ? conn.free.pop() : undefined;
      const lease = free !== undefined && conn !== undefined ? this.#lease(conn, free) : await this.#acquire();
      try {
        const result = fn(lease);
        return result instanceof Promise ? await result : result;
      } catch (e) {
        // Sessions closed by close() under a call in flight: report the close, not the token.
        if (this.#closed && !SigilError.is(e)) throw closedError();
        let failure = e;
        let ckr = ckrOf(e);
        if (ckr !== undefined && meaningOf(ckr).reconnect !== true && lease.conn.live) {
          // A token whose files went away answers with what looks like a stale handle or a
          // general error (reconnect.ts): ask it whether it is still there before believing it.
          try {
            lease.conn.assertPresent();
          } catch (gone) {
            failure = gone;
            ckr = ckrOf(gone);
          }
        }
        const meaning = ckr === undefined ? undefined : meaningOf(ckr);
        if (meaning?.reconnect === true || meaning?.staleHandle === true) {
          if (meaning.reconnect === true) {
            this.#invalidate(lease.conn);
          } else {
            lease.conn.keys.clear();
            lease.conn.wrappingKeys.clear();
          }
          if (attempt === 0 && !this.#closed) continue;
        }
        throw toSigilError(failure, doing);
      } finally {
        this.#release(lease);
      }
    }
  }

  /** The live connection, connecting first if there is none (one attempt shared by all callers). */
  connected(): Promise<Connection> {
    if (this.#closed) return Promise.reject(closedError());
    if (this.#conn?.live === true) return Promise.resolve(this.#conn);
    this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  /**
   * Refuses new calls and queued ones (`E_BACKEND_CLOSED`), closes the idle sessions, and
   * resolves once every leased session has come back and been closed. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const w of this.#waiters.splice(0)) w.reject(closedError());
    const conn = this.#conn;
    this.#conn = undefined;
    if (conn !== undefined) this.#retire(conn);
    if (this.#busy > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
  }

  async #acquire(): Promise<Lease> {
    if (this.#closed) throw closedError();
    const conn = this.#conn?.live === true ? this.#conn : await this.connected();
    const session = conn.free.pop();
    if (session !== undefined) return this.#lease(conn, session);
    const lease = await new Promise<Lease>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    if (this.#closed || !lease.conn.live) {
      this.#release(lease);
      if (this.#closed) throw closedError();
      return this.#acquire();
    }
    return lease;
  }

  #lease(conn: Connection, session: Buffer): Lease {
    this.#busy++;
    leaseTaken(this.#module);
    return { conn, session };
  }

  /**
   * Gives a session back: to the next queued caller, to the pool, or, if its connection was
   * retired (or the pool closed) while the call held it, to C_CloseSession. Sessions in
   * use are closed only here, by their holder, never under a call running on another thread.
   */
  #release(lease: Lease): void {
    const { conn, session } = lease;
    if (conn.live && conn === this.#conn && !this.#closed) {
      const waiter = this.#waiters.shift();
      if (waiter !== undefined) {
        waiter.resolve(lease); // the lease changes hands; #busy is unchanged
        return;
      }
      conn.free.push(session);
    } else {
      this.#closeSession(session);
    }
    this.#busy--;
    leaseReturned(this.#module);
    if (this.#busy === 0) this.#idle?.();
  }

  async #connect(): Promise<Connection> {
    const conn = await openConnection(this.#module, this.#target, ++this.#generation, this.#hadToken);
    this.#hadToken = true;
    if (this.#closed) {
      this.#retire(conn);
      throw closedError();
    }
    this.#conn = conn;
    this.#listener.connected(conn);
    // Callers that queued while the previous connection died get sessions of this one.
    while (this.#waiters.length > 0 && conn.free.length > 0) this.#waiters.shift()!.resolve(this.#lease(conn, conn.free.pop()!));
    return conn;
  }

  #invalidate(conn: Connection): void {
    if (!conn.live) return;
    this.#retire(conn);
    if (this.#conn === conn) this.#conn = undefined;
    // Callers queued for a session of the dead connection must not wait for releases that
    // will never come: reconnect for them now, or hand them the reason it failed.
    if (this.#waiters.length > 0 && !this.#closed) {
      this.connected().catch((e: unknown) => {
        for (const w of this.#waiters.splice(0)) w.reject(e);
      });
    }
  }

  /** Marks a connection dead and closes its idle sessions; busy ones close on release. */
  #retire(conn: Connection): void {
    conn.live = false;
    if (conn === this.#conn) this.#listener.retired(conn);
    conn.keys.clear();
    conn.wrappingKeys.clear();
    for (const s of conn.free.splice(0)) this.#closeSession(s);
  }

  #closeSession(session: Buffer): void {
    try {
      this.#module.lib.C_CloseSession(session);
    } catch {
      // Already invalid (module finalized, token gone): nothing to release.
    }
  }
}
