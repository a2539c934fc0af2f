// Schema of the SQLite store, one entry per version; applied in order on open, each in its own
// transaction with the version bump, so a crash mid-migration leaves the previous version.
// STRICT tables make SQLite refuse a value of the wrong type instead of storing it. A step is
// SQL, or a function for what SQL cannot say (packing statements). A step is never changed once
// released: it is what turns a database of the previous version into the next, so the formats
// it reads and writes stay here with it (the binary packing of version 2 below).
import type Database from 'better-sqlite3';

export type SqliteMigration = string | ((db: Database.Database) => void);

/** Accounts per read while a step packs the statements of existing accounts. */
const PACK_PAGE = 1000;

/**
 * Version 2's packing of an account's statements, in bytes: per statement in log order, the leaf
 * index (6 bytes, big-endian), the length (4 bytes, big-endian), the statement. Version 3 keeps
 * them as text (packed-statements.ts).
 */
const V2_HEADER = 10;

function appendPackedV2(packed: Uint8Array, leafIndex: number, bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(packed.length + V2_HEADER + bytes.length);
  out.set(packed);
  const view = new DataView(out.buffer, packed.length, V2_HEADER);
  view.setUint16(0, Math.floor(leafIndex / 2 ** 32));
  view.setUint32(2, leafIndex >>> 0);
  view.setUint32(6, bytes.length);
  out.set(bytes, packed.length + V2_HEADER);
  return out;
}

/**
 * Version 3's packing of one statement, as released with it: the leaf index in decimal, ':', the
 * statement in base64url, '\n' (packed-statements.ts reads and appends it).
 */
function packedV3(leafIndex: number, bytes: Uint8Array): string {
  return `${leafIndex}:${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url')}\n`;
}

/** Version 2's packed bytes as version 3's text. @throws Error if they are damaged. */
function repackV2(packed: Uint8Array): string {
  const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
  let text = '';
  for (let at = 0; at < packed.length; ) {
    if (packed.length - at < V2_HEADER) throw new Error('packed statements: truncated header (the store is damaged)');
    const leafIndex = view.getUint16(at) * 2 ** 32 + view.getUint32(at + 2);
    const length = view.getUint32(at + 6);
    at += V2_HEADER;
    if (packed.length - at < length) throw new Error('packed statements: truncated statement (the store is damaged)');
    text += packedV3(leafIndex, packed.subarray(at, at + length));
    at += length;
  }
  return text;
}

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
        for (const [leafIndex, bytes] of statementsOf.all(id) as [number, Buffer][]) packed = appendPackedV2(packed, leafIndex, bytes);
        if (packed.length > 0) update.run(Buffer.from(packed.buffer, packed.byteOffset, packed.length), id);
      }
      if (ids.length < PACK_PAGE) break;
      after = ids.at(-1) as string;
    }
  },
  // Version 3: the packed statements as text, each statement already in base64url
  // (packed-statements.ts), so that a lookup slices its answer's statements out of the row it
  // read instead of encoding them. The new column replaces the old under the same name.
  (db) => {
    db.exec("ALTER TABLE accounts ADD COLUMN statements_b64 TEXT NOT NULL DEFAULT ''");
    const page = db.prepare("SELECT id, statements FROM accounts WHERE id > ? AND length(statements) > 0 ORDER BY id LIMIT ?").raw();
    const update = db.prepare('UPDATE accounts SET statements_b64 = ? WHERE id = ?');
    for (let after = ''; ; ) {
      const rows = page.all(after, PACK_PAGE) as [string, Buffer][];
      for (const [id, packed] of rows) update.run(repackV2(packed), id);
      if (rows.length < PACK_PAGE) break;
      after = rows.at(-1)![0];
    }
    db.exec('ALTER TABLE accounts DROP COLUMN statements');
    db.exec('ALTER TABLE accounts RENAME COLUMN statements_b64 TO statements');
  },
  // Version 4: a session belongs to the key (root or device) that opened it, so that revoking the
  // key ends it (signer_id, its key id). Sessions of version 3 name no key and are dropped: their
  // holders sign in again. A partial index finds registrations that never published a genesis
  // (no packed statement) by age, and mailbox rows by sender, for deleting such accounts.
  `
  DROP TABLE sessions;
  CREATE TABLE sessions (
    token_hash BLOB PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    signer_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX sessions_by_account ON sessions(account_id);
  CREATE INDEX accounts_unpublished ON accounts(created_at) WHERE statements = '';
  CREATE INDEX mailbox_by_sender ON mailbox(sender_id);
  `,
];
