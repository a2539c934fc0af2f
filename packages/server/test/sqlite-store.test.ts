import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SigilError } from '@sigil/sdk';
import { STATEMENT_LIMITS, encodeSignedStatement } from '@sigil/sdk/identity';
import { DEFAULT_STORE_LIMITS, SqliteStore, openSqliteStore, sessionTokenHash, type Store } from '@sigil/server';
import { SQLITE_MIGRATIONS } from '../src/store/sqlite-migrations.js';
import { describeStoreContract } from './store-contract.js';

function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'sigil-store-'));
}

/** Runs `test` with the path of a database file in a fresh directory, removed after. */
async function inTempDb(test: (file: string, dir: string) => Promise<void>): Promise<void> {
  const dir = tempDir();
  try {
    await test(path.join(dir, 'sigil.db'), dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs `test` with two connections on one new file (two server processes, in production). */
async function inTwoConnections(test: (a: Store, b: Store) => Promise<void>): Promise<void> {
  await inTempDb(async (file) => {
    const a = await openSqliteStore(file);
    const b = await openSqliteStore(file);
    try {
      await test(a, b);
    } finally {
      await a.close();
      await b.close();
    }
  });
}

describeStoreContract('SqliteStore (file, WAL)', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'sigil.db');
  const store = await openSqliteStore(file);
  return {
    store,
    reopen: async () => {
      await store.close();
      return openSqliteStore(file);
    },
    rawBytes: async () =>
      Buffer.concat(readdirSync(dir).map((f) => readFileSync(path.join(dir, f)))),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

describe('SqliteStore specifics', () => {
  it('opens in WAL mode with the schema version recorded, and migrates idempotently', async () => {
    await inTempDb(async (file) => {
      await (await openSqliteStore(file)).close();
      await (await openSqliteStore(file)).close();
      const db = new Database(file, { readonly: true });
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.prepare('SELECT version FROM schema_version').all()).toEqual([{ version: SQLITE_MIGRATIONS.length }]);
      db.close();
    });
  });
  it.each([1, 2])('packs the statements of a version-%i database into the account rows as text when it migrates', async (version) => {
    await inTempDb(async (file) => {
      // A database as that version left it, written without the store (which would migrate it).
      const db = new Database(file);
      db.exec('CREATE TABLE schema_version (version INTEGER NOT NULL) STRICT');
      db.exec(SQLITE_MIGRATIONS[0] as string);
      const ids = Array.from({ length: 1203 }, (_, i) => `acct-${i}`); // more than one page of accounts
      const insertAccount = db.prepare("INSERT INTO accounts (id, kind, created_at) VALUES (?, 'user', 1)");
      const insertStatement = db.prepare('INSERT INTO statements (leaf_index, account_id, kind, bytes, created_at) VALUES (?, ?, ?, ?, 1)');
      db.transaction(() => {
        for (const id of ids) insertAccount.run(id);
        insertAccount.run('no-statements');
        let leaf = 0;
        for (let round = 0; round < 3; round++) {
          for (const [i, id] of ids.entries()) if (i % (round + 1) === 0) insertStatement.run(leaf++, id, 'k', Buffer.from(`${id}/${round}/${leaf}`));
        }
        insertStatement.run(leaf++, ids[7], 'k', Buffer.alloc(0)); // an empty statement
      })();
      if (version === 2) (SQLITE_MIGRATIONS[1] as (db: Database.Database) => void)(db); // version 2's binary packing
      db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(version);
      db.close();
      const store = await openSqliteStore(file);
      try {
        for (const id of [ids[0]!, ids[1]!, ids[2]!, ids[7]!, ids[999]!, ids[1000]!, ids[1202]!]) {
          const listed = (await store.listStatements(id)).map((s) => ({ leafIndex: s.leafIndex, statementB64: Buffer.from(s.bytes).toString('base64url') }));
          expect(listed.length).toBeGreaterThan(0);
          expect(await store.getAccountStatements(id)).toEqual({ kind: 'user', statements: listed, treeSize: await store.treeSize() });
        }
        expect((await store.getAccountStatements(ids[7]!))!.statements.at(-1)!.statementB64).toBe('');
        expect(await store.getAccountStatements('no-statements')).toEqual({ kind: 'user', statements: [], treeSize: await store.treeSize() });
      } finally {
        await store.close();
      }
      const after = new Database(file, { readonly: true });
      expect(after.prepare('SELECT name, type, "notnull" FROM pragma_table_info(\'accounts\') ORDER BY cid').raw().all()).toEqual([
        ['id', 'TEXT', 1],
        ['kind', 'TEXT', 1],
        ['created_at', 'INTEGER', 1],
        ['statements', 'TEXT', 1],
      ]);
      after.close();
    });
  });
  it('drops the sessions of a version-3 database when it migrates (they name no key), keeping everything else', async () => {
    await inTempDb(async (file) => {
      const db = new Database(file);
      db.exec('CREATE TABLE schema_version (version INTEGER NOT NULL) STRICT');
      db.exec(SQLITE_MIGRATIONS[0] as string);
      (SQLITE_MIGRATIONS[1] as (db: Database.Database) => void)(db);
      (SQLITE_MIGRATIONS[2] as (db: Database.Database) => void)(db);
      db.prepare("INSERT INTO accounts (id, kind, created_at) VALUES ('alice', 'user', 1)").run();
      const token = new Uint8Array(32).fill(5);
      db.prepare("INSERT INTO sessions (token_hash, account_id, expires_at) VALUES (?, 'alice', 1000)").run(Buffer.from(sessionTokenHash(token)));
      db.prepare('INSERT INTO schema_version (version) VALUES (3)').run();
      db.close();
      const store = await openSqliteStore(file);
      try {
        expect(await store.getSession(token, 1)).toBeUndefined();
        expect(await store.getAccount('alice')).toEqual({ id: 'alice', kind: 'user', createdAt: 1 });
        await store.createSession(token, { accountId: 'alice', signerId: 'k', expiresAt: 1000 });
        expect(await store.getSession(token, 1)).toEqual({ accountId: 'alice', signerId: 'k', expiresAt: 1000 });
      } finally {
        await store.close();
      }
    });
  });
  it("sees the tree grow through another connection's appends and its own, at once", () =>
    inTwoConnections(async (a, b) => {
      await a.createAccount({ id: 'alice', kind: 'user', createdAt: 1 });
      let expected = 0;
      for (let i = 0; i < 20; i++) {
        expect(await a.treeSize()).toBe(expected);
        expect(await b.treeSize()).toBe(expected);
        const writer = i % 3 === 0 ? b : a; // either side, several times in a row
        await writer.appendStatement({ accountId: 'alice', kind: 'k', bytes: Uint8Array.of(i), now: 1 });
        expected++;
        expect(await writer.treeSize()).toBe(expected);
        expect(await (writer === a ? b : a).treeSize()).toBe(expected);
      }
      // A refused append (unknown account) changes nothing, on either side.
      await expect(a.appendStatement({ accountId: 'nobody', kind: 'k', bytes: Uint8Array.of(1), now: 1 })).rejects.toThrow();
      expect([await a.treeSize(), await b.treeSize()]).toEqual([expected, expected]);
    }));
  it('refuses a database from a newer schema', async () => {
    await inTempDb(async (file) => {
      await (await openSqliteStore(file)).close();
      const db = new Database(file);
      db.prepare('UPDATE schema_version SET version = 99').run();
      db.close();
      let error: unknown;
      try {
        new SqliteStore(file);
      } catch (e) {
        error = e;
      }
      expect(SigilError.is(error, 'E_UNSUPPORTED_VERSION')).toBe(true);
    });
  });
  it('takes the largest signed statement the sdk encodes by default, and refuses one byte more', async () => {
    const proof = { type: 'webauthn', authenticatorData: new Uint8Array(1024), clientDataJSON: new Uint8Array(4096), signature: new Uint8Array(72) } as const;
    const largest = encodeSignedStatement(new Uint8Array(STATEMENT_LIMITS.maxStatementBytes), proof);
    expect(() => encodeSignedStatement(new Uint8Array(STATEMENT_LIMITS.maxStatementBytes + 1), proof)).toThrow(RangeError);
    expect(() => encodeSignedStatement(new Uint8Array(8), { ...proof, clientDataJSON: new Uint8Array(4097) })).toThrow(RangeError);
    expect(() => encodeSignedStatement(new Uint8Array(8), { ...proof, authenticatorData: new Uint8Array(1025) })).toThrow(RangeError);
    expect(() => encodeSignedStatement(new Uint8Array(8), { ...proof, signature: new Uint8Array(73) })).toThrow(RangeError);
    expect(DEFAULT_STORE_LIMITS.maxStatementBytes).toBe(largest.length);
    const store = await openSqliteStore(':memory:');
    try {
      await store.createAccount({ id: 'alice', kind: 'user', createdAt: 1 });
      expect((await store.appendStatement({ accountId: 'alice', kind: 'k', bytes: largest, now: 1 })).leafIndex).toBe(0);
      const over = new Uint8Array(largest.length + 1);
      await expect(store.appendStatement({ accountId: 'alice', kind: 'k', bytes: over, now: 1 })).rejects.toMatchObject({ code: 'E_LIMIT' });
    } finally {
      await store.close();
    }
  });
  it('lands exactly one of two successors of one head raced through two connections (two processes on one file)', () =>
    inTwoConnections(async (a, b) => {
      await a.createAccount({ id: 'alice', kind: 'user', createdAt: 1 });
      const head = await a.appendNextStatement({ accountId: 'alice', kind: 'genesis', bytes: Uint8Array.of(0), now: 1, previousLeafIndex: null });
      for (let round = 0; round < 10; round++) {
        // Both read the same head, as two server processes folding the account would.
        const last = (await b.listStatements('alice')).at(-1)!.leafIndex;
        const blob = (n: number) => [{ name: `wrap-${round}-${n}`, bytes: Uint8Array.of(n) }];
        const [x, y] = await Promise.all([
          a.appendNextStatement({ accountId: 'alice', kind: 'k', bytes: Uint8Array.of(1, round), now: 2, previousLeafIndex: last, blobs: blob(1) }),
          b.appendNextStatement({ accountId: 'alice', kind: 'k', bytes: Uint8Array.of(2, round), now: 2, previousLeafIndex: last, blobs: blob(2) }),
        ]);
        expect([x, y].filter((r) => r !== undefined)).toHaveLength(1);
        const loser = x === undefined ? 1 : 2;
        expect(await a.getBlob('alice', `wrap-${round}-${loser}`)).toBeUndefined();
        expect(await b.getBlob('alice', `wrap-${round}-${3 - loser}`)).toBeDefined();
      }
      expect(head?.leafIndex).toBe(0);
      expect(await a.treeSize()).toBe(11);
      expect((await b.listStatements('alice')).map((s) => s.leafIndex)).toEqual(Array.from({ length: 11 }, (_, i) => i));
    }));
  it('serialises appends from two connections to one file (BEGIN IMMEDIATE)', () =>
    inTwoConnections(async (a, b) => {
      await a.createAccount({ id: 'alice', kind: 'user', createdAt: 1 });
      const recs = [];
      for (let i = 0; i < 20; i++) {
        recs.push(await (i % 2 ? a : b).appendStatement({ accountId: 'alice', kind: 'k', bytes: Uint8Array.of(i), now: 1 }));
      }
      expect(recs.map((r) => r.leafIndex)).toEqual(Array.from({ length: 20 }, (_, i) => i));
      expect(await b.treeSize()).toBe(20);
    }));
});
