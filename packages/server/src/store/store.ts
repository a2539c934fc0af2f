/**
 * The `Store` contract: everything the key directory keeps, behind one small async interface, so
 * that the embedded SQLite store and a PostgreSQL store for several server processes are
 * interchangeable. Every implementation passes packages/server/test/store-contract.ts.
 *
 * Contract:
 * - All methods are async and safe to call concurrently; each is atomic (it happens entirely or
 *   not at all, also across a crash or kill of the process). A write that did not commit (a full
 *   disk, an I/O error) rejects with the driver's error: it never resolves as if it had.
 * - `appendStatement` writes the statement, its log leaf and every Merkle node the leaf completes
 *   in ONE transaction, and assigns leaf indices 0, 1, 2, ... without gaps or reuse, also with
 *   several processes appending to the same database. The leaf data is the statement bytes:
 *   leaf hash = SHA-256(0x00 || bytes) (RFC 9162 §2.1.1). Node (level, index) is the hash of the
 *   complete subtree over leaves [index * 2^level, (index + 1) * 2^level) (the tree math of @sigil/sdk/transparency).
 * - The log is append-only: nothing deletes or rewrites statements, nodes or checkpoints.
 * - Bytes in are bytes out: stored values are returned exactly, as fresh `Uint8Array`s that the
 *   caller may mutate; inputs are copied before the first await.
 * - Sizes are limited (`StoreLimits`): statements, blobs and mailbox messages above the limit are
 *   refused with `SigilError('E_LIMIT')` and nothing is written. The store holds ciphertext and
 *   public data only; it never sees a private key or a plaintext.
 * - Session tokens are never stored: the store keeps SHA-256(token) and looks sessions up by the
 *   token the client presents. Challenges are single-use: `takeChallenge` deletes what it returns.
 * - Times are milliseconds since the epoch, passed in by the caller (`now`), so that expiry is
 *   decided by the server's clock in one place and is testable.
 * - Conflicts (an id that exists) are results (`false`), not exceptions; referring to an unknown
 *   account is `SigilError('E_UNKNOWN_ACCOUNT')`.
 * - One append per account head: `appendNextStatement` appends only if the account's latest
 *   statement is still the one the caller validated the new statement against, checked inside
 *   the append transaction. Of two successors of one head, from any number of processes on one
 *   database, exactly one lands; the other is a conflict (`undefined`) with nothing written.
 * - Nothing in the interface is SQLite-specific: no rowids, no synchronous calls, no SQL.
 */

import { STATEMENT_LIMITS } from '@sigil/sdk/identity';
import type { NodeKey } from '@sigil/sdk/transparency';

export type { NodeKey };

export type AccountKind = 'user' | 'service';

export interface AccountRecord {
  /** Account id chosen by the server (for example an email-like handle); 1..256 characters. */
  readonly id: string;
  readonly kind: AccountKind;
  readonly createdAt: number;
}

export interface NewStatement {
  readonly accountId: string;
  /** Statement kind (device certificate, revocation, user-key epoch, ...); 1..64 characters. */
  readonly kind: string;
  /** The signed statement, exactly as it will be served and hashed into the log. */
  readonly bytes: Uint8Array;
  readonly now: number;
}

/** A blob written in the same transaction as the statement that commits to it. */
export interface NewBlob {
  readonly name: string;
  readonly bytes: Uint8Array;
}

/** The account's next statement, for the compare-and-append `Store.appendNextStatement`. */
export interface NextStatement extends NewStatement {
  /**
   * Leaf index of the account's latest statement, the head the caller validated this statement
   * against; `null` if the caller saw no statement of the account (a genesis).
   */
  readonly previousLeafIndex: number | null;
  /** Blobs the statement commits to (owner: the account), written only if the statement is. */
  readonly blobs?: readonly NewBlob[] | undefined;
  /**
   * Creates the account in the append transaction (a genesis of a new account): the account and
   * its first statement are written together or not at all, so a refused or failed write leaves
   * no account without statements. If the id exists already, that is a conflict (`undefined`),
   * nothing written. Only with `previousLeafIndex: null`.
   */
  readonly newAccount?: { readonly kind: AccountKind } | undefined;
}

export interface StatementRecord {
  readonly leafIndex: number;
  readonly accountId: string;
  readonly kind: string;
  readonly bytes: Uint8Array;
  readonly createdAt: number;
}

/** What a lookup serves of an account (`Store.getAccountStatements`). */
export interface AccountStatements {
  readonly kind: AccountKind;
  /**
   * Every statement of the account, in log order, as lookups serve it: its bytes in base64url
   * (RFC 4648 §5, without padding). A store may keep them in that form (the SQLite store does),
   * so that a lookup copies text instead of encoding bytes.
   */
  readonly statements: readonly { readonly leafIndex: number; readonly statementB64: string }[];
  /** The log's size in the same read: every statement of the account below it is listed. */
  readonly treeSize: number;
}

/** What lookups read together (`Store.getManyAccountStatements`). */
export interface ManyAccountStatements {
  /** The log's size in the same read: every statement of these accounts below it is listed. */
  readonly treeSize: number;
  /** Per id asked for, in the same order: its kind and statements, or `undefined` if unknown. */
  readonly accounts: readonly (Omit<AccountStatements, 'treeSize'> | undefined)[];
}

export interface ListStatementsOptions {
  readonly kind?: string | undefined;
  /** Only statements with a leaf index greater than this. */
  readonly afterIndex?: number | undefined;
  /** At most this many (default and maximum 1000). */
  readonly limit?: number | undefined;
}

export interface CheckpointRecord {
  readonly size: number;
  /** The signed note (c2sp.org/tlog-checkpoint), as served to clients. */
  readonly note: string;
  readonly createdAt: number;
}

export interface BlobRecord {
  readonly ownerId: string;
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly updatedAt: number;
}

export interface MailboxMessage {
  /** Increasing per store; the order messages were accepted in. */
  readonly id: number;
  readonly senderId: string;
  readonly recipientId: string;
  readonly bytes: Uint8Array;
  readonly createdAt: number;
}

export interface CredentialRecord {
  /** WebAuthn credential id, base64url. */
  readonly credentialId: string;
  readonly accountId: string;
  /** COSE public key as returned by the authenticator. */
  readonly publicKey: Uint8Array;
  /** Signature counter last seen (WebAuthn §6.1.1). */
  readonly counter: number;
  readonly transports: readonly string[];
  readonly createdAt: number;
}

export interface ChallengeRecord {
  /** The challenge, base64url; unique. */
  readonly challenge: string;
  /** What the challenge is for, e.g. 'webauthn-register'; checked by the caller. */
  readonly purpose: string;
  readonly accountId?: string | undefined;
  readonly expiresAt: number;
}

export interface SessionRecord {
  readonly accountId: string;
  /**
   * Key id (`keyIdOf`) of the root or device that opened the session: the session is the key's,
   * not the account's, and ends when the account's statements no longer list the key (a revoked
   * device). 1..64 characters.
   */
  readonly signerId: string;
  readonly expiresAt: number;
}

/** How much one recipient's mailbox may hold (`Store.postMessage`). */
export interface MailboxQuota {
  /** Most messages waiting for the recipient. */
  readonly maxMessages: number;
  /** Most bytes (the sum of the messages' sizes) waiting for the recipient. */
  readonly maxBytes: number;
}

export interface ListMessagesOptions {
  /** Only messages with an id greater than this. */
  readonly afterId?: number | undefined;
  /** At most this many (default 100, maximum 1000). */
  readonly limit?: number | undefined;
  /**
   * At most this many bytes of messages in the page: the page ends before the message that would
   * take the sum of sizes over it, except that the first message is always returned, so a page
   * is never empty while messages remain. Default: no byte bound.
   */
  readonly maxBytes?: number | undefined;
}

export interface StoreLimits {
  readonly maxStatementBytes: number;
  readonly maxBlobBytes: number;
  readonly maxMessageBytes: number;
}

/**
 * The largest signed statement (docs/STATEMENTS.md §6): u32 length, the statement (at most
 * STATEMENT_LIMITS.maxStatementBytes), then the largest proof, a WebAuthn assertion: type byte,
 * u16 + authenticator data (<= 1024), u16 + clientDataJSON (<= 4096), u8 + DER signature (<= 72).
 * The request schema and the store limit both use this one figure.
 */
export const MAX_SIGNED_STATEMENT_BYTES = 4 + STATEMENT_LIMITS.maxStatementBytes + 1 + (2 + 1024) + (2 + 4096) + (1 + 72);

export const DEFAULT_STORE_LIMITS: StoreLimits = Object.freeze({
  maxStatementBytes: MAX_SIGNED_STATEMENT_BYTES,
  maxBlobBytes: 1024 * 1024,
  maxMessageBytes: 1024 * 1024,
});

export interface Store {
  readonly limits: StoreLimits;

  // Accounts
  /** Creates the account; `false` if the id exists. */
  createAccount(account: AccountRecord): Promise<boolean>;
  getAccount(id: string): Promise<AccountRecord | undefined>;

  // Statements and the log
  /**
   * Appends a statement and its log leaf in one transaction; returns the stored record with its
   * leaf index. @throws SigilError `E_UNKNOWN_ACCOUNT`, `E_LIMIT`.
   */
  appendStatement(statement: NewStatement): Promise<StatementRecord>;
  /**
   * Compare-and-append for the account's next statement: in the append transaction, checks that
   * the account's latest statement is leaf `previousLeafIndex` (none, for `null`), then writes the
   * blobs, the statement, its leaf and nodes. `undefined` if another statement got there first
   * (or, with `newAccount`, the id exists): a conflict, nothing written.
   * @throws SigilError `E_UNKNOWN_ACCOUNT`, `E_LIMIT`; TypeError for `newAccount` with a
   *   `previousLeafIndex`.
   */
  appendNextStatement(statement: NextStatement): Promise<StatementRecord | undefined>;
  getStatement(leafIndex: number): Promise<StatementRecord | undefined>;
  listStatements(accountId: string, options?: ListStatementsOptions): Promise<StatementRecord[]>;
  /**
   * The account's kind, all of its statements in log order, and the log's size, from one
   * consistent read (a snapshot): the hot path of account lookups, which an implementation should
   * serve with one index probe (the SQLite store keeps the statements packed in the account's
   * row, and reads the size in the same statement). `undefined` for an unknown account; an
   * account without statements has an empty list.
   */
  getAccountStatements(accountId: string): Promise<AccountStatements | undefined>;
  /**
   * `getAccountStatements` for several accounts (repeats allowed, none at all too) and the log's
   * size, all from one consistent read: what the directory's lookups that arrive together share,
   * since a read transaction costs more than an indexed row (SQLite: one statement).
   * @throws RangeError for a bad id, or more than 1000 of them.
   */
  getManyAccountStatements(accountIds: readonly string[]): Promise<ManyAccountStatements>;
  /** Number of leaves in the log (= number of statements). */
  treeSize(): Promise<number>;
  /**
   * The hashes of the given complete-subtree nodes, in order, read from one consistent view.
   * Every key must be a node of the current tree: a missing one is a bug and throws an Error.
   */
  getNodeHashes(keys: readonly NodeKey[]): Promise<Uint8Array[]>;
  /**
   * The hashes of nodes (level, fromIndex) .. (level, fromIndex + count - 1), concatenated (32
   * bytes each): a bulk read for an in-memory copy of the tree (log/tree-mirror.ts). Every one
   * must be a node of the current tree: a missing one is a bug and throws an Error.
   */
  getNodeLevel(level: number, fromIndex: number, count: number): Promise<Uint8Array>;

  // Checkpoints
  /** Stores a signed checkpoint unless one of that size exists; returns the one stored. */
  putCheckpoint(checkpoint: CheckpointRecord): Promise<CheckpointRecord>;
  latestCheckpoint(): Promise<CheckpointRecord | undefined>;
  getCheckpoint(size: number): Promise<CheckpointRecord | undefined>;

  // Blobs (key backups, escrow shares): ciphertext, one per (owner, name), replaced on put
  /** @throws SigilError `E_UNKNOWN_ACCOUNT`, `E_LIMIT`. */
  putBlob(blob: BlobRecord): Promise<void>;
  getBlob(ownerId: string, name: string): Promise<BlobRecord | undefined>;
  /** `false` if there was none. */
  deleteBlob(ownerId: string, name: string): Promise<boolean>;

  // Mailbox (store-and-forward of ciphertext between accounts)
  /**
   * Queues a message. With a `quota`, the recipient's count and bytes are checked and the message
   * written in one transaction, so concurrent posts cannot overfill a mailbox: `undefined` (and
   * nothing written) if the message would take the recipient over either figure.
   * @throws SigilError `E_UNKNOWN_ACCOUNT` (sender or recipient), `E_LIMIT`.
   */
  postMessage(message: Omit<MailboxMessage, 'id'>): Promise<MailboxMessage>;
  postMessage(message: Omit<MailboxMessage, 'id'>, quota: MailboxQuota): Promise<MailboxMessage | undefined>;
  /** Messages to `recipientId` with id > `afterId`, oldest first, bounded by `limit` and `maxBytes`. */
  listMessages(recipientId: string, options?: ListMessagesOptions): Promise<MailboxMessage[]>;
  /** Deletes a message addressed to `recipientId`; `false` if there was none. */
  deleteMessage(recipientId: string, id: number): Promise<boolean>;

  // WebAuthn credentials
  /** `false` if the credential id exists. @throws SigilError `E_UNKNOWN_ACCOUNT`. */
  addCredential(credential: CredentialRecord): Promise<boolean>;
  getCredential(credentialId: string): Promise<CredentialRecord | undefined>;
  listCredentials(accountId: string): Promise<CredentialRecord[]>;
  /**
   * Compare-and-set of the signature counter: sets it to `next` only if it is still `expected`,
   * so two concurrent sign-ins cannot both pass with the same counter. `false` otherwise.
   */
  updateCredentialCounter(credentialId: string, expected: number, next: number): Promise<boolean>;

  // Challenges (single use)
  /** `false` if the challenge exists. */
  putChallenge(challenge: ChallengeRecord): Promise<boolean>;
  /** Deletes and returns the challenge if it exists and `now < expiresAt`; else `undefined`. */
  takeChallenge(challenge: string, now: number): Promise<ChallengeRecord | undefined>;

  // Sessions (only SHA-256 of the token is stored)
  /** @throws SigilError `E_UNKNOWN_ACCOUNT`. @throws RangeError if the token is shorter than 16 bytes. */
  createSession(token: Uint8Array, session: SessionRecord): Promise<void>;
  /** The session of this token if it exists and `now < expiresAt`. */
  getSession(token: Uint8Array, now: number): Promise<SessionRecord | undefined>;
  deleteSession(token: Uint8Array): Promise<void>;
  /** Removes expired challenges and sessions; returns how many rows went. */
  deleteExpired(now: number): Promise<number>;
  /**
   * Removes registrations that never published a genesis: user accounts created before
   * `createdBefore` without any statement, with their credentials, sessions, blobs and mailbox
   * messages (sent or received), so that the id can be registered again. An account that has a
   * statement is never removed. Returns how many accounts went.
   */
  deleteUnpublishedAccounts(createdBefore: number): Promise<number>;

  /** Closes the store; later calls reject. Closing twice is not an error. */
  close(): Promise<void>;
}
