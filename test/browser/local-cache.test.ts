// The PRF-sealed local cache in real Chromium against the real directory: with a PRF passkey the
// user keys rest in IndexedDB sealed under the local-cache KEK and come back after a reload with
// one touch (no wrap fetched from the directory); a security key without PRF leaves no sealed
// cache and signs in from its wraps; a changed cache is ignored and rewritten, never trusted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTHENTICATORS, TEST_WEBAUTHN_TIMEOUT_MS, callPage, cloneCredentials, openPage, type TestPage } from '../support/browser.js';
import { startBrowserDirectory, type BrowserDirectory } from './directory-harness.js';

type Summary = { account: string; mode: 'prf' | 'no-prf'; deviceId: string; newDevice: boolean; userKeys: string; backup: string };

const T = TEST_WEBAUTHN_TIMEOUT_MS;

let d: BrowserDirectory;

beforeAll(async () => {
  d = await startBrowserDirectory({ '/': 'packages/sdk/test/browser-pages/backup-page.ts', '/audit': 'packages/sdk/test/browser-pages/identity-page.ts' });
});

afterAll(async () => {
  await d?.close();
});

async function reload(tp: TestPage): Promise<void> {
  await tp.page.reload();
  await tp.page.waitForFunction(() => (globalThis as { sigilTest?: unknown }).sigilTest !== undefined);
}

/** Runs `fn` and counts the wrap-blob requests the directory received meanwhile. */
async function blobFetches<T>(fn: () => Promise<T>): Promise<{ result: T; fetches: number }> {
  let fetches = 0;
  d.intercept = (req) => {
    if (req.method === 'GET' && /^\/v1\/accounts\/[^/]+\/blobs\//.test(new URL(req.url).pathname)) fetches++;
    return undefined;
  };
  try {
    return { result: await fn(), fetches };
  } finally {
    d.intercept = undefined;
  }
}

describe('PRF-sealed local cache', () => {
  let alice: TestPage;
  let bob: TestPage;

  it('PRF passkey: the user keys come back after a reload with one touch, from the sealed cache', async () => {
    alice = await openPage(d.browser, `${d.origin}/`, AUTHENTICATORS.passkeyWithPrf);
    const reg = await callPage<Summary>(alice, 'register', d.vkey, 'alice@example.org', 'Alice', T);
    expect(reg.mode).toBe('prf');
    const sealed = await callPage<string | null>(alice, 'sealedCache', 'alice@example.org');
    expect(sealed).not.toBeNull();
    // version || nonce || one entry (3 + 36) || tag: ciphertext only, nothing else in the clear.
    expect(Buffer.from(sealed!, 'base64url').length).toBe(1 + 12 + 3 + 36 + 16);
    await callPage<number>(alice, 'rotate');
    const note = await callPage<string>(alice, 'encryptTo', ['alice@example.org'], 'for after the reload');

    await reload(alice);
    const { result, fetches } = await blobFetches(async () => {
      const s = await callPage<Summary>(alice, 'signIn', d.vkey, 'alice@example.org', T);
      return { s, text: await callPage<string>(alice, 'decrypt', note) };
    });
    expect(result.s).toMatchObject({ deviceId: reg.deviceId, mode: 'prf', newDevice: false, userKeys: 'local-cache', backup: 'current' });
    expect(result.text).toBe('for after the reload');
    expect(fetches).toBe(0); // both epochs came from the cache, none from the directory
  });

  it('a changed cache is not trusted: sign-in falls back to the wraps and seals a new cache', async () => {
    const before = await callPage<string>(alice, 'sealedCache', 'alice@example.org');
    for (const index of [1, 30, 60]) {
      await callPage(alice, 'tamperCache', 'alice@example.org', index);
      await reload(alice);
      const { result, fetches } = await blobFetches(() => callPage<Summary>(alice, 'signIn', d.vkey, 'alice@example.org', T));
      expect(result).toMatchObject({ userKeys: 'own-wraps', newDevice: false });
      expect(fetches).toBeGreaterThan(0);
      const after = await callPage<string>(alice, 'sealedCache', 'alice@example.org');
      expect(after).not.toBe(before); // resealed (fresh nonce)
      await reload(alice);
      expect((await callPage<Summary>(alice, 'signIn', d.vkey, 'alice@example.org', T)).userKeys).toBe('local-cache');
    }
  });

  it('an epoch received from another device is sealed into the cache and the backup when first used', async () => {
    // A second device of Alice's with her credential cloned (CDP clones carry no PRF): it joins
    // without PRF, Alice approves by rotating (epoch 3), then the phone rotates (epoch 4),
    // which only Alice's PRF device can put into the backup.
    const phone = await openPage(d.browser, `${d.origin}/`, AUTHENTICATORS.passkeyWithPrf);
    expect(await cloneCredentials(alice, phone)).toBe(1);
    expect(await callPage<Summary>(phone, 'signIn', d.vkey, 'alice@example.org', T, 'phone')).toMatchObject({ mode: 'no-prf', userKeys: 'awaiting-approval' });
    expect(await callPage<number>(alice, 'rotate')).toBe(3);
    expect(await callPage<number>(phone, 'rotate')).toBe(4);
    const backupLength = async () => (await d.store.getBlob('alice@example.org', 'passkey-backup'))?.bytes.length;
    expect(await backupLength()).toBe(1 + 12 + 3 + 3 * 36 + 16);

    const note = await callPage<string>(phone, 'encryptTo', ['alice@example.org'], 'sealed to epoch 4');
    expect(await callPage<string>(alice, 'decrypt', note)).toBe('sealed to epoch 4');
    expect(await backupLength()).toBe(1 + 12 + 3 + 4 * 36 + 16);
    const cache = await callPage<string>(alice, 'sealedCache', 'alice@example.org');
    expect(Buffer.from(cache, 'base64url').length).toBe(1 + 12 + 3 + 4 * 36 + 16);
    // (No sign-in of Alice's first browser after this: the phone's clone of her credential has
    // moved the signature counter past hers, which the directory rightly refuses.)
  });

  it('security key without PRF: no sealed cache; sign-in after a reload works from the wraps', async () => {
    bob = await openPage(d.browser, `${d.origin}/`, AUTHENTICATORS.securityKeyWithoutPrf);
    const reg = await callPage<Summary>(bob, 'register', d.vkey, 'bob@example.org', 'Bob', T);
    expect(reg).toMatchObject({ mode: 'no-prf', backup: 'none' });
    expect(await callPage<string | null>(bob, 'sealedCache', 'bob@example.org')).toBeNull();
    const note = await callPage<string>(alice, 'encryptTo', ['bob@example.org'], 'hello bob');
    await reload(bob);
    const { result, fetches } = await blobFetches(async () => {
      const s = await callPage<Summary>(bob, 'signIn', d.vkey, 'bob@example.org', T);
      return { s, text: await callPage<string>(bob, 'decrypt', note) };
    });
    expect(result.s).toMatchObject({ deviceId: reg.deviceId, mode: 'no-prf', userKeys: 'own-wraps', backup: 'none' });
    expect(result.text).toBe('hello bob');
    expect(fetches).toBe(1);
    expect(await callPage<string | null>(bob, 'sealedCache', 'bob@example.org')).toBeNull();
  });

  it('the PRF output is neither in IndexedDB nor on the server', async () => {
    const prf = Buffer.from(await callPage<string>(alice, 'rawPrfOutput', T), 'base64url');
    const tab = await alice.context.newPage();
    await tab.goto(`${d.origin}/audit`);
    await tab.waitForFunction(() => (globalThis as { sigilTest?: unknown }).sigilTest !== undefined);
    const stored = await callPage<string[]>({ ...alice, page: tab }, 'storedBytes');
    await tab.close();
    expect(stored).toContain(await callPage<string>(alice, 'sealedCache', 'alice@example.org')); // control
    for (const b of stored) expect(Buffer.from(b, 'base64url').includes(prf)).toBe(false);
    const { text, bytes } = d.serverSide();
    expect(text).not.toContain(prf.toString('base64url'));
    expect(bytes.includes(prf)).toBe(false);
  });
});
