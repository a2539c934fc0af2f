// The embedded Store: one SQLite file through better-sqlite3, in WAL mode.
//
// Why these settings:
// - WAL: readers do not block the writer, and a killed process leaves a WAL that the next open
//   replays or discards at a transaction boundary, never half a transaction.
// - synchronous=FULL: every committed append is on disk before the call returns. A log that lost
//   leaves it had already covered by a signed checkpoint would then sign a different tree of the
//   same size, which clients rightly report as a fork (tlog-checkpoint, "Signatures").
// - BEGIN IMMEDIATE for appends: the write lock is taken before the tree size is read, so two
//   processes on one file cannot assign the same leaf index.
import Database from 'better-sqlite3';
import { SigilError } from '@sigil/sdk/errors';
import { HASH_SIZE, appendNodes, appendSiblingKeys } from '@sigil/sdk/transparency';
import { syncTreeHashes } from '../tree-hashes.js';
import { checkedStore } from './checked-store.js';
import { appendPacked, unpack } from './packed-statements.js';
import { SQLITE_MIGRATIONS, type SqliteMigration } from './sqlite-migrations.js';
import {
  DEFAULT_STORE_LIMITS,
  type AccountRecord,
  type AccountStatements,
  type BlobRecord,
  type ChallengeRecord,
  type CheckpointRecord,
  type CredentialRecord,
  type ListStatementsOptions,
  type ListMessagesOptions,
  type MailboxMessage,
  type MailboxQuota,
  type ManyAccountStatements,
  type NewStatement,
  type NextStatement,
  type NodeKey,
  type SessionRecord,
  type StatementRecord,
  type Store,
  type StoreLimits,
} from './store.js';
import { sessionTokenHash } from './validate.js';

export interface SqliteStoreOptions {
  readonly limits?: Partial<StoreLimits> | undefined;
  /**
   * UNSAFE for a live directory: `synchronous=OFF`, so the last commits before a power loss (not
   * a process crash) may vanish while the log had already signed over them. For bulk loads and
   * benchmarks only; the default, FULL, is what the crash test and the contract assume.
   */
  readonly unsafeSkipFsync?: boolean | undefined;
}

type Row = Record<string, unknown>;

/**
 * Ids per statement of getManyAccountStatements: a batch is padded with repeats of one of its
 * ids (which IN ignores) up to the next of these sizes, so four prepared statements serve all.
 */
const MANY_SIZES = [8, 16, 32, 64] as const;

function buf(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function bytesOf(value: unknown): Uint8Array {
  return new Uint8Array(value as Buffer); // a copy the caller owns
}

function statementOf(r: Row): StatementRecord {
  return {
    leafIndex: r.leaf_index as number,
    accountId: r.account_id as string,
    kind: r.kind as string,
    bytes: bytesOf(r.bytes),
    createdAt: r.created_at as number,
  };
}

function messageOf(r: Row): MailboxMessage {
  return {
    id: r.id as number,
    senderId: r.sender_id as string,
    recipientId: r.recipient_id as string,
    bytes: bytesOf(r.bytes),
    createdAt: r.created_at as number,
  };
}

function credentialOf(r: Row): CredentialRecord {
  return {
    credentialId: r.credential_id as string,
    accountId: r.account_id as string,
    publicKey: bytesOf(r.public_key),
    counter: r.counter as number,
    transports: JSON.parse(r.transports as string) as string[],
    createdAt: r.created_at as number,
  };
}

function unknownAccount(id: string): never {
  throw new SigilError('E_UNKNOWN_ACCOUNT', 'No account has this id.', { detail: id.slice(0, 64) });
}

/**
 * Opens (creating and migrating if needed) a SQLite store in one file, its arguments checked
 * (`checkedStore`).
 *
 * @example
 * ```ts
 * const store = await openSqliteStore('./sigil.db');
 * const { leafIndex } = await store.appendStatement({ accountId, kind, bytes, now: Date.now() });
 * ```
 * @throws SigilError `E_UNSUPPORTED_VERSION` if the file has a newer schema than this code.
 */
export async function openSqliteStore(file: string, options: SqliteStoreOptions = {}): Promise<Store> {
  return checkedStore(new SqliteStore(file, options));
}

/**
 * The SQLite store itself, which checks no arguments: it assumes what `checkedStore` establishes
 * (checked-store.ts). `openSqliteStore` returns it wrapped, and createDirectoryApp wraps any store
 * it is given; use `new SqliteStore` directly only behind one of them.
 */
export class SqliteStore implements Store {
  readonly limits: StoreLimits;
  readonly #db: Database.Database;
  readonly #q: Record<string, Database.Statement>;
  readonly #append: (s: NewStatement, bytes: Uint8Array) => number;
  readonly #appendNext: (s: NextStatement, bytes: Uint8Array) => number | undefined;
  readonly #readNodes: (keys: readonly NodeKey[]) => Uint8Array[];
  /** Rows [treeSize, id, kind, packed statements] of getManyAccountStatements, in one snapshot. */
  readonly #readMany: (ids: readonly string[]) => unknown[][];
  readonly #postWithin: (m: Omit<MailboxMessage, 'id'>, quota: MailboxQuota) => Row | undefined;
  readonly #listWithin: (recipientId: string, after: number, limit: number, maxBytes: number) => Row[];
  readonly #deleteUnpublished: (createdBefore: number) => number;

  constructor(file: string, options: SqliteStoreOptions = {}) {
    this.limits = Object.freeze({ ...DEFAULT_STORE_LIMITS, ...options.limits });
    const db = new Database(file, { timeout: BUSY_TIMEOUT_MS });
    this.#db = db;
    try {
      // Two processes starting at once on a fresh file: switching to WAL and the first migration
      // each need a lock the other may hold, and SQLite answers some of these waits SQLITE_BUSY at
      // once instead of calling the busy handler (a lock upgrade it treats as a deadlock). The
      // steps are idempotent, so opening retries them until the lock is free (issue 13, item 7).
      retryWhileBusy(() => {
        db.pragma('journal_mode = WAL');
        db.pragma(options.unsafeSkipFsync === true ? 'synchronous = OFF' : 'synchronous = FULL');
        db.pragma('foreign_keys = ON');
        // 64 MiB of page cache (the default is 2 MiB): keeps the upper levels of the node index hot,
        // so proofs on a large log stay a few cached B-tree lookups.
        db.pragma('cache_size = -65536');
        // Reads through a memory map of the file (up to SQLite's build limit) instead of a read()
        // per page: lookups touch a few random pages each, and a million accounts make a file of
        // over a gigabyte (measured: lookups at a million accounts 1.15x faster). The known cost:
        // an I/O error on a mapped page ends the process instead of failing the call
        // (sqlite.org/mmap.html); the log's append-only data then survives in the file and the WAL.
        db.pragma('mmap_size = 17179869184');
        migrate(db);
      });
    } catch (e) {
      db.close();
      throw e;
    }
    const q = (sql: string) => db.prepare(sql);
    this.#q = {
      insertAccount: q('INSERT INTO accounts (id, kind, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING'),
      getAccount: q('SELECT id, kind, created_at FROM accounts WHERE id = ?'),
      getPacked: q('SELECT statements FROM accounts WHERE id = ?').pluck(),
      setPacked: q('UPDATE accounts SET statements = ? WHERE id = ?'),
      // The tree size in the same statement, so in the same read transaction (a snapshot).
      getAccountStatements: q(
        'SELECT kind, statements, (SELECT coalesce(max(idx) + 1, 0) FROM log_nodes WHERE level = 0) FROM accounts WHERE id = ?',
      ).raw(),
      treeSize: q('SELECT coalesce(max(idx) + 1, 0) AS n FROM log_nodes WHERE level = 0'),
      insertStatement: q('INSERT INTO statements (leaf_index, account_id, kind, bytes, created_at) VALUES (?, ?, ?, ?, ?)'),
      getStatement: q('SELECT * FROM statements WHERE leaf_index = ?'),
      lastLeafOf: q('SELECT max(leaf_index) AS last FROM statements WHERE account_id = ?'),
      // Two forms, so that the common one (all kinds) has no filter for SQLite to evaluate per row.
      listStatements: q('SELECT leaf_index, kind, bytes, created_at FROM statements WHERE account_id = ? AND leaf_index > ? ORDER BY leaf_index LIMIT ?').raw(),
      listStatementsOfKind: q(
        'SELECT leaf_index, kind, bytes, created_at FROM statements WHERE account_id = ? AND leaf_index > ? AND kind = ? ORDER BY leaf_index LIMIT ?',
      ).raw(),
      getNode: q('SELECT hash FROM log_nodes WHERE level = ? AND idx = ?'),
      getNodeLevel: q('SELECT hash FROM log_nodes WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx').pluck(),
      insertNode: q('INSERT INTO log_nodes (level, idx, hash) VALUES (?, ?, ?)'),
      insertCheckpoint: q('INSERT INTO checkpoints (size, note, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING'),
      getCheckpoint: q('SELECT * FROM checkpoints WHERE size = ?'),
      latestCheckpoint: q('SELECT * FROM checkpoints ORDER BY size DESC LIMIT 1'),
      putBlob: q(
        'INSERT INTO blobs (owner_id, name, bytes, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (owner_id, name) DO UPDATE SET bytes = excluded.bytes, updated_at = excluded.updated_at',
      ),
      getBlob: q('SELECT * FROM blobs WHERE owner_id = ? AND name = ?'),
      deleteBlob: q('DELETE FROM blobs WHERE owner_id = ? AND name = ?'),
      // RETURNING statements are read with .all(), never .get(): .get() stops at the first row
      // and resets the statement, and the reset's error (SQLITE_FULL when the autocommit fails)
      // is dropped, so a write that was rolled back returned its row as if stored (issue 13;
      // test/sqlite-returning.test.ts). .all() steps to the end, where the commit error surfaces.
      postMessage: q('INSERT INTO mailbox (sender_id, recipient_id, bytes, created_at) VALUES (?, ?, ?, ?) RETURNING *'),
      listMessages: q('SELECT * FROM mailbox WHERE recipient_id = ? AND id > ? ORDER BY id LIMIT ?'),
      // length() of a BLOB column reads the size from the record header, not the blob itself.
      messageSizes: q('SELECT length(bytes) FROM mailbox WHERE recipient_id = ? AND id > ? ORDER BY id LIMIT ?').pluck(),
      mailboxUsage: q('SELECT count(*) AS n, coalesce(sum(length(bytes)), 0) AS bytes FROM mailbox WHERE recipient_id = ?'),
      deleteMessage: q('DELETE FROM mailbox WHERE recipient_id = ? AND id = ?'),
      addCredential: q(
        'INSERT INTO webauthn_credentials (credential_id, account_id, public_key, counter, transports, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
      ),
      getCredential: q('SELECT * FROM webauthn_credentials WHERE credential_id = ?'),
      listCredentials: q('SELECT * FROM webauthn_credentials WHERE account_id = ? ORDER BY created_at, credential_id'),
      casCounter: q('UPDATE webauthn_credentials SET counter = ? WHERE credential_id = ? AND counter = ?'),
      putChallenge: q('INSERT INTO challenges (challenge, purpose, account_id, expires_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING'),
      takeChallenge: q('DELETE FROM challenges WHERE challenge = ? RETURNING *'),
      createSession: q('INSERT INTO sessions (token_hash, account_id, signer_id, expires_at) VALUES (?, ?, ?, ?)'),
      getSession: q('SELECT account_id, signer_id, expires_at FROM sessions WHERE token_hash = ?'),
      deleteSession: q('DELETE FROM sessions WHERE token_hash = ?'),
      expireChallenges: q('DELETE FROM challenges WHERE expires_at <= ?'),
      expireSessions: q('DELETE FROM sessions WHERE expires_at <= ?'),
      unpublishedAccounts: q("SELECT id FROM accounts WHERE statements = '' AND created_at < ? AND kind = 'user' LIMIT 1000").pluck(),
      deleteSessionsOf: q('DELETE FROM sessions WHERE account_id = ?'),
      deleteCredentialsOf: q('DELETE FROM webauthn_credentials WHERE account_id = ?'),
      deleteBlobsOf: q('DELETE FROM blobs WHERE owner_id = ?'),
      deleteMailOf: q('DELETE FROM mailbox WHERE recipient_id = ? OR sender_id = ?'),
      deleteUnpublished: q("DELETE FROM accounts WHERE id = ? AND statements = ''"),
    };
    const Q = this.#q as Record<string, Database.Statement>;
    const getNode = (k: NodeKey): Uint8Array => {
      const r = Q.getNode!.get(k.level, k.index) as Row | undefined;
      if (r === undefined) throw new Error(`log node (${k.level}, ${k.index}) is missing: the store is inconsistent`);
      return r.hash as Buffer;
    };
    // Statement, leaf and completed nodes: one IMMEDIATE transaction (see the module comment).
    const appendLeaf = (s: NewStatement, bytes: Uint8Array): number => {
      const index = (Q.treeSize!.get() as { n: number }).n;
      Q.insertStatement!.run(index, s.accountId, s.kind, buf(bytes), s.now);
      Q.setPacked!.run(appendPacked(Q.getPacked!.get(s.accountId) as string, index, bytes), s.accountId);
      const siblings = appendSiblingKeys(index).map(getNode);
      for (const node of appendNodes(index, syncTreeHashes.hashLeaf(bytes), siblings, syncTreeHashes)) Q.insertNode!.run(node.level, node.index, buf(node.hash));
      return index;
    };
    const append = db.transaction((s: NewStatement, bytes: Uint8Array): number => {
      if (Q.getAccount!.get(s.accountId) === undefined) unknownAccount(s.accountId);
      return appendLeaf(s, bytes);
    });
    this.#append = (s, bytes) => append.immediate(s, bytes);
    // The head is read under the write lock (IMMEDIATE), so no other connection can append to the
    // account between this check and the insert.
    const appendNext = db.transaction((s: NextStatement, bytes: Uint8Array): number | undefined => {
      if (s.newAccount !== undefined) {
        if (Q.insertAccount!.run(s.accountId, s.newAccount.kind, s.now).changes !== 1) return undefined;
      } else if (Q.getAccount!.get(s.accountId) === undefined) unknownAccount(s.accountId);
      const last = (Q.lastLeafOf!.get(s.accountId) as { last: number | null }).last;
      if (last !== s.previousLeafIndex) return undefined;
      for (const b of s.blobs ?? []) Q.putBlob!.run(s.accountId, b.name, buf(b.bytes), s.now);
      return appendLeaf(s, bytes);
    });
    this.#appendNext = (s, bytes) => appendNext.immediate(s, bytes);
    const readNodes = db.transaction((keys: readonly NodeKey[]) => keys.map((k) => new Uint8Array(getNode(k))));
    this.#readNodes = (keys) => readNodes.deferred(keys);

    // The tree size LEFT JOIN the accounts: one row even when no id is known, and the size read in
    // the same statement (so the same snapshot) as the rows.
    const many = MANY_SIZES.map((n) =>
      q(
        'SELECT t.n, a.id, a.kind, a.statements FROM (SELECT coalesce(max(idx) + 1, 0) AS n FROM log_nodes WHERE level = 0) AS t ' +
          `LEFT JOIN accounts AS a ON a.id IN (${'?, '.repeat(n - 1)}?)`,
      ).raw(),
    );
    const readChunk = (ids: readonly string[]): unknown[][] => {
      const size = MANY_SIZES.findIndex((n) => n >= ids.length);
      const params = [...ids, ...Array<string>(MANY_SIZES[size]! - ids.length).fill(ids[0]!)];
      return many[size]!.all(...params) as unknown[][];
    };
    const last = MANY_SIZES[MANY_SIZES.length - 1]!;
    // More ids than one statement takes: statements in one read transaction, one snapshot.
    const readChunks = db.transaction((ids: readonly string[]) => {
      const rows: unknown[][] = [];
      for (let at = 0; at < ids.length; at += last) rows.push(...readChunk(ids.slice(at, at + last)));
      return rows;
    });
    this.#readMany = (ids) => (ids.length <= last ? readChunk(ids) : readChunks.deferred(ids));

    // The quota is read under the write lock (IMMEDIATE), so concurrent posts cannot both fit.
    const postWithin = db.transaction((m: Omit<MailboxMessage, 'id'>, quota: MailboxQuota): Row | undefined => {
      const usage = Q.mailboxUsage!.get(m.recipientId) as { n: number; bytes: number };
      if (usage.n + 1 > quota.maxMessages || usage.bytes + m.bytes.length > quota.maxBytes) return undefined;
      return Q.postMessage!.get(m.senderId, m.recipientId, buf(m.bytes), m.createdAt) as Row;
    });
    this.#postWithin = (m, quota) => postWithin.immediate(m, quota);
    // Sizes first, then only the rows that fit: a page never loads a message it will not return.
    const listWithin = db.transaction((recipientId: string, after: number, limit: number, maxBytes: number): Row[] => {
      let count = 0;
      let total = 0;
      for (const size of Q.messageSizes!.iterate(recipientId, after, limit) as IterableIterator<number>) {
        total += size;
        if (count > 0 && total > maxBytes) break;
        count++;
      }
      return count === 0 ? [] : (Q.listMessages!.all(recipientId, after, count) as Row[]);
    });
    this.#listWithin = (recipientId, after, limit, maxBytes) => listWithin.deferred(recipientId, after, limit, maxBytes);
    const deleteUnpublished = db.transaction((createdBefore: number): number => {
      let removed = 0;
      for (const id of Q.unpublishedAccounts!.all(createdBefore) as string[]) {
        Q.deleteSessionsOf!.run(id);
        Q.deleteCredentialsOf!.run(id);
        Q.deleteBlobsOf!.run(id);
        Q.deleteMailOf!.run(id, id);
        removed += Q.deleteUnpublished!.run(id).changes;
      }
      return removed;
    });
    this.#deleteUnpublished = (createdBefore) => deleteUnpublished.immediate(createdBefore);
  }

  async createAccount(account: AccountRecord): Promise<boolean> {
    return this.#q.insertAccount!.run(account.id, account.kind, account.createdAt).changes === 1;
  }

  async getAccount(id: string): Promise<AccountRecord | undefined> {
    const r = this.#q.getAccount!.get(id) as Row | undefined;
    return r && { id: r.id as string, kind: r.kind as AccountRecord['kind'], createdAt: r.created_at as number };
  }

  async appendStatement(statement: NewStatement): Promise<StatementRecord> {
    const { accountId, kind, bytes, now } = statement;
    const copy = new Uint8Array(bytes);
    const leafIndex = this.#append({ accountId, kind, bytes: copy, now }, copy);
    return { leafIndex, accountId, kind, bytes: new Uint8Array(copy), createdAt: now };
  }

  async appendNextStatement(statement: NextStatement): Promise<StatementRecord | undefined> {
    const { accountId, kind, bytes, now, previousLeafIndex } = statement;
    const { newAccount } = statement;
    const blobs = (statement.blobs ?? []).map((b) => ({ name: b.name, bytes: new Uint8Array(b.bytes) }));
    const copy = new Uint8Array(bytes);
    const next = { accountId, kind, bytes: copy, now, previousLeafIndex, blobs, newAccount: newAccount && { kind: newAccount.kind } };
    const leafIndex = this.#appendNext(next, copy);
    return leafIndex === undefined ? undefined : { leafIndex, accountId, kind, bytes: new Uint8Array(copy), createdAt: now };
  }

  async getStatement(leafIndex: number): Promise<StatementRecord | undefined> {
    const r = this.#q.getStatement!.get(leafIndex) as Row | undefined;
    return r && statementOf(r);
  }

  async listStatements(accountId: string, options: ListStatementsOptions = {}): Promise<StatementRecord[]> {
    const after = options.afterIndex ?? -1;
    const limit = options.limit ?? 1000;
    const rows = (
      options.kind === undefined
        ? this.#q.listStatements!.all(accountId, after, limit)
        : this.#q.listStatementsOfKind!.all(accountId, after, options.kind, limit)
    ) as [number, string, Buffer, number][];
    return rows.map(([leafIndex, kind, bytes, createdAt]) => ({ leafIndex, accountId, kind, bytes: bytesOf(bytes), createdAt }));
  }

  async getAccountStatements(accountId: string): Promise<AccountStatements | undefined> {
    const row = this.#q.getAccountStatements!.get(accountId) as [AccountRecord['kind'], string, number] | undefined;
    if (row === undefined) return undefined;
    const [kind, packed, treeSize] = row;
    return { kind, statements: unpack(packed), treeSize };
  }

  async getManyAccountStatements(accountIds: readonly string[]): Promise<ManyAccountStatements> {
    if (accountIds.length === 0) return { treeSize: await this.treeSize(), accounts: [] };
    const rows = this.#readMany([...new Set(accountIds)]) as [number, string | null, AccountRecord['kind'], string][];
    const byId = new Map<string, [AccountRecord['kind'], string]>();
    for (const [, id, kind, packed] of rows) if (id !== null) byId.set(id, [kind, packed]);
    const accounts = accountIds.map((id) => {
      const row = byId.get(id);
      return row === undefined ? undefined : { kind: row[0], statements: unpack(row[1]) };
    });
    return { treeSize: rows[0]![0], accounts };
  }

  async treeSize(): Promise<number> {
    return (this.#q.treeSize!.get() as { n: number }).n;
  }

  async getNodeHashes(keys: readonly NodeKey[]): Promise<Uint8Array[]> {
    return this.#readNodes(keys);
  }

  async getNodeLevel(level: number, fromIndex: number, count: number): Promise<Uint8Array> {
    const out = new Uint8Array(count * HASH_SIZE);
    let at = 0;
    for (const hash of this.#q.getNodeLevel!.iterate(level, fromIndex, fromIndex + count) as IterableIterator<Buffer>) {
      out.set(hash, at * HASH_SIZE);
      at++;
    }
    if (at !== count) throw new Error(`log nodes at level ${level} from ${fromIndex}: ${at} of ${count} present: the store is inconsistent`);
    return out;
  }

  async putCheckpoint(checkpoint: CheckpointRecord): Promise<CheckpointRecord> {
    this.#q.insertCheckpoint!.run(checkpoint.size, checkpoint.note, checkpoint.createdAt);
    return (await this.getCheckpoint(checkpoint.size)) as CheckpointRecord;
  }

  async latestCheckpoint(): Promise<CheckpointRecord | undefined> {
    const r = this.#q.latestCheckpoint!.get() as Row | undefined;
    return r && { size: r.size as number, note: r.note as string, createdAt: r.created_at as number };
  }

  async getCheckpoint(size: number): Promise<CheckpointRecord | undefined> {
    const r = this.#q.getCheckpoint!.get(size) as Row | undefined;
    return r && { size: r.size as number, note: r.note as string, createdAt: r.created_at as number };
  }

  async putBlob(blob: BlobRecord): Promise<void> {
    this.#foreignKey(() => this.#q.putBlob!.run(blob.ownerId, blob.name, buf(blob.bytes), blob.updatedAt), blob.ownerId);
  }

  async getBlob(ownerId: string, name: string): Promise<BlobRecord | undefined> {
    const r = this.#q.getBlob!.get(ownerId, name) as Row | undefined;
    return r && { ownerId, name, bytes: bytesOf(r.bytes), updatedAt: r.updated_at as number };
  }

  async deleteBlob(ownerId: string, name: string): Promise<boolean> {
    return this.#q.deleteBlob!.run(ownerId, name).changes === 1;
  }

  async postMessage(message: Omit<MailboxMessage, 'id'>): Promise<MailboxMessage>;
  async postMessage(message: Omit<MailboxMessage, 'id'>, quota: MailboxQuota): Promise<MailboxMessage | undefined>;
  async postMessage(message: Omit<MailboxMessage, 'id'>, quota?: MailboxQuota): Promise<MailboxMessage | undefined> {
    if (quota !== undefined) {
      const r = this.#foreignKey(() => this.#postWithin(message, quota), `${message.senderId} -> ${message.recipientId}`);
      return r && messageOf(r);
    }
    const r = this.#foreignKey(
      () => (this.#q.postMessage!.all(message.senderId, message.recipientId, buf(message.bytes), message.createdAt) as Row[])[0] as Row,
      `${message.senderId} -> ${message.recipientId}`,
    );
    return messageOf(r);
  }

  async listMessages(recipientId: string, options: ListMessagesOptions = {}): Promise<MailboxMessage[]> {
    const after = options.afterId ?? 0;
    const limit = options.limit ?? 100;
    if (options.maxBytes === undefined) return (this.#q.listMessages!.all(recipientId, after, limit) as Row[]).map(messageOf);
    return this.#listWithin(recipientId, after, limit, options.maxBytes).map(messageOf);
  }

  async deleteMessage(recipientId: string, id: number): Promise<boolean> {
    return this.#q.deleteMessage!.run(recipientId, id).changes === 1;
  }

  async addCredential(c: CredentialRecord): Promise<boolean> {
    const info = this.#foreignKey(
      () => this.#q.addCredential!.run(c.credentialId, c.accountId, buf(c.publicKey), c.counter, JSON.stringify(c.transports), c.createdAt),
      c.accountId,
    );
    return info.changes === 1;
  }

  async getCredential(credentialId: string): Promise<CredentialRecord | undefined> {
    const r = this.#q.getCredential!.get(credentialId) as Row | undefined;
    return r && credentialOf(r);
  }

  async listCredentials(accountId: string): Promise<CredentialRecord[]> {
    return (this.#q.listCredentials!.all(accountId) as Row[]).map(credentialOf);
  }

  async updateCredentialCounter(credentialId: string, expected: number, next: number): Promise<boolean> {
    return this.#q.casCounter!.run(next, credentialId, expected).changes === 1;
  }

  async putChallenge(c: ChallengeRecord): Promise<boolean> {
    return this.#q.putChallenge!.run(c.challenge, c.purpose, c.accountId ?? null, c.expiresAt).changes === 1;
  }

  async takeChallenge(challenge: string, now: number): Promise<ChallengeRecord | undefined> {
    const r = (this.#q.takeChallenge!.all(challenge) as Row[])[0]; // .all(): see postMessage
    if (r === undefined || (r.expires_at as number) <= now) return undefined;
    const record: ChallengeRecord = { challenge, purpose: r.purpose as string, expiresAt: r.expires_at as number };
    return r.account_id === null ? record : { ...record, accountId: r.account_id as string };
  }

  async createSession(token: Uint8Array, session: SessionRecord): Promise<void> {
    const hash = sessionTokenHash(token);
    this.#foreignKey(() => this.#q.createSession!.run(buf(hash), session.accountId, session.signerId, session.expiresAt), session.accountId);
  }

  async getSession(token: Uint8Array, now: number): Promise<SessionRecord | undefined> {
    const hash = sessionTokenHash(token);
    const r = this.#q.getSession!.get(buf(hash)) as Row | undefined;
    if (r === undefined || (r.expires_at as number) <= now) return undefined;
    return { accountId: r.account_id as string, signerId: r.signer_id as string, expiresAt: r.expires_at as number };
  }

  async deleteSession(token: Uint8Array): Promise<void> {
    this.#q.deleteSession!.run(buf(sessionTokenHash(token)));
  }

  async deleteExpired(now: number): Promise<number> {
    return this.#db.transaction(() => this.#q.expireChallenges!.run(now).changes + this.#q.expireSessions!.run(now).changes)();
  }

  async deleteUnpublishedAccounts(createdBefore: number): Promise<number> {
    return this.#deleteUnpublished(createdBefore);
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }

  #foreignKey<T>(run: () => T, who: string): T {
    try {
      return run();
    } catch (e) {
      if ((e as { code?: unknown }).code === 'SQLITE_CONSTRAINT_FOREIGNKEY') unknownAccount(who);
      throw e;
    }
  }
}

/** How long a write waits for another connection's lock (SQLite's busy handler). */
const BUSY_TIMEOUT_MS = 5000;
/** How long opening waits out locks the busy handler does not (a simultaneous start). */
const OPEN_LOCK_WAIT_MS = 30_000;
const sleepCell = new Int32Array(new SharedArrayBuffer(4));

function isBusy(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_') || code === 'SQLITE_LOCKED');
}

/** Runs `step` (idempotent) again while it fails on a lock, for up to OPEN_LOCK_WAIT_MS. */
function retryWhileBusy(step: () => void): void {
  const deadline = Date.now() + OPEN_LOCK_WAIT_MS;
  for (let pause = 2; ; pause = Math.min(pause * 2, 100)) {
    try {
      return step();
    } catch (e) {
      if (!isBusy(e) || Date.now() + pause > deadline) throw e;
      Atomics.wait(sleepCell, 0, 0, pause); // opening is synchronous: a blocking pause
    }
  }
}

function migrate(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL) STRICT');
  const step = db.transaction(() => {
    const row = db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined;
    const current = row?.version ?? 0;
    if (current > SQLITE_MIGRATIONS.length) {
      throw new SigilError(
        'E_UNSUPPORTED_VERSION',
        `The database has schema version ${current}; this server knows up to ${SQLITE_MIGRATIONS.length}. Upgrade the server.`,
      );
    }
    if (current === SQLITE_MIGRATIONS.length) return false;
    const migration = SQLITE_MIGRATIONS[current] as SqliteMigration;
    if (typeof migration === 'string') db.exec(migration);
    else migration(db);
    if (row === undefined) db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(current + 1);
    else db.prepare('UPDATE schema_version SET version = ?').run(current + 1);
    return true;
  });
  while (step.immediate()) {
    // one migration per transaction
  }
}
