// The Store contract suite (packages/server/src/store/store.ts). Every implementation runs it,
// wrapped in checkedStore as the directory holds it (the misuse cases are the wrapper's): SQLite
// here (sqlite-store.test.ts, through openSqliteStore), PostgreSQL when it comes. The factory
// gives a fresh, empty store for each test and, where the implementation persists, a way to
// reopen the same data.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SigilError } from '@sigil/sdk';
import { syncTreeHashes, type Store } from '@sigil/server';

const { hashLeaf, hashChildren } = syncTreeHashes;

export interface StoreTarget {
  readonly store: Store;
  /** Closes and reopens the same database (omit for stores that do not persist). */
  readonly reopen?: (() => Promise<Store>) | undefined;
  /** Every byte the store has written (for "the token is not stored" checks); optional. */
  readonly rawBytes?: (() => Promise<Uint8Array>) | undefined;
  readonly cleanup: () => Promise<void>;
}

const enc = new TextEncoder();
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const b64u = (b: Uint8Array) => Buffer.from(b).toString('base64url');

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (SigilError.is(e)) return e.code;
    return (e as Error).constructor.name;
  }
}

export function describeStoreContract(name: string, factory: () => Promise<StoreTarget>): void {
  describe(`Store contract: ${name}`, () => {
    let t: StoreTarget;
    let store: Store;
    beforeEach(async () => {
      t = await factory();
      store = t.store;
      await store.createAccount({ id: 'alice', kind: 'user', createdAt: 1 });
      await store.createAccount({ id: 'bob', kind: 'service', createdAt: 2 });
    });
    afterEach(async () => {
      await store.close();
      await t.cleanup();
    });

    describe('accounts', () => {
      it('creates once, reads back, and reports a taken id as false', async () => {
        expect(await store.getAccount('alice')).toEqual({ id: 'alice', kind: 'user', createdAt: 1 });
        expect(await store.createAccount({ id: 'alice', kind: 'service', createdAt: 9 })).toBe(false);
        expect(await store.getAccount('alice')).toEqual({ id: 'alice', kind: 'user', createdAt: 1 });
        expect(await store.getAccount('carol')).toBeUndefined();
      });
      it('rejects misuse with TypeError/RangeError', async () => {
        expect(await codeOf(store.createAccount({ id: '', kind: 'user', createdAt: 1 }))).toBe('RangeError');
        expect(await codeOf(store.createAccount({ id: 'x'.repeat(257), kind: 'user', createdAt: 1 }))).toBe('RangeError');
        expect(await codeOf(store.createAccount({ id: 'x', kind: 'admin' as 'user', createdAt: 1 }))).toBe('TypeError');
        expect(await codeOf(store.createAccount({ id: 'x', kind: 'user', createdAt: -1 }))).toBe('RangeError');
      });
    });

    describe('statements and the log', () => {
      it('appends with consecutive leaf indices, bytes in = bytes out', async () => {
        const bytes = [enc.encode('s0'), new Uint8Array(0), Uint8Array.of(0, 255, 0)];
        for (let i = 0; i < bytes.length; i++) {
          const rec = await store.appendStatement({ accountId: i === 1 ? 'bob' : 'alice', kind: 'device', bytes: bytes[i]!, now: 10 + i });
          expect(rec.leafIndex).toBe(i);
        }
        expect(await store.treeSize()).toBe(3);
        const got = await store.getStatement(2);
        expect(got).toEqual({ leafIndex: 2, accountId: 'alice', kind: 'device', bytes: bytes[2], createdAt: 12 });
        got!.bytes[0] = 9; // the caller owns what it got
        expect((await store.getStatement(2))!.bytes).toEqual(bytes[2]);
        expect(await store.getStatement(3)).toBeUndefined();
        expect((await store.listStatements('alice')).map((s) => s.leafIndex)).toEqual([0, 2]);
        expect((await store.listStatements('bob')).map((s) => hex(s.bytes))).toEqual(['']);
      });
      it("serves an account's kind and statements in one read, the same as the listing", async () => {
        expect(await store.getAccountStatements('alice')).toEqual({ kind: 'user', statements: [], treeSize: 0 });
        expect(await store.getAccountStatements('carol')).toBeUndefined();
        const bytes = [enc.encode('genesis'), new Uint8Array(0), Uint8Array.of(0, 255, 0), new Uint8Array(5000).fill(7)];
        await store.appendStatement({ accountId: 'alice', kind: 'genesis', bytes: bytes[0]!, now: 1 });
        await store.appendStatement({ accountId: 'bob', kind: 'genesis', bytes: bytes[1]!, now: 1 });
        await store.appendNextStatement({ accountId: 'alice', kind: 'device', bytes: bytes[2]!, now: 1, previousLeafIndex: 0 });
        expect(await store.appendNextStatement({ accountId: 'alice', kind: 'device', bytes: bytes[3]!, now: 1, previousLeafIndex: 0 })).toBeUndefined();
        await store.appendNextStatement({ accountId: 'alice', kind: 'device', bytes: bytes[3]!, now: 1, previousLeafIndex: 2 });
        const alice = await store.getAccountStatements('alice');
        // Each statement as lookups serve it: base64url.
        expect(alice).toEqual({ kind: 'user', statements: [0, 2, 3].map((leafIndex, i) => ({ leafIndex, statementB64: b64u(bytes[i === 0 ? 0 : i + 1]!) })), treeSize: 4 });
        expect(alice!.statements).toEqual((await store.listStatements('alice')).map((s) => ({ leafIndex: s.leafIndex, statementB64: b64u(s.bytes) })));
        expect(alice!.statements.slice(0, 2).map((s) => s.statementB64)).toEqual(['Z2VuZXNpcw', 'AP8A']); // RFC 4648 §5, no padding
        expect(await store.getAccountStatements('bob')).toEqual({ kind: 'service', statements: [{ leafIndex: 1, statementB64: '' }], treeSize: 4 });
        if (t.reopen !== undefined) {
          store = await t.reopen();
          expect(await store.getAccountStatements('alice')).toEqual(alice);
        }
        expect(await codeOf(store.getAccountStatements(''))).toBe('RangeError');
      });
      it('serves many accounts and the tree size in one read, each as getAccountStatements does', async () => {
        expect(await store.getManyAccountStatements([])).toEqual({ treeSize: 0, accounts: [] });
        expect(await store.getManyAccountStatements(['carol'])).toEqual({ treeSize: 0, accounts: [undefined] });
        await store.appendStatement({ accountId: 'alice', kind: 'genesis', bytes: enc.encode('a0'), now: 1 });
        await store.appendStatement({ accountId: 'bob', kind: 'genesis', bytes: enc.encode('b0'), now: 1 });
        await store.appendNextStatement({ accountId: 'alice', kind: 'device', bytes: enc.encode('a1'), now: 1, previousLeafIndex: 0 });
        const one = async (id: string) => {
          const a = await store.getAccountStatements(id);
          return a && { kind: a.kind, statements: a.statements };
        };
        // Every batch size up to past the largest single statement (64), repeats and unknown ids
        // included, in the order asked.
        for (const n of [1, 2, 7, 8, 9, 64, 65, 200]) {
          const ids = Array.from({ length: n }, (_, i) => ['alice', 'bob', 'carol', `nobody-${i}`][i % 4]!);
          const got = await store.getManyAccountStatements(ids);
          expect(got.treeSize).toBe(3);
          expect(got.accounts).toEqual(await Promise.all(ids.map(one)));
        }
        const twice = await store.getManyAccountStatements(['alice', 'alice']);
        expect(twice.accounts[0]!.statements.map((s) => Buffer.from(s.statementB64, 'base64url').toString())).toEqual(['a0', 'a1']);
        expect(twice.accounts[1]).toEqual(twice.accounts[0]);
        expect(await codeOf(store.getManyAccountStatements(['alice', '']))).toBe('RangeError');
        expect(await codeOf(store.getManyAccountStatements(Array<string>(1001).fill('alice')))).toBe('RangeError');
      });
      it('copies the input before storing it', async () => {
        const bytes = enc.encode('original');
        const p = store.appendStatement({ accountId: 'alice', kind: 'k', bytes, now: 1 });
        bytes.fill(0);
        await p;
        expect(new TextDecoder().decode((await store.getStatement(0))!.bytes)).toBe('original');
      });
      it('filters statements by kind, index and limit', async () => {
        for (let i = 0; i < 10; i++) {
          await store.appendStatement({ accountId: 'alice', kind: i % 2 ? 'odd' : 'even', bytes: Uint8Array.of(i), now: 1 });
        }
        expect((await store.listStatements('alice', { kind: 'odd' })).map((s) => s.leafIndex)).toEqual([1, 3, 5, 7, 9]);
        expect((await store.listStatements('alice', { afterIndex: 6 })).map((s) => s.leafIndex)).toEqual([7, 8, 9]);
        expect((await store.listStatements('alice', { limit: 2, afterIndex: 2, kind: 'even' })).map((s) => s.leafIndex)).toEqual([4, 6]);
      });
      it('writes the leaf hash and every completed node with the statement', async () => {
        const data = Array.from({ length: 7 }, (_, i) => enc.encode(`leaf ${i}`));
        for (const bytes of data) await store.appendStatement({ accountId: 'alice', kind: 'k', bytes, now: 1 });
        const leaves = data.map(hashLeaf);
        const [l0, l1, l2, l3, l4, l5, l6] = await store.getNodeHashes(leaves.map((_, index) => ({ level: 0, index })));
        expect([l0, l1, l2, l3, l4, l5, l6].map((h) => hex(h!))).toEqual(leaves.map(hex));
        const n01 = hashChildren(leaves[0]!, leaves[1]!);
        const n23 = hashChildren(leaves[2]!, leaves[3]!);
        const n45 = hashChildren(leaves[4]!, leaves[5]!);
        const got = await store.getNodeHashes([
          { level: 1, index: 0 },
          { level: 1, index: 1 },
          { level: 1, index: 2 },
          { level: 2, index: 0 },
        ]);
        expect(got.map(hex)).toEqual([n01, n23, n45, hashChildren(n01, n23)].map(hex));
        // The bulk read of a level gives the same hashes, concatenated.
        expect(hex(await store.getNodeLevel(0, 2, 5))).toEqual(leaves.slice(2).map(hex).join(''));
        expect(hex(await store.getNodeLevel(1, 0, 3))).toEqual([n01, n23, n45].map(hex).join(''));
        expect(await store.getNodeLevel(2, 1, 0)).toEqual(new Uint8Array(0));
        await expect(store.getNodeLevel(1, 1, 3)).rejects.toThrow();
        await expect(store.getNodeLevel(0, -1, 1)).rejects.toThrow(RangeError);
        // Node (1, 3) and (2, 1) are not complete yet: asking for them is a bug.
        await expect(store.getNodeHashes([{ level: 1, index: 3 }])).rejects.toThrow();
        await expect(store.getNodeHashes([{ level: 2, index: 1 }])).rejects.toThrow();
      });
      it('refuses unknown accounts and oversize statements, writing nothing', async () => {
        expect(await codeOf(store.appendStatement({ accountId: 'carol', kind: 'k', bytes: Uint8Array.of(1), now: 1 }))).toBe(
          'E_UNKNOWN_ACCOUNT',
        );
        const big = new Uint8Array(store.limits.maxStatementBytes + 1);
        expect(await codeOf(store.appendStatement({ accountId: 'alice', kind: 'k', bytes: big, now: 1 }))).toBe('E_LIMIT');
        expect(await store.treeSize()).toBe(0);
        expect(await store.listStatements('alice')).toEqual([]);
        const ok = await store.appendStatement({ accountId: 'alice', kind: 'k', bytes: big.subarray(1), now: 1 });
        expect(ok.leafIndex).toBe(0);
      });
      it('assigns distinct, gapless indices to concurrent appends', async () => {
        const recs = await Promise.all(
          Array.from({ length: 50 }, (_, i) => store.appendStatement({ accountId: 'alice', kind: 'k', bytes: Uint8Array.of(i), now: 1 })),
        );
        expect(recs.map((r) => r.leafIndex).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
        for (const r of recs) expect((await store.getStatement(r.leafIndex))!.bytes).toEqual(r.bytes);
        expect(await store.treeSize()).toBe(50);
      });
    });

    describe('one append per account head (appendNextStatement)', () => {
      const next = (accountId: string, previousLeafIndex: number | null, b: number, blobs?: { name: string; bytes: Uint8Array }[]) =>
        store.appendNextStatement({ accountId, kind: 'k', bytes: Uint8Array.of(b), now: 3, previousLeafIndex, blobs });
      it('appends after the head the caller saw, with its blobs', async () => {
        const g = await next('alice', null, 1, [{ name: 'w1', bytes: Uint8Array.of(7, 7) }]);
        expect(g?.leafIndex).toBe(0);
        expect((await store.getBlob('alice', 'w1'))?.bytes).toEqual(Uint8Array.of(7, 7));
        await store.appendStatement({ accountId: 'bob', kind: 'k', bytes: Uint8Array.of(2), now: 1 });
        expect((await next('alice', 0, 3))?.leafIndex).toBe(2);
        expect((await next('bob', 1, 4))?.leafIndex).toBe(3);
        expect((await store.listStatements('alice')).map((s) => s.leafIndex)).toEqual([0, 2]);
      });
      it('refuses a stale head as a conflict (undefined), writing nothing: no statement, leaf or blob', async () => {
        expect((await next('alice', null, 1))?.leafIndex).toBe(0);
        expect(await next('alice', null, 2, [{ name: 'w2', bytes: Uint8Array.of(1) }])).toBeUndefined(); // a second genesis
        expect((await next('alice', 0, 3))?.leafIndex).toBe(1);
        expect(await next('alice', 0, 4, [{ name: 'w4', bytes: Uint8Array.of(1) }])).toBeUndefined(); // a second successor of leaf 0
        expect(await next('alice', 5, 5)).toBeUndefined(); // a head that never was
        expect(await store.treeSize()).toBe(2);
        expect(await store.getBlob('alice', 'w2')).toBeUndefined();
        expect(await store.getBlob('alice', 'w4')).toBeUndefined();
        expect((await store.listStatements('alice')).map((s) => s.bytes[0])).toEqual([1, 3]);
      });
      it('creates a new account with its first statement (newAccount), or neither', async () => {
        const genesis = (accountId: string, b: number) =>
          store.appendNextStatement({ accountId, kind: 'k', bytes: Uint8Array.of(b), now: 3, previousLeafIndex: null, newAccount: { kind: 'service' } });
        expect((await genesis('dave', 1))?.leafIndex).toBe(0);
        expect(await store.getAccount('dave')).toEqual({ id: 'dave', kind: 'service', createdAt: 3 });
        expect(await genesis('dave', 2)).toBeUndefined(); // the id is taken: a conflict
        expect(await genesis('alice', 3)).toBeUndefined(); // an account without statements is taken too
        expect(await store.getAccount('alice')).toMatchObject({ kind: 'user' });
        expect(await codeOf(store.appendNextStatement({ accountId: 'erin', kind: 'k', bytes: new Uint8Array(store.limits.maxStatementBytes + 1), now: 3, previousLeafIndex: null, newAccount: { kind: 'service' } }))).toBe('E_LIMIT');
        expect(await store.getAccount('erin')).toBeUndefined();
        await expect(store.appendNextStatement({ accountId: 'erin', kind: 'k', bytes: Uint8Array.of(1), now: 3, previousLeafIndex: 0, newAccount: { kind: 'service' } })).rejects.toThrow(TypeError);
        expect(await store.treeSize()).toBe(1);
      });
      it('lets exactly one of several concurrent successors of one head land', async () => {
        await next('alice', null, 0);
        const results = await Promise.all(Array.from({ length: 8 }, (_, i) => next('alice', 0, 10 + i)));
        expect(results.filter((r) => r !== undefined)).toHaveLength(1);
        expect(await store.treeSize()).toBe(2);
      });
      it('refuses unknown accounts, oversize statements and blobs, and misuse', async () => {
        expect(await codeOf(next('carol', null, 1))).toBe('E_UNKNOWN_ACCOUNT');
        const big = new Uint8Array(store.limits.maxStatementBytes + 1);
        expect(await codeOf(store.appendNextStatement({ accountId: 'alice', kind: 'k', bytes: big, now: 1, previousLeafIndex: null }))).toBe('E_LIMIT');
        expect(await codeOf(next('alice', null, 1, [{ name: 'w', bytes: new Uint8Array(store.limits.maxBlobBytes + 1) }]))).toBe('E_LIMIT');
        expect(await codeOf(next('alice', -1, 1))).toBe('RangeError');
        expect(await store.treeSize()).toBe(0);
        expect(await store.getBlob('alice', 'w')).toBeUndefined();
      });
    });

    describe('checkpoints', () => {
      it('keeps the first checkpoint of each size and returns the latest', async () => {
        expect(await store.latestCheckpoint()).toBeUndefined();
        expect(await store.putCheckpoint({ size: 3, note: 'three', createdAt: 5 })).toEqual({ size: 3, note: 'three', createdAt: 5 });
        expect(await store.putCheckpoint({ size: 3, note: 'other three', createdAt: 6 })).toEqual({ size: 3, note: 'three', createdAt: 5 });
        await store.putCheckpoint({ size: 7, note: 'seven', createdAt: 7 });
        await store.putCheckpoint({ size: 5, note: 'five', createdAt: 8 });
        expect((await store.latestCheckpoint())?.note).toBe('seven');
        expect((await store.getCheckpoint(5))?.note).toBe('five');
        expect(await store.getCheckpoint(4)).toBeUndefined();
      });
    });

    describe('blobs', () => {
      it('puts, replaces, reads and deletes per (owner, name)', async () => {
        await store.putBlob({ ownerId: 'alice', name: 'backup', bytes: Uint8Array.of(1, 2), updatedAt: 1 });
        await store.putBlob({ ownerId: 'bob', name: 'backup', bytes: Uint8Array.of(3), updatedAt: 1 });
        await store.putBlob({ ownerId: 'alice', name: 'backup', bytes: Uint8Array.of(4, 5, 6), updatedAt: 2 });
        expect(await store.getBlob('alice', 'backup')).toEqual({ ownerId: 'alice', name: 'backup', bytes: Uint8Array.of(4, 5, 6), updatedAt: 2 });
        expect((await store.getBlob('bob', 'backup'))?.bytes).toEqual(Uint8Array.of(3));
        expect(await store.deleteBlob('alice', 'backup')).toBe(true);
        expect(await store.deleteBlob('alice', 'backup')).toBe(false);
        expect(await store.getBlob('alice', 'backup')).toBeUndefined();
      });
      it('enforces the size limit and the owner', async () => {
        const big = new Uint8Array(store.limits.maxBlobBytes + 1);
        expect(await codeOf(store.putBlob({ ownerId: 'alice', name: 'b', bytes: big, updatedAt: 1 }))).toBe('E_LIMIT');
        expect(await codeOf(store.putBlob({ ownerId: 'carol', name: 'b', bytes: Uint8Array.of(1), updatedAt: 1 }))).toBe('E_UNKNOWN_ACCOUNT');
        expect(await store.getBlob('alice', 'b')).toBeUndefined();
      });
    });

    describe('mailbox', () => {
      it('delivers in order to the recipient only, pages, and deletes only the recipient’s own', async () => {
        const ids: number[] = [];
        for (let i = 0; i < 5; i++) {
          ids.push((await store.postMessage({ senderId: 'bob', recipientId: 'alice', bytes: Uint8Array.of(i), createdAt: i })).id);
        }
        await store.postMessage({ senderId: 'alice', recipientId: 'bob', bytes: Uint8Array.of(9), createdAt: 9 });
        expect([...ids].sort((a, b) => a - b)).toEqual(ids);
        const all = await store.listMessages('alice');
        expect(all.map((m) => m.bytes[0])).toEqual([0, 1, 2, 3, 4]);
        expect(all.every((m) => m.senderId === 'bob' && m.recipientId === 'alice')).toBe(true);
        expect((await store.listMessages('alice', { afterId: ids[1], limit: 2 })).map((m) => m.bytes[0])).toEqual([2, 3]);
        expect(await store.deleteMessage('bob', ids[0]!)).toBe(false);
        expect(await store.deleteMessage('alice', ids[0]!)).toBe(true);
        expect((await store.listMessages('alice')).length).toBe(4);
      });
      it('enforces the size limit and both accounts', async () => {
        const big = new Uint8Array(store.limits.maxMessageBytes + 1);
        expect(await codeOf(store.postMessage({ senderId: 'bob', recipientId: 'alice', bytes: big, createdAt: 1 }))).toBe('E_LIMIT');
        expect(await codeOf(store.postMessage({ senderId: 'bob', recipientId: 'carol', bytes: Uint8Array.of(1), createdAt: 1 }))).toBe(
          'E_UNKNOWN_ACCOUNT',
        );
        expect(await codeOf(store.postMessage({ senderId: 'carol', recipientId: 'bob', bytes: Uint8Array.of(1), createdAt: 1 }))).toBe(
          'E_UNKNOWN_ACCOUNT',
        );
        expect(await store.listMessages('alice')).toEqual([]);
        expect(await store.listMessages('bob')).toEqual([]);
      });
      it('holds a recipient to its quota of messages and bytes, the rest untouched', async () => {
        const post = (to: string, size: number) =>
          store.postMessage({ senderId: 'bob', recipientId: to, bytes: new Uint8Array(size), createdAt: 1 }, { maxMessages: 3, maxBytes: 100 });
        expect(await post('alice', 60)).toBeDefined();
        expect(await post('alice', 41)).toBeUndefined(); // 101 bytes: over
        expect(await post('alice', 40)).toBeDefined(); // exactly 100
        expect(await post('alice', 0)).toBeDefined(); // 3 messages
        expect(await post('alice', 0)).toBeUndefined(); // a fourth: over
        expect((await store.listMessages('alice')).map((m) => m.bytes.length)).toEqual([60, 40, 0]);
        expect(await post('bob', 100)).toBeDefined(); // another recipient has its own quota
        const first = (await store.listMessages('alice'))[0]!;
        expect(await store.deleteMessage('alice', first.id)).toBe(true);
        expect(await post('alice', 60)).toBeDefined(); // room again once read and deleted
        const empty = (await store.listMessages('alice')).find((m) => m.bytes.length === 0)!;
        expect(await store.deleteMessage('alice', empty.id)).toBe(true); // room for one more message
        const both = await Promise.all([post('alice', 0), post('alice', 0)]);
        expect(both.filter((m) => m !== undefined)).toHaveLength(1); // concurrent posts cannot both fit
        expect(await codeOf(post('carol', 1))).toBe('E_UNKNOWN_ACCOUNT');
      });
      it('bounds a page by the bytes of its messages, never returning an empty page while some remain', async () => {
        for (const size of [30, 30, 50, 10, 200, 5]) {
          await store.postMessage({ senderId: 'bob', recipientId: 'alice', bytes: new Uint8Array(size).fill(size), createdAt: 1 });
        }
        const sizes = async (o: { afterId?: number; limit?: number; maxBytes?: number }) => (await store.listMessages('alice', o)).map((m) => m.bytes.length);
        expect(await sizes({ maxBytes: 60 })).toEqual([30, 30]);
        expect(await sizes({ maxBytes: 59 })).toEqual([30]);
        expect(await sizes({ maxBytes: 1 })).toEqual([30]); // the first always
        expect(await sizes({ maxBytes: 1000 })).toEqual([30, 30, 50, 10, 200, 5]);
        expect(await sizes({ maxBytes: 1000, limit: 2 })).toEqual([30, 30]);
        const all = await store.listMessages('alice');
        expect(await sizes({ afterId: all[3]!.id, maxBytes: 100 })).toEqual([200]); // larger than the bound: alone
        expect(await sizes({ afterId: all[4]!.id, maxBytes: 100 })).toEqual([5]);
        expect(await sizes({ afterId: all[5]!.id, maxBytes: 100 })).toEqual([]);
        // Walking pages by id returns every message once, in order.
        const seen: number[] = [];
        for (let after = 0, pages = 0; pages < 10; pages++) {
          const page = await store.listMessages('alice', { afterId: after, maxBytes: 60 });
          if (page.length === 0) break;
          expect(page.reduce((n, m) => n + m.bytes.length, 0) <= 60 || page.length === 1).toBe(true);
          seen.push(...page.map((m) => m.bytes.length));
          after = page.at(-1)!.id;
        }
        expect(seen).toEqual([30, 30, 50, 10, 200, 5]);
      });
    });

    describe('WebAuthn credentials', () => {
      const cred = {
        credentialId: 'Y3JlZC0x',
        accountId: 'alice',
        publicKey: Uint8Array.of(0xa5, 1, 2),
        counter: 7,
        transports: ['usb', 'nfc'],
        createdAt: 3,
      };
      it('adds once, reads back, lists per account', async () => {
        expect(await store.addCredential(cred)).toBe(true);
        expect(await store.addCredential({ ...cred, accountId: 'bob' })).toBe(false);
        expect(await store.getCredential(cred.credentialId)).toEqual(cred);
        expect(await store.listCredentials('alice')).toEqual([cred]);
        expect(await store.listCredentials('bob')).toEqual([]);
        expect(await codeOf(store.addCredential({ ...cred, credentialId: 'other', accountId: 'carol' }))).toBe('E_UNKNOWN_ACCOUNT');
      });
      it('updates the signature counter by compare-and-set only', async () => {
        await store.addCredential(cred);
        expect(await store.updateCredentialCounter(cred.credentialId, 7, 8)).toBe(true);
        expect(await store.updateCredentialCounter(cred.credentialId, 7, 9)).toBe(false);
        expect((await store.getCredential(cred.credentialId))?.counter).toBe(8);
        const both = await Promise.all([
          store.updateCredentialCounter(cred.credentialId, 8, 9),
          store.updateCredentialCounter(cred.credentialId, 8, 9),
        ]);
        expect(both.filter(Boolean)).toHaveLength(1);
      });
    });

    describe('challenges', () => {
      it('are single use and expire', async () => {
        expect(await store.putChallenge({ challenge: 'c1', purpose: 'register', accountId: 'alice', expiresAt: 100 })).toBe(true);
        expect(await store.putChallenge({ challenge: 'c1', purpose: 'register', expiresAt: 200 })).toBe(false);
        await store.putChallenge({ challenge: 'c2', purpose: 'login', expiresAt: 100 });
        expect(await store.takeChallenge('c1', 99)).toEqual({ challenge: 'c1', purpose: 'register', accountId: 'alice', expiresAt: 100 });
        expect(await store.takeChallenge('c1', 99)).toBeUndefined();
        expect(await store.takeChallenge('c2', 100)).toBeUndefined(); // expired
        expect(await store.takeChallenge('nope', 1)).toBeUndefined();
      });
    });

    describe('sessions', () => {
      const token = Uint8Array.from({ length: 32 }, (_, i) => 0xa0 + i);
      it('are found by token until they expire, and can be deleted', async () => {
        await store.createSession(token, { accountId: 'alice', signerId: 'k1', expiresAt: 500 });
        expect(await store.getSession(token, 499)).toEqual({ accountId: 'alice', signerId: 'k1', expiresAt: 500 });
        expect(await store.getSession(token, 500)).toBeUndefined();
        const other = token.slice();
        other[31]! ^= 1;
        expect(await store.getSession(other, 1)).toBeUndefined();
        await store.deleteSession(token);
        expect(await store.getSession(token, 1)).toBeUndefined();
        expect(await codeOf(store.createSession(token.subarray(0, 15), { accountId: 'alice', signerId: 'k1', expiresAt: 1 }))).toBe('RangeError');
        expect(await codeOf(store.createSession(token, { accountId: 'carol', signerId: 'k1', expiresAt: 1 }))).toBe('E_UNKNOWN_ACCOUNT');
      });
      it('store a hash of the token, never the token', async () => {
        await store.createSession(token, { accountId: 'alice', signerId: 'k1', expiresAt: 500 });
        if (t.rawBytes === undefined) return;
        const raw = Buffer.from(await t.rawBytes());
        expect(raw.indexOf(Buffer.from(token))).toBe(-1);
        expect(raw.indexOf(Buffer.from(token.subarray(0, 16)))).toBe(-1);
      });
      it('remember the key that opened them', async () => {
        await store.createSession(token, { accountId: 'alice', signerId: 'device-key-id', expiresAt: 500 });
        expect((await store.getSession(token, 1))?.signerId).toBe('device-key-id');
        expect(await codeOf(store.createSession(token, { accountId: 'alice', signerId: '', expiresAt: 1 }))).toBe('RangeError');
      });
      it('deleteExpired removes expired challenges and sessions only', async () => {
        await store.createSession(token, { accountId: 'alice', signerId: 'k1', expiresAt: 50 });
        await store.createSession(token.map((b) => b ^ 0xff), { accountId: 'alice', signerId: 'k1', expiresAt: 150 });
        await store.putChallenge({ challenge: 'old', purpose: 'p', expiresAt: 50 });
        await store.putChallenge({ challenge: 'new', purpose: 'p', expiresAt: 150 });
        expect(await store.deleteExpired(100)).toBe(2);
        expect(await store.getSession(token.map((b) => b ^ 0xff), 100)).toBeDefined();
        expect(await store.takeChallenge('new', 100)).toBeDefined();
      });
    });

    describe('registrations without a genesis', () => {
      it('are deleted after their time with everything of theirs; accounts with a statement never are', async () => {
        await store.createAccount({ id: 'carol', kind: 'user', createdAt: 50 });
        await store.createAccount({ id: 'dave', kind: 'user', createdAt: 10 });
        await store.appendStatement({ accountId: 'dave', kind: 'genesis', bytes: enc.encode('dave genesis'), now: 10 });
        await store.addCredential({ credentialId: 'Y2Fyb2w', accountId: 'carol', publicKey: Uint8Array.of(1), counter: 0, transports: [], createdAt: 50 });
        await store.createSession(Uint8Array.from({ length: 32 }, (_, i) => i), { accountId: 'carol', signerId: 'k', expiresAt: 10_000 });
        await store.putBlob({ ownerId: 'carol', name: 'passkey-backup', bytes: Uint8Array.of(1), updatedAt: 50 });
        await store.postMessage({ senderId: 'carol', recipientId: 'dave', bytes: Uint8Array.of(1), createdAt: 50 });
        await store.postMessage({ senderId: 'dave', recipientId: 'carol', bytes: Uint8Array.of(2), createdAt: 50 });
        expect(await store.deleteUnpublishedAccounts(50)).toBe(1); // alice (1): carol (50) is not older than 50
        expect(await store.getAccount('alice')).toBeUndefined();
        expect(await store.getAccount('carol')).toBeDefined();
        expect(await store.getAccount('bob')).toBeDefined(); // a service account
        expect(await store.deleteUnpublishedAccounts(51)).toBe(1);
        expect(await store.getAccount('carol')).toBeUndefined();
        expect(await store.getCredential('Y2Fyb2w')).toBeUndefined();
        expect(await store.getSession(Uint8Array.from({ length: 32 }, (_, i) => i), 1)).toBeUndefined();
        expect(await store.getBlob('carol', 'passkey-backup')).toBeUndefined();
        expect(await store.listMessages('dave')).toEqual([]);
        expect(await store.getAccount('dave')).toBeDefined(); // it has a statement
        expect(await store.deleteUnpublishedAccounts(1_000_000)).toBe(0);
        expect(await store.createAccount({ id: 'carol', kind: 'user', createdAt: 60 })).toBe(true); // the id is free again
      });
    });

    describe('persistence', () => {
      it('keeps everything across close and reopen', async () => {
        if (t.reopen === undefined) return;
        await store.appendStatement({ accountId: 'alice', kind: 'k', bytes: Uint8Array.of(1), now: 1 });
        await store.appendStatement({ accountId: 'bob', kind: 'k', bytes: Uint8Array.of(2), now: 1 });
        await store.putCheckpoint({ size: 2, note: 'n', createdAt: 1 });
        await store.putBlob({ ownerId: 'alice', name: 'b', bytes: Uint8Array.of(3), updatedAt: 1 });
        const root = (await store.getNodeHashes([{ level: 1, index: 0 }]))[0]!;
        store = await t.reopen();
        expect(await store.treeSize()).toBe(2);
        expect((await store.getStatement(1))?.bytes).toEqual(Uint8Array.of(2));
        expect((await store.getNodeHashes([{ level: 1, index: 0 }]))[0]).toEqual(root);
        expect((await store.latestCheckpoint())?.note).toBe('n');
        expect((await store.getBlob('alice', 'b'))?.bytes).toEqual(Uint8Array.of(3));
        expect((await store.appendStatement({ accountId: 'alice', kind: 'k', bytes: Uint8Array.of(4), now: 1 })).leafIndex).toBe(2);
      });
      it('rejects calls after close; closing twice is fine', async () => {
        await store.close();
        await store.close();
        await expect(store.treeSize()).rejects.toThrow();
      });
    });
  });
}
