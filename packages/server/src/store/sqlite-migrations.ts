// Schema of the SQLite store, one entry per version; applied in order on open, each in its own
// transaction with the version bump, so a crash mid-migration leaves the previous version.
// STRICT tables make SQLite refuse a value of the wrong type instead of storing it. A step is
// SQL, or a function for what SQL cannot say (packing statements into bytes).
import type Database from 'better-sqlite3';
import { appendPacked } from './packed-statements.js';

export type SqliteMigration = string | ((db: Database.Database) => void);

/** Accounts per read while version 2 packs the statements of existing accounts. */
const PACK_PAGE = 1000;

export const SQLITE_MIGRATIONS: readonly SqliteMigration[] = [
  `
  CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('user', 'service')),
    created_at INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE statements (
    leaf_index INTEGER PRIMARY KEY CHECK (leaf_index >= 0),
    account_id TEXT NOT NULL REFERENCES accounts(id),
    kind TEXT NOT NULL,
    bytes BLOB NOT NULL,
    created_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX statements_by_account ON statements(account_id, leaf_index);

  -- Complete-subtree hashes of the RFC 9162 tree; level 0 holds the leaf hashes.
  CREATE TABLE log_nodes (
    level INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    hash BLOB NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (level, idx)
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE checkpoints (
    size INTEGER PRIMARY KEY,
    note TEXT NOT NULL,
    created_at INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE blobs (
    owner_id TEXT NOT NULL REFERENCES accounts(id),
    name TEXT NOT NULL,
    bytes BLOB NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (owner_id, name)
  ) STRICT;

  CREATE TABLE mailbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sender_id TEXT NOT NULL REFERENCES accounts(id),
    recipient_id TEXT NOT NULL REFERENCES accounts(id),
    bytes BLOB NOT NULL,
    created_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX mailbox_by_recipient ON mailbox(recipient_id, id);

  CREATE TABLE webauthn_credentials (
    credential_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    public_key BLOB NOT NULL,
    counter INTEGER NOT NULL,
    transports TEXT NOT NULL,
    created_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX credentials_by_account ON webauthn_credentials(account_id);

  CREATE TABLE challenges (
    challenge TEXT PRIMARY KEY,
    purpose TEXT NOT NULL,
    account_id TEXT,
    expires_at INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE sessions (
    token_hash BLOB PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    expires_at INTEGER NOT NULL
  ) STRICT;
  `,
  // Version 2: each account's statements packed into its row (packed-statements.ts), so that a
  // lookup is one index probe instead of an account read plus a statements range scan with a row
  // read per statement. Kept up to date by the append transaction (sqlite-store.ts).
  (db) => {
    db.exec("ALTER TABLE accounts ADD COLUMN statements BLOB NOT NULL DEFAULT x''");
    const page = db.prepare('SELECT id FROM accounts WHERE id > ? ORDER BY id LIMIT ?').pluck();
    const statementsOf = db.prepare('SELECT leaf_index, bytes FROM statements WHERE account_id = ? ORDER BY leaf_index').raw();
    const update = db.prepare('UPDATE accounts SET statements = ? WHERE id = ?');
    for (let after = ''; ; ) {
      const ids = page.all(after, PACK_PAGE) as string[];
      for (const id of ids) {
        let packed: Uint8Array = new Uint8Array(0);
        for (const [leafIndex, bytes] of statementsOf.all(id) as [number, Buffer][]) packed = appendPacked(packed, leafIndex, bytes);
        if (packed.length > 0) update.run(Buffer.from(packed.buffer, packed.byteOffset, packed.length), id);
      }
      if (ids.length < PACK_PAGE) break;
      after = ids.at(-1) as string;
    }
  },
];
