// checkedStore: the Store contract's argument checks, made once for every implementation. Shown
// on a store that does none itself (the bare SqliteStore), behind a recorder that sees every call
// that reaches it: a bad argument is refused before the store is called, a good one passes as it
// was given (list limits filled in and clamped), and wrapping twice checks once.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SigilError } from '@sigil/sdk/errors';
import { SqliteStore, checkedStore, type Store } from '@sigil/server';

let raw: SqliteStore;
let calls: { method: string; args: unknown[] }[];
let store: Store;

/** `target` behind a Proxy that records each method call that reaches it. */
function recording(target: Store): Store {
  return new Proxy(target, {
    get(t, name) {
      const value = Reflect.get(t, name) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push({ method: String(name), args });
        return (value as (...a: unknown[]) => unknown).apply(t, args);
      };
    },
  });
}

async function outcome(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return 'ok';
  } catch (e) {
    return SigilError.is(e) ? e.code : (e as Error).constructor.name;
  }
}

const token = new Uint8Array(32).fill(7);
const bytes = Uint8Array.of(1, 2, 3);

beforeEach(async () => {
  raw = new SqliteStore(':memory:');
  calls = [];
  store = checkedStore(recording(raw));
  await store.createAccount({ id: 'alice', kind: 'user', createdAt: 1 });
  calls = [];
});
afterEach(() => raw.close());

describe('checkedStore', () => {
  it('refuses each bad argument before the store is called, as a rejection (TypeError, RangeError, E_LIMIT)', async () => {
    const over = (n: number) => new Uint8Array(n + 1);
    const { maxStatementBytes, maxBlobBytes, maxMessageBytes } = raw.limits;
    const statement = { accountId: 'alice', kind: 'k', bytes, now: 1 };
    const bad: [string, () => Promise<unknown>, string][] = [
      ['createAccount: empty id', () => store.createAccount({ id: '', kind: 'user', createdAt: 1 }), 'RangeError'],
      ['createAccount: kind', () => store.createAccount({ id: 'x', kind: 'admin' as 'user', createdAt: 1 }), 'TypeError'],
      ['createAccount: createdAt', () => store.createAccount({ id: 'x', kind: 'user', createdAt: 1.5 }), 'RangeError'],
      ['getAccount: id of 257', () => store.getAccount('x'.repeat(257)), 'RangeError'],
      ['getAccount: not a string', () => store.getAccount(7 as unknown as string), 'TypeError'],
      ['appendStatement: kind of 65', () => store.appendStatement({ ...statement, kind: 'k'.repeat(65) }), 'RangeError'],
      ['appendStatement: bytes', () => store.appendStatement({ ...statement, bytes: [1] as unknown as Uint8Array }), 'TypeError'],
      ['appendStatement: over the limit', () => store.appendStatement({ ...statement, bytes: over(maxStatementBytes) }), 'E_LIMIT'],
      ['appendStatement: now', () => store.appendStatement({ ...statement, now: -1 }), 'RangeError'],
      ['appendNextStatement: previousLeafIndex', () => store.appendNextStatement({ ...statement, previousLeafIndex: -1 }), 'RangeError'],
      [
        'appendNextStatement: blob name',
        () => store.appendNextStatement({ ...statement, previousLeafIndex: null, blobs: [{ name: '', bytes }] }),
        'RangeError',
      ],
      [
        'appendNextStatement: blob over the limit',
        () => store.appendNextStatement({ ...statement, previousLeafIndex: null, blobs: [{ name: 'b', bytes: over(maxBlobBytes) }] }),
        'E_LIMIT',
      ],
      ['getStatement: unsafe index', () => store.getStatement(2 ** 53), 'RangeError'],
      ['listStatements: afterIndex', () => store.listStatements('alice', { afterIndex: -2 }), 'RangeError'],
      ['listStatements: limit', () => store.listStatements('alice', { limit: 1.5 }), 'RangeError'],
      ['getAccountStatements: empty id', () => store.getAccountStatements(''), 'RangeError'],
      ['getManyAccountStatements: 1001 ids', () => store.getManyAccountStatements(Array<string>(1001).fill('alice')), 'RangeError'],
      ['getManyAccountStatements: one bad id', () => store.getManyAccountStatements(['alice', '']), 'RangeError'],
      ['getNodeHashes: level', () => store.getNodeHashes([{ level: -1, index: 0 }]), 'RangeError'],
      ['getNodeLevel: count', () => store.getNodeLevel(0, 0, NaN), 'RangeError'],
      ['putCheckpoint: note', () => store.putCheckpoint({ size: 0, note: 1 as unknown as string, createdAt: 1 }), 'TypeError'],
      ['getCheckpoint: size', () => store.getCheckpoint(-1), 'RangeError'],
      ['putBlob: over the limit', () => store.putBlob({ ownerId: 'alice', name: 'b', bytes: over(maxBlobBytes), updatedAt: 1 }), 'E_LIMIT'],
      ['getBlob: name', () => store.getBlob('alice', ''), 'RangeError'],
      ['deleteBlob: owner', () => store.deleteBlob('', 'b'), 'RangeError'],
      [
        'postMessage: over the limit',
        () => store.postMessage({ senderId: 'alice', recipientId: 'alice', bytes: over(maxMessageBytes), createdAt: 1 }),
        'E_LIMIT',
      ],
      ['listMessages: afterId', () => store.listMessages('alice', { afterId: -1 }), 'RangeError'],
      ['deleteMessage: id', () => store.deleteMessage('alice', 0.5), 'RangeError'],
      [
        'addCredential: transports',
        () => store.addCredential({ credentialId: 'c', accountId: 'alice', publicKey: bytes, counter: 0, transports: [1] as unknown as string[], createdAt: 1 }),
        'TypeError',
      ],
      [
        'addCredential: public key over 4096 bytes',
        () => store.addCredential({ credentialId: 'c', accountId: 'alice', publicKey: over(4096), counter: 0, transports: [], createdAt: 1 }),
        'E_LIMIT',
      ],
      ['getCredential: id of 1025', () => store.getCredential('c'.repeat(1025)), 'RangeError'],
      ['listCredentials: id', () => store.listCredentials(''), 'RangeError'],
      ['updateCredentialCounter: next', () => store.updateCredentialCounter('c', 0, -1), 'RangeError'],
      ['putChallenge: purpose of 65', () => store.putChallenge({ challenge: 'c', purpose: 'p'.repeat(65), expiresAt: 1 }), 'RangeError'],
      ['takeChallenge: now', () => store.takeChallenge('c', -1), 'RangeError'],
      ['createSession: token of 15 bytes', () => store.createSession(token.subarray(0, 15), { accountId: 'alice', signerId: 'k', expiresAt: 1 }), 'RangeError'],
      ['getSession: token', () => store.getSession('t' as unknown as Uint8Array, 1), 'TypeError'],
      ['deleteSession: token of 15 bytes', () => store.deleteSession(token.subarray(0, 15)), 'RangeError'],
      ['deleteExpired: now', () => store.deleteExpired(-1), 'RangeError'],
      ['createSession: signer id', () => store.createSession(token, { accountId: 'alice', signerId: '', expiresAt: 1 }), 'RangeError'],
      ['postMessage: quota', () => store.postMessage({ senderId: 'a', recipientId: 'b', bytes: new Uint8Array(1), createdAt: 1 }, { maxMessages: -1, maxBytes: 1 }), 'RangeError'],
      ['listMessages: maxBytes', () => store.listMessages('b', { maxBytes: 1.5 }), 'RangeError'],
      ['deleteUnpublishedAccounts: createdBefore', () => store.deleteUnpublishedAccounts(-1), 'RangeError'],
    ];
    for (const [name, call, expected] of bad) {
      let promise: Promise<unknown> | undefined;
      expect(() => (promise = call()), name).not.toThrow(); // a rejection, never a synchronous throw
      expect(await outcome(() => promise!), name).toBe(expected);
    }
    expect(calls).toEqual([]);
  });

  it('passes good arguments to the store as given, with list limits filled in and clamped', async () => {
    await store.appendStatement({ accountId: 'alice', kind: 'k', bytes, now: 1 });
    await store.listStatements('alice');
    await store.listStatements('alice', { kind: 'k', afterIndex: 0, limit: 5000 });
    await store.listMessages('alice', { limit: 0 });
    await store.listMessages('alice');
    expect(calls.map((c) => c.method)).toEqual(['appendStatement', 'listStatements', 'listStatements', 'listMessages', 'listMessages']);
    expect(calls[1]!.args).toEqual(['alice', { kind: undefined, afterIndex: -1, limit: 1000 }]);
    expect(calls[2]!.args).toEqual(['alice', { kind: 'k', afterIndex: 0, limit: 1000 }]);
    expect(calls[3]!.args).toEqual(['alice', { afterId: 0, limit: 1 }]);
    expect(calls[4]!.args).toEqual(['alice', { afterId: 0, limit: 100 }]);
    expect((await store.getStatement(0))?.bytes).toEqual(bytes);
    expect(store.limits).toBe(raw.limits);
  });

  it('checks once however often a store is wrapped', () => {
    expect(checkedStore(store)).toBe(store);
    expect(checkedStore(checkedStore(raw))).not.toBe(raw);
  });

  it('is where the checks are: the bare SqliteStore makes none of its own', async () => {
    // The same misuse the wrapper refuses reaches SQLite unchecked: an empty id is just not found.
    expect(await raw.getAccount('')).toBeUndefined();
    expect(await raw.getAccountStatements('')).toBeUndefined();
    expect(await outcome(() => store.getAccount(''))).toBe('RangeError');
  });
});
