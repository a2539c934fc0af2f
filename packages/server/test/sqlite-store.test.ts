import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SigilError } from '@sigil/sdk';
import { SqliteStore, openSqliteStore } from '@sigil/server';
import { describeStoreContract } from './store-contract.js';

function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'sigil-store-'));
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
    const dir = tempDir();
    const file = path.join(dir, 'sigil.db');
    try {
      await (await openSqliteStore(file)).close();
      await (await openSqliteStore(file)).close();
      const db = new Database(file, { readonly: true });
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.prepare('SELECT version FROM schema_version').all()).toEqual([{ version: 1 }]);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('refuses a database from a newer schema', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'sigil.db');
    try {
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
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('serialises appends from two connections to one file (BEGIN IMMEDIATE)', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'sigil.db');
    try {
      const a = await openSqliteStore(file);
      const b = await openSqliteStore(file);
      await a.createAccount({ id: 'alice', kind: 'user', createdAt: 1 });
      const recs = [];
      for (let i = 0; i < 20; i++) {
        recs.push(await (i % 2 ? a : b).appendStatement({ accountId: 'alice', kind: 'k', bytes: Uint8Array.of(i), now: 1 }));
      }
      expect(recs.map((r) => r.leafIndex)).toEqual(Array.from({ length: 20 }, (_, i) => i));
      expect(await b.treeSize()).toBe(20);
      await a.close();
      await b.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
