// Issue 13, items 2 and 4, with the faults injected: a log key whose backend starts failing
// (the token gone: whatever the adapter reports), and a store whose append fails after the
// checks (a full disk at the worst moment). The rules: an HSM fault is a 503 E_HSM_UNAVAILABLE,
// logged, never a 4xx; nothing is committed that no checkpoint can cover; reads go on against the
// latest checkpoint; the server recovers by itself when the key is back; a failed first
// statement leaves no account. (disk-full.test.ts has the real full disk, and
// test/log-key-token.test.ts the real SoftHSM token.)
import { SigilError } from '@sigil/sdk/errors';
import { WebCryptoKeyBackend, type KeyBackend, type KeyRef } from '@sigil/sdk';
import type { KeyDescription } from '@sigil/sdk/backend';
import { SqliteStore, TransparencyLog, createDirectoryApp, memoryLogger } from '@sigil/server';
import { afterEach, describe, expect, it } from 'vitest';
import { LOG_ORIGIN, T0, b64u, createServiceAccount, lookupVerified, makeDirectory, postStatement, signServiceGenesis, type Directory } from './directory-fixture.js';

type Fault = 'none' | 'E_HSM_UNAVAILABLE' | 'E_KEY_NOT_FOUND' | 'plain-error';

/** The log key's backend, whose token can be "removed": every call then fails as `fault` says. */
class RemovableTokenBackend extends WebCryptoKeyBackend {
  fault: Fault = 'none';
  /** Fail signatures only (the token goes between the check and the signature). */
  signOnly = false;
  #fail(): void {
    if (this.fault === 'none') return;
    if (this.fault === 'plain-error') throw new Error('CKR_DEVICE_REMOVED');
    throw new SigilError(this.fault, 'token gone');
  }
  override async sign(ref: KeyRef, data: Uint8Array): Promise<Uint8Array> {
    this.#fail();
    return super.sign(ref, data);
  }
  override async describeKey(ref: KeyRef): Promise<KeyDescription> {
    if (!this.signOnly) this.#fail();
    return super.describeKey(ref);
  }
}

let dir: Directory;
afterEach(async () => dir?.close());

async function withRemovableKey(): Promise<RemovableTokenBackend> {
  const backend = new RemovableTokenBackend();
  const key = await backend.generateKeyPair({ usage: 'sign', label: 'log' });
  dir = await makeDirectory({ logBackend: { backend, key: key as KeyRef } });
  return backend;
}

describe('the log key lost and restored', () => {
  for (const fault of ['E_HSM_UNAVAILABLE', 'E_KEY_NOT_FOUND', 'plain-error'] as const) {
    it(`${fault}: publish is 503 E_HSM_UNAVAILABLE with nothing written, reads go on, and it recovers without a restart`, async () => {
      const token = await withRemovableKey();
      const a = await createServiceAccount(dir, 'before');
      const backend = new WebCryptoKeyBackend();
      const root = await backend.generateKeyPair({ usage: 'sign', label: 'after' });
      const genesis = await signServiceGenesis('after', backend, root);
      const size = await dir.store.treeSize();

      token.fault = fault;
      const res = await postStatement(dir, genesis);
      expect(res.status, JSON.stringify(res.body)).toBe(503);
      expect(res.body.error.code).toBe('E_HSM_UNAVAILABLE');
      expect(await dir.store.treeSize()).toBe(size);
      expect(await dir.store.getAccount('after')).toBeUndefined();
      expect(dir.logger.lines.some((l) => l.includes('"level":"error"') && l.includes('E_HSM_UNAVAILABLE'))).toBe(true);
      // Reads: the accounts and checkpoint signed before the token went.
      await lookupVerified(dir, a.id);
      expect((await dir.call('GET', '/v1/log/checkpoint')).status).toBe(200);
      expect((await dir.call('GET', '/v1/accounts/after')).status).toBe(404);

      token.fault = 'none';
      dir.advance(1);
      await new Promise((r) => setTimeout(r, 1100)); // the log asks the token again after a second
      const again = await postStatement(dir, genesis);
      expect(again.status, JSON.stringify(again.body)).toBe(200);
      await lookupVerified(dir, 'after');
    });
  }

  it('the token going between the check and the signature: 503, and the statement is served once the key is back', async () => {
    const token = await withRemovableKey();
    await createServiceAccount(dir, 'first');
    const backend = new WebCryptoKeyBackend();
    const root = await backend.generateKeyPair({ usage: 'sign', label: 'late' });
    const genesis = await signServiceGenesis('late', backend, root);
    token.fault = 'E_HSM_UNAVAILABLE';
    token.signOnly = true;
    const res = await postStatement(dir, genesis);
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('E_HSM_UNAVAILABLE');
    expect((await dir.call('GET', '/v1/log/checkpoint')).status).toBe(200); // the older checkpoint
    token.fault = 'none';
    await new Promise((r) => setTimeout(r, 1100));
    const { body } = await lookupVerified(dir, 'late');
    expect(body.statements).toHaveLength(1);
  });
});

describe('a store that fails the append after the checks', () => {
  it('a new account is not created without its genesis (item 4): 503, then 404 on lookup', async () => {
    const store = new SqliteStore(':memory:');
    const failing = new Proxy(store, {
      get(target, p) {
        if (p === 'appendNextStatement') return async () => Promise.reject(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }));
        const v: unknown = Reflect.get(target, p, target);
        return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(target) : v;
      },
    });
    const backend: KeyBackend = new WebCryptoKeyBackend();
    const key = await backend.generateKeyPair({ usage: 'sign', label: 'log' });
    const log = new TransparencyLog(failing, { origin: LOG_ORIGIN, signer: { backend, key }, now: () => T0 });
    const { app } = createDirectoryApp({ store: failing, log, logger: memoryLogger(), now: () => T0 });
    const root = await backend.generateKeyPair({ usage: 'sign', label: 'orphan' });
    const genesis = await signServiceGenesis('orphan', backend, root);
    const res = await app.request('/v1/statements', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ statementB64: b64u(genesis) }),
    });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('E_STORAGE_FULL');
    expect(await store.getAccount('orphan')).toBeUndefined();
    expect((await app.request('/v1/accounts/orphan')).status).toBe(404);
    await store.close();
  });
});
