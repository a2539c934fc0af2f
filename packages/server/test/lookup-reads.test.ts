// Account lookups of one event-loop turn share one store read (directory/lookup-reads.ts): one
// getManyAccountStatements call, whose answers are each lookup's own; a read the store refuses
// fails only its own lookup, a failing store every lookup of that turn.
import { describe, expect, it } from 'vitest';
import { WebCryptoKeyBackend } from '@sigil/sdk';
import { SqliteStore, TransparencyLog, checkedStore, createDirectoryApp, type Store } from '@sigil/server';
import { LookupReads } from '../src/directory/lookup-reads.js';
import { LOG_ORIGIN, createServiceAccount, makeDirectory } from './directory-fixture.js';

/** `store` with its getManyAccountStatements calls recorded (and failing while `fail` is set). */
function recorded(store: Store) {
  const calls: string[][] = [];
  const state = { fail: false };
  const proxy = new Proxy(store, {
    get(target, name) {
      const value = Reflect.get(target, name) as unknown;
      if (name === 'getManyAccountStatements') {
        return async (ids: readonly string[]) => {
          calls.push([...ids]);
          if (state.fail) throw new Error('the disk is gone');
          return target.getManyAccountStatements(ids);
        };
      }
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  }) as Store;
  return { store: proxy, calls, state };
}

/** Runs `test` with LookupReads over a recorded in-memory store holding the user account alice. */
async function withReads(test: (t: ReturnType<typeof recorded> & { raw: SqliteStore; reads: LookupReads }) => Promise<void>): Promise<void> {
  const raw = new SqliteStore(':memory:');
  try {
    await raw.createAccount({ id: 'alice', kind: 'user', createdAt: 1 });
    const rec = recorded(checkedStore(raw)); // as the directory holds it
    await test({ ...rec, raw, reads: new LookupReads(rec.store) });
  } finally {
    await raw.close();
  }
}

describe('LookupReads', () => {
  it("reads the accounts and tree sizes asked for in one turn with one store call, each lookup getting its own answer", () =>
    withReads(async ({ raw, reads, calls }) => {
      await raw.createAccount({ id: 'bob', kind: 'service', createdAt: 1 });
      await raw.appendStatement({ accountId: 'alice', kind: 'genesis', bytes: Uint8Array.of(1), now: 1 });
      await raw.appendStatement({ accountId: 'bob', kind: 'genesis', bytes: Uint8Array.of(2), now: 1 });
      const [alice, bob, carol, size, aliceAgain] = await Promise.all([
        reads.account('alice'),
        reads.account('bob'),
        reads.account('carol'),
        reads.treeSize(),
        reads.account('alice'),
      ]);
      expect(calls).toEqual([['alice', 'bob', 'carol', 'alice']]);
      expect(alice).toEqual(await raw.getAccountStatements('alice'));
      expect(bob).toEqual(await raw.getAccountStatements('bob'));
      expect([carol, size]).toEqual([undefined, 2]);
      expect(aliceAgain).toEqual(alice);
      expect(alice!.statements).toEqual([{ leafIndex: 0, statementB64: 'AQ' }]);
      expect(aliceAgain!.statements).not.toBe(alice!.statements); // each lookup its own list
      // A later turn reads again, and sees what was appended in between.
      await raw.appendStatement({ accountId: 'bob', kind: 'device', bytes: Uint8Array.of(3), now: 1 });
      expect((await reads.account('bob'))!.statements.map((s) => s.leafIndex)).toEqual([1, 2]);
      expect(await reads.treeSize()).toBe(3);
      expect(calls).toEqual([['alice', 'bob', 'carol', 'alice'], ['bob'], []]);
    }));

  it('fails only the read the store refuses: the others of its batch are read again on their own', () =>
    withReads(async ({ reads, calls }) => {
      const got = await Promise.allSettled([reads.account('alice'), reads.account(''), reads.treeSize()]);
      expect(got.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect((got[1] as PromiseRejectedResult).reason).toBeInstanceOf(RangeError);
      expect((got[0] as PromiseFulfilledResult<unknown>).value).toEqual({ kind: 'user', statements: [], treeSize: 0 });
      expect(calls).toEqual([['alice', ''], ['alice'], [''], []]);
    }));

  it('fails every read of a batch whose store call fails, and only that batch', () =>
    withReads(async ({ reads, state }) => {
      state.fail = true;
      const failed = await Promise.allSettled([reads.account('alice'), reads.treeSize()]);
      expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
      state.fail = false;
      expect(await reads.account('alice')).toEqual({ kind: 'user', statements: [], treeSize: 0 });
    }));

  it('serves concurrent lookups through the app from one read, each answer that of its own account', async () => {
    const backend = new WebCryptoKeyBackend();
    const signer = { backend, key: await backend.generateKeyPair({ usage: 'sign', label: 'log' }) };
    const dir = await makeDirectory({ logBackend: signer });
    const { store, calls } = recorded(dir.store);
    try {
      const ids = ['a@example.com', 'b@example.com', 'c@example.com'];
      for (const id of ids) await createServiceAccount(dir, id);
      const { app } = createDirectoryApp({ store, log: new TransparencyLog(store, { origin: LOG_ORIGIN, signer }) });
      const asked = Array.from({ length: 12 }, (_, i) => ids[i % 3]!);
      const answers = await Promise.all(asked.map(async (id) => (await (await app.request(`/v1/accounts/${id}`)).json()) as { accountId: string; statements: { leafIndex: number }[] }));
      expect(answers.map((a) => a.accountId)).toEqual(asked);
      expect(answers.map((a) => a.statements[0]!.leafIndex)).toEqual(asked.map((id) => ids.indexOf(id)));
      expect(calls).toEqual([asked]);
      const unknown = await app.request('/v1/accounts/nobody@example.com');
      expect([unknown.status, ((await unknown.json()) as { error: { code: string } }).error.code]).toEqual([404, 'E_UNKNOWN_ACCOUNT']);
    } finally {
      await dir.close();
    }
  });
});
