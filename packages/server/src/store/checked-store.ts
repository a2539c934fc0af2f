// The argument checks of the Store contract (store.ts), made once for every implementation: a
// store is handed to the directory wrapped (createDirectoryApp, openSqliteStore), so that an
// implementation (SQLite today, PostgreSQL next) only stores and reads, and may assume what
// these checks establish (see checkedStore).
import type {
  AccountRecord,
  BlobRecord,
  ChallengeRecord,
  CheckpointRecord,
  CredentialRecord,
  ListMessagesOptions,
  ListStatementsOptions,
  MailboxMessage,
  MailboxQuota,
  NewStatement,
  NextStatement,
  NodeKey,
  SessionRecord,
  Store,
} from './store.js';
import { checkBytes, checkInteger, checkSessionToken, checkString, clampLimit } from './validate.js';

/** Longest account id, blob name and statement kind (the Store contract). */
const ID_MAX = 256;
const KIND_MAX = 64;
/** Longest WebAuthn credential id and challenge. */
const LONG_ID_MAX = 1024;
/** Largest credential public key; a bigger one is the caller's data, so `E_LIMIT`. */
const PUBLIC_KEY_MAX = 4096;
/** Most ids in one getManyAccountStatements call. */
const MANY_MAX = 1000;

const checked = new WeakSet<Store>();

/**
 * Runs `check`, then `run` if it passed. A failed check is a rejected promise, never a
 * synchronous throw: every Store method is async (callers `await` or `.catch` it).
 */
function guard<R>(check: () => void, run: () => Promise<R>): Promise<R> {
  try {
    check();
  } catch (e) {
    return Promise.reject(e);
  }
  return run();
}

function checkStatement(s: NewStatement, maxBytes: number): void {
  checkString('accountId', s.accountId, ID_MAX);
  checkString('kind', s.kind, KIND_MAX);
  checkBytes('statement', s.bytes, maxBytes);
  checkInteger('now', s.now);
}

/**
 * `store` with every argument checked before it is called: misuse (a wrong type, an empty or
 * too long string, a negative or unsafe integer, more than 1000 ids) rejects with a
 * TypeError/RangeError, and a statement, blob, message or credential key over the store's
 * `limits` with SigilError `E_LIMIT`; nothing reaches `store` then. `listStatements` and
 * `listMessages` reach it with `afterIndex`/`afterId` and `limit` filled in (limit clamped to
 * 1..1000; defaults 1000 and 100).
 *
 * What an implementation may therefore assume, and needs not check again: every string is within
 * its length, every integer a non-negative safe integer, every byte string a `Uint8Array` within
 * the limits, a session token 16 bytes or longer. What stays its own: copying inputs before the
 * first await, and refusing unknown accounts (`E_UNKNOWN_ACCOUNT`), which only it can see.
 *
 * Wrapping twice checks once: a store this returned is returned as it is.
 *
 * @example
 * ```ts
 * const store = checkedStore(new SqliteStore('./sigil.db')); // what openSqliteStore returns
 * await store.getAccount(''); // rejects with RangeError; the SQLite store is not called
 * ```
 */
export function checkedStore(store: Store): Store {
  if (checked.has(store)) return store;
  const wrapped: Store = {
    get limits() {
      return store.limits;
    },
    createAccount: (account: AccountRecord) =>
      guard(
        () => {
          checkString('id', account.id, ID_MAX);
          if (account.kind !== 'user' && account.kind !== 'service') throw new TypeError(`"kind" expected 'user' or 'service'`);
          checkInteger('createdAt', account.createdAt);
        },
        () => store.createAccount(account),
      ),
    getAccount: (id: string) => guard(() => checkString('id', id, ID_MAX), () => store.getAccount(id)),

    appendStatement: (s: NewStatement) => guard(() => checkStatement(s, store.limits.maxStatementBytes), () => store.appendStatement(s)),
    appendNextStatement: (s: NextStatement) =>
      guard(
        () => {
          checkStatement(s, store.limits.maxStatementBytes);
          if (s.previousLeafIndex !== null) checkInteger('previousLeafIndex', s.previousLeafIndex);
          if (s.newAccount !== undefined) {
            if (s.previousLeafIndex !== null) throw new TypeError('"newAccount" expected only with previousLeafIndex null');
            if (s.newAccount.kind !== 'user' && s.newAccount.kind !== 'service') throw new TypeError(`"newAccount.kind" expected 'user' or 'service'`);
          }
          let i = 0;
          for (const b of s.blobs ?? []) {
            checkString(`blobs[${i++}].name`, b.name, ID_MAX);
            checkBytes('blob', b.bytes, store.limits.maxBlobBytes);
          }
        },
        () => store.appendNextStatement(s),
      ),
    getStatement: (leafIndex: number) => guard(() => checkInteger('leafIndex', leafIndex), () => store.getStatement(leafIndex)),
    listStatements: (accountId: string, options: ListStatementsOptions = {}) => {
      const afterIndex = options.afterIndex ?? -1;
      let limit = 0;
      return guard(
        () => {
          checkString('accountId', accountId, ID_MAX);
          if (afterIndex !== -1) checkInteger('afterIndex', afterIndex); // -1: from the first
          limit = clampLimit(options.limit, 1000);
        },
        () => store.listStatements(accountId, { kind: options.kind, afterIndex, limit }),
      );
    },
    getAccountStatements: (accountId: string) =>
      guard(() => checkString('accountId', accountId, ID_MAX), () => store.getAccountStatements(accountId)),
    getManyAccountStatements: (accountIds: readonly string[]) =>
      guard(
        () => {
          if (accountIds.length > MANY_MAX) throw new RangeError(`at most ${MANY_MAX} account ids at once, got ${accountIds.length}`);
          for (const id of accountIds) checkString('accountId', id, ID_MAX);
        },
        () => store.getManyAccountStatements(accountIds),
      ),
    treeSize: () => store.treeSize(),
    getNodeHashes: (keys: readonly NodeKey[]) =>
      guard(
        () => {
          for (const k of keys) {
            checkInteger('level', k.level);
            checkInteger('index', k.index);
          }
        },
        () => store.getNodeHashes(keys),
      ),
    getNodeLevel: (level: number, fromIndex: number, count: number) =>
      guard(
        () => {
          checkInteger('level', level);
          checkInteger('fromIndex', fromIndex);
          checkInteger('count', count);
        },
        () => store.getNodeLevel(level, fromIndex, count),
      ),

    putCheckpoint: (checkpoint: CheckpointRecord) =>
      guard(
        () => {
          checkInteger('size', checkpoint.size);
          checkInteger('createdAt', checkpoint.createdAt);
          if (typeof checkpoint.note !== 'string') throw new TypeError('"note" expected string');
        },
        () => store.putCheckpoint(checkpoint),
      ),
    latestCheckpoint: () => store.latestCheckpoint(),
    getCheckpoint: (size: number) => guard(() => checkInteger('size', size), () => store.getCheckpoint(size)),

    putBlob: (blob: BlobRecord) =>
      guard(
        () => {
          checkString('ownerId', blob.ownerId, ID_MAX);
          checkString('name', blob.name, ID_MAX);
          checkBytes('blob', blob.bytes, store.limits.maxBlobBytes);
          checkInteger('updatedAt', blob.updatedAt);
        },
        () => store.putBlob(blob),
      ),
    getBlob: (ownerId: string, name: string) => guard(() => checkBlobKey(ownerId, name), () => store.getBlob(ownerId, name)),
    deleteBlob: (ownerId: string, name: string) => guard(() => checkBlobKey(ownerId, name), () => store.deleteBlob(ownerId, name)),

    postMessage: ((message: Omit<MailboxMessage, 'id'>, quota?: MailboxQuota) =>
      guard(
        () => {
          checkString('senderId', message.senderId, ID_MAX);
          checkString('recipientId', message.recipientId, ID_MAX);
          checkBytes('message', message.bytes, store.limits.maxMessageBytes);
          checkInteger('createdAt', message.createdAt);
          if (quota !== undefined) {
            checkInteger('quota.maxMessages', quota.maxMessages);
            checkInteger('quota.maxBytes', quota.maxBytes);
          }
        },
        () => (quota === undefined ? store.postMessage(message) : store.postMessage(message, quota)),
      )) as Store['postMessage'],
    listMessages: (recipientId: string, options: ListMessagesOptions = {}) => {
      const afterId = options.afterId ?? 0;
      let limit = 0;
      return guard(
        () => {
          checkString('recipientId', recipientId, ID_MAX);
          checkInteger('afterId', afterId);
          limit = clampLimit(options.limit, 100);
          if (options.maxBytes !== undefined) checkInteger('maxBytes', options.maxBytes);
        },
        () => store.listMessages(recipientId, options.maxBytes === undefined ? { afterId, limit } : { afterId, limit, maxBytes: options.maxBytes }),
      );
    },
    deleteMessage: (recipientId: string, id: number) =>
      guard(
        () => {
          checkString('recipientId', recipientId, ID_MAX);
          checkInteger('id', id);
        },
        () => store.deleteMessage(recipientId, id),
      ),

    addCredential: (c: CredentialRecord) =>
      guard(
        () => {
          checkString('credentialId', c.credentialId, LONG_ID_MAX);
          checkString('accountId', c.accountId, ID_MAX);
          checkBytes('publicKey', c.publicKey, PUBLIC_KEY_MAX);
          checkInteger('counter', c.counter);
          checkInteger('createdAt', c.createdAt);
          if (!Array.isArray(c.transports) || !c.transports.every((t) => typeof t === 'string')) {
            throw new TypeError('"transports" expected an array of strings');
          }
        },
        () => store.addCredential(c),
      ),
    getCredential: (credentialId: string) =>
      guard(() => checkString('credentialId', credentialId, LONG_ID_MAX), () => store.getCredential(credentialId)),
    listCredentials: (accountId: string) => guard(() => checkString('accountId', accountId, ID_MAX), () => store.listCredentials(accountId)),
    updateCredentialCounter: (credentialId: string, expected: number, next: number) =>
      guard(
        () => {
          checkString('credentialId', credentialId, LONG_ID_MAX);
          checkInteger('expected', expected);
          checkInteger('next', next);
        },
        () => store.updateCredentialCounter(credentialId, expected, next),
      ),

    putChallenge: (c: ChallengeRecord) =>
      guard(
        () => {
          checkString('challenge', c.challenge, LONG_ID_MAX);
          checkString('purpose', c.purpose, KIND_MAX);
          if (c.accountId !== undefined) checkString('accountId', c.accountId, ID_MAX);
          checkInteger('expiresAt', c.expiresAt);
        },
        () => store.putChallenge(c),
      ),
    takeChallenge: (challenge: string, now: number) =>
      guard(
        () => {
          checkString('challenge', challenge, LONG_ID_MAX);
          checkInteger('now', now);
        },
        () => store.takeChallenge(challenge, now),
      ),

    createSession: (token: Uint8Array, session: SessionRecord) =>
      guard(
        () => {
          checkSessionToken(token);
          checkString('accountId', session.accountId, ID_MAX);
          checkString('signerId', session.signerId, KIND_MAX);
          checkInteger('expiresAt', session.expiresAt);
        },
        () => store.createSession(token, session),
      ),
    getSession: (token: Uint8Array, now: number) =>
      guard(
        () => {
          checkSessionToken(token);
          checkInteger('now', now);
        },
        () => store.getSession(token, now),
      ),
    deleteSession: (token: Uint8Array) => guard(() => checkSessionToken(token), () => store.deleteSession(token)),
    deleteExpired: (now: number) => guard(() => checkInteger('now', now), () => store.deleteExpired(now)),
    deleteUnpublishedAccounts: (createdBefore: number) =>
      guard(() => checkInteger('createdBefore', createdBefore), () => store.deleteUnpublishedAccounts(createdBefore)),

    close: () => store.close(),
  };
  checked.add(wrapped);
  return wrapped;
}

function checkBlobKey(ownerId: string, name: string): void {
  checkString('ownerId', ownerId, ID_MAX);
  checkString('name', name, ID_MAX);
}

