// Device keys in IndexedDB, in real Chromium: they survive reloads as usable, non-extractable
// CryptoKeys. The audit reads IndexedDB directly (not through the SDK) and tries to export every
// private key it finds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTHENTICATORS, PageError, callPage, type TestPage } from '../support/browser.js';
import { startIdentityHarness, type IdentityHarness } from './harness.js';

type Audit = { privateKeys: number; extractableFlags: boolean[]; exported: number; failures: string[] };
type Used = { ids: string[]; usages: string[]; signatureVerifies: boolean; sharedSecretLength: number };

let h: IdentityHarness;
let tp: TestPage;

beforeAll(async () => {
  h = await startIdentityHarness();
  tp = await h.open(AUTHENTICATORS.passkeyWithPrf);
});

afterAll(async () => {
  await h?.close();
});

describe('BrowserKeyStore in Chromium', () => {
  it('keeps device keys usable and non-extractable across reloads', async () => {
    const ids = await callPage<string[]>(tp, 'createDeviceKeys');
    expect(ids).toHaveLength(2);

    for (let reload = 0; reload < 2; reload++) {
      await tp.page.reload();
      await tp.page.waitForFunction(() => (globalThis as { sigilTest?: unknown }).sigilTest !== undefined);
      const used = await callPage<Used>(tp, 'useStoredKeys');
      expect(used.ids.sort()).toEqual([...ids].sort());
      expect(used.usages.sort()).toEqual(['agree', 'sign']);
      expect(used.signatureVerifies).toBe(true);
      expect(used.sharedSecretLength).toBe(32);

      const audit = await callPage<Audit>(tp, 'auditStoredPrivateKeys');
      expect(audit.privateKeys).toBe(2);
      expect(audit.extractableFlags).toEqual([false, false]);
      expect(audit.exported).toBe(0);
      // Every export attempt (pkcs8, jwk, raw on each key) failed, with the engine's error.
      expect(audit.failures).toHaveLength(6);
      for (const f of audit.failures) expect(f).toMatch(/:InvalidAccessError$/);
    }
  });

  it('keeps separate stores apart by name', async () => {
    const a = await callPage<string[]>(tp, 'createDeviceKeys', 'sigil/alice');
    const b = await callPage<string[]>(tp, 'createDeviceKeys', 'sigil/bob');
    const usedA = await callPage<Used>(tp, 'useStoredKeys', 'sigil/alice');
    const usedB = await callPage<Used>(tp, 'useStoredKeys', 'sigil/bob');
    expect(usedA.ids.sort()).toEqual([...a].sort());
    expect(usedB.ids.sort()).toEqual([...b].sort());
    const audit = await callPage<Audit>(tp, 'auditStoredPrivateKeys');
    expect(audit.privateKeys).toBe(6);
    expect(audit.exported).toBe(0);
  });

  it('refuses stored records that were changed behind its back', async () => {
    for (const [mode, code] of [
      ['swap-id', 'E_FORMAT'],
      ['bad-public-key', 'E_BAD_PUBLIC_KEY'],
      ['no-private-key', 'E_FORMAT'],
    ] as const) {
      const name = `sigil/tampered-${mode}`;
      await callPage<string[]>(tp, 'createDeviceKeys', name);
      const e = await callPage(tp, 'loadTampered', name, mode).catch((x: unknown) => x);
      expect(e, mode).toBeInstanceOf(PageError);
      expect((e as PageError).code, mode).toBe(code);
    }
  });

  it('keeps sealed blobs by name: put, replace, delete, clear', async () => {
    const seen = await callPage<(string | null)[]>(tp, 'sealedBlobRoundTrip', 'sigil/blobs');
    expect(seen).toEqual([null, 'AQID', 'BA', null, 'BQ', null, '0']);
  });

  it('IndexedDbClientStateStore keeps the directory client memory across reloads and reports corruption', async () => {
    const head = Buffer.alloc(32, 7).toString('base64url');
    expect(await callPage(tp, 'loadClientState', 'alice@example.org')).toEqual({ note: null, head: null });
    await callPage(tp, 'saveClientState', 'log.example\n5\nroot\n', 'alice@example.org', 3, head);
    await tp.page.reload();
    await tp.page.waitForFunction(() => (globalThis as { sigilTest?: unknown }).sigilTest !== undefined);
    expect(await callPage(tp, 'loadClientState', 'alice@example.org')).toEqual({ note: 'log.example\n5\nroot\n', head: { seq: 3, headB64: head } });
    expect(await callPage(tp, 'loadClientState', 'bob@example.org')).toEqual({ note: 'log.example\n5\nroot\n', head: null });
    await callPage(tp, 'corruptClientState', 'alice@example.org');
    const e = await callPage(tp, 'loadClientState', 'alice@example.org').catch((x: unknown) => x);
    expect((e as PageError).code).toBe('E_FORMAT');
  });
});
