// The passkey backup in real Chromium against the real directory: Alice registers with a PRF
// passkey (registerWithPasskey), receives messages, loses her browser's storage, signs in again with
// the same passkey (signInWithPasskey) and, with no other device online, enrols a new device that
// reads her old messages from the backup. A tampered or foreign backup is refused before
// anything is published. Bob, with a security key (no PRF), has no backup: his new browser waits
// for an existing device. The PRF output is nowhere on the server nor in IndexedDB.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTHENTICATORS, PageError, TEST_WEBAUTHN_TIMEOUT_MS, callPage, cloneCredentials, openPage, wipeOriginAndReload, type TestPage } from '../support/browser.js';
import { startBrowserDirectory, type BrowserDirectory } from './directory-harness.js';

type Summary = {
  account: string;
  mode: 'prf' | 'no-prf';
  deviceId: string;
  newDevice: boolean;
  userKeys: 'own-wraps' | 'local-cache' | 'passkey-backup' | 'awaiting-approval';
  backup: 'current' | 'failed' | 'none';
};

const T = TEST_WEBAUTHN_TIMEOUT_MS;
const ALICE = 'alice@example.org';
const BACKUP = 'passkey-backup';

let d: BrowserDirectory;

beforeAll(async () => {
  d = await startBrowserDirectory({ '/': 'packages/sdk/test/browser-pages/backup-page.ts', '/audit': 'packages/sdk/test/browser-pages/identity-page.ts' });
});

afterAll(async () => {
  await d?.close();
});

async function failure(p: Promise<unknown>): Promise<PageError> {
  const e = await p.catch((x: unknown) => x);
  expect(e).toBeInstanceOf(PageError);
  return e as PageError;
}

async function backupOf(account: string): Promise<Uint8Array | undefined> {
  return (await d.store.getBlob(account, BACKUP))?.bytes;
}

describe('passkey backup', () => {
  let alice: TestPage;
  let bob: TestPage;
  let first: Summary;
  let second: Summary;

  it('Alice registers with a PRF passkey: her backup is on the directory; Bob (security key) has none', async () => {
    alice = await openPage(d.browser, `${d.origin}/`, AUTHENTICATORS.passkeyWithPrf);
    first = await callPage<Summary>(alice, 'register', d.vkey, ALICE, 'Alice', T);
    expect(first).toMatchObject({ account: ALICE, mode: 'prf', newDevice: true, userKeys: 'own-wraps', backup: 'current' });
    const sealed = await backupOf(ALICE);
    // version || nonce || one chain entry (3 + 36 bytes) || tag
    expect(sealed?.length).toBe(1 + 12 + 3 + 36 + 16);

    bob = await openPage(d.browser, `${d.origin}/`, AUTHENTICATORS.securityKeyWithoutPrf);
    expect(await callPage<Summary>(bob, 'register', d.vkey, 'bob@example.org', 'Bob', T)).toMatchObject({ mode: 'no-prf', backup: 'none' });
    expect(await backupOf('bob@example.org')).toBeUndefined();
  });

  it('she receives messages, and the backup follows a rotation', async () => {
    await callPage(bob, 'send', ALICE, 'before the rotation');
    expect(await callPage<string[]>(alice, 'readMailbox')).toEqual(['before the rotation']);
    const before = await backupOf(ALICE);
    expect(await callPage<number>(alice, 'rotate')).toBe(2);
    const after = await backupOf(ALICE);
    expect(after?.length).toBe(1 + 12 + 3 + 2 * 36 + 16);
    expect(Buffer.from(after!).equals(Buffer.from(before!))).toBe(false);
    await callPage(bob, 'send', ALICE, 'after the rotation');
    expect(await callPage<string[]>(alice, 'readMailbox')).toEqual(['before the rotation', 'after the rotation']);
  });

  it('a tampered backup is refused (E_AUTH_FAILED) and nothing is published', async () => {
    const good = (await backupOf(ALICE))!;
    const size = await d.treeSize();
    await wipeOriginAndReload(alice, d.origin);
    for (const i of [0, 5, 20, good.length - 1]) {
      const bad = new Uint8Array(good);
      bad[i]! ^= 0x01;
      await d.store.putBlob({ ownerId: ALICE, name: BACKUP, bytes: bad, updatedAt: Date.now() });
      const e = await failure(callPage(alice, 'signIn', d.vkey, ALICE, T));
      // Byte 0 is the format version: E_FORMAT; any other byte fails authentication.
      expect(e.code).toBe(i === 0 ? 'E_FORMAT' : 'E_AUTH_FAILED');
    }
    await d.store.putBlob({ ownerId: ALICE, name: BACKUP, bytes: good.slice(0, 20), updatedAt: Date.now() });
    expect((await failure(callPage(alice, 'signIn', d.vkey, ALICE, T))).code).toBe('E_FORMAT');
    expect(await d.treeSize()).toBe(size);
    const { state } = await d.nodeClient().lookup(ALICE);
    expect(state.devices.map((x) => x.id)).toEqual([first.deviceId]);
    await d.store.putBlob({ ownerId: ALICE, name: BACKUP, bytes: good, updatedAt: Date.now() });
  });

  it("another account's backup is refused, and so is one sealed with her own key for another account", async () => {
    // Carol's passkey has its own PRF, hence another key.
    const carol = await openPage(d.browser, `${d.origin}/`, AUTHENTICATORS.passkeyWithPrf);
    expect(await callPage<Summary>(carol, 'register', d.vkey, 'carol@example.org', 'Carol', T)).toMatchObject({ backup: 'current' });
    const carols = (await backupOf('carol@example.org'))!;
    const good = (await backupOf(ALICE))!;
    const size = await d.treeSize();
    await d.store.putBlob({ ownerId: ALICE, name: BACKUP, bytes: carols, updatedAt: Date.now() });
    expect((await failure(callPage(alice, 'signIn', d.vkey, ALICE, T))).code).toBe('E_AUTH_FAILED');
    // Alice's own passkey-backup key, but the account in the associated data is another one.
    const sealedFor = await callPage<{ sealedB64: string; opensForItsAccount: boolean }>(alice, 'sealChainWithPrf', d.vkey, ALICE, 'mallory@example.org', T);
    expect(sealedFor.opensForItsAccount).toBe(true); // control: a well-formed backup, for the other account
    const forged = Buffer.from(sealedFor.sealedB64, 'base64url');
    await d.store.putBlob({ ownerId: ALICE, name: BACKUP, bytes: new Uint8Array(forged), updatedAt: Date.now() });
    expect((await failure(callPage(alice, 'signIn', d.vkey, ALICE, T))).code).toBe('E_AUTH_FAILED');
    expect(await d.treeSize()).toBe(size);
    await d.store.putBlob({ ownerId: ALICE, name: BACKUP, bytes: good, updatedAt: Date.now() });
  });

  it('with her storage wiped and no other device online, she signs in, enrols a new device and reads her history from the backup', async () => {
    // The storage was wiped in the previous tests (same tab, same authenticator: the same PRF).
    expect(await callPage<string | null>(alice, 'sealedCache', ALICE)).toBeNull();
    second = await callPage<Summary>(alice, 'signIn', d.vkey, undefined, T, 'rebuilt browser');
    expect(second).toMatchObject({ account: ALICE, mode: 'prf', newDevice: true, userKeys: 'passkey-backup', backup: 'current' });
    expect(second.deviceId).not.toBe(first.deviceId);
    expect(await callPage<string[]>(alice, 'readMailbox')).toEqual(['before the rotation', 'after the rotation']);

    // The new device is certified by her root and holds its own wrap of a new epoch (no
    // dependence on the backup from now on); the backup holds that epoch too.
    const { state } = await d.nodeClient().lookup(ALICE);
    expect(state.devices.map((x) => x.id).sort()).toEqual([first.deviceId, second.deviceId].sort());
    expect(state.userKey?.epoch).toBe(3);
    expect(state.userKey?.wraps.has(second.deviceId)).toBe(true);
    expect((await backupOf(ALICE))?.length).toBe(1 + 12 + 3 + 3 * 36 + 16);

    await callPage(bob, 'send', ALICE, 'to the rebuilt browser');
    expect(await callPage<string[]>(alice, 'readMailbox')).toEqual(['before the rotation', 'after the rotation', 'to the rebuilt browser']);
  });

  it('a second wipe restores again, now from the updated backup', async () => {
    await wipeOriginAndReload(alice, d.origin);
    const third = await callPage<Summary>(alice, 'signIn', d.vkey, ALICE, T, 'third browser');
    expect(third).toMatchObject({ newDevice: true, userKeys: 'passkey-backup' });
    expect(await callPage<string[]>(alice, 'readMailbox')).toEqual(['before the rotation', 'after the rotation', 'to the rebuilt browser']);
  });

  it('without PRF the chain comes from an existing device: the new browser waits for approval', async () => {
    const bobPhone = await openPage(d.browser, `${d.origin}/`, AUTHENTICATORS.securityKeyWithoutPrf);
    expect(await cloneCredentials(bob, bobPhone)).toBe(1);
    await callPage(bob, 'send', 'bob@example.org', 'note to self');
    const phone = await callPage<Summary>(bobPhone, 'signIn', d.vkey, 'bob@example.org', T, 'phone');
    expect(phone).toMatchObject({ mode: 'no-prf', newDevice: true, userKeys: 'awaiting-approval', backup: 'none' });
    expect(await callPage<string[]>(bobPhone, 'readMailbox')).toEqual(['error:E_NOT_RECIPIENT']);
    await callPage(bob, 'rotate'); // the existing device approves
    expect(await callPage<string[]>(bobPhone, 'readMailbox')).toEqual(['note to self']);
    expect(await backupOf('bob@example.org')).toBeUndefined();
  });

  it('the PRF output is in no request body, server log line, SQLite file, nor IndexedDB', async () => {
    const prf = Buffer.from(await callPage<string>(alice, 'rawPrfOutput', T), 'base64url');
    expect(prf.length).toBe(32);
    const { text, bytes } = d.serverSide();
    expect(d.bodies.some((b) => b.includes('"dataB64"'))).toBe(true); // the backups were sent
    expect(text).toContain(ALICE); // control: the search finds what the server keeps
    for (const form of [prf.toString('base64url'), prf.toString('base64'), prf.toString('hex')]) {
      expect(text).not.toContain(form);
      expect(bytes.includes(Buffer.from(form))).toBe(false);
    }
    expect(bytes.includes(prf)).toBe(false);
    for (const b of d.bodies) expect(b).not.toMatch(/"results"/);

    const tab = await alice.context.newPage();
    await tab.goto(`${d.origin}/audit`);
    await tab.waitForFunction(() => (globalThis as { sigilTest?: unknown }).sigilTest !== undefined);
    const stored = await callPage<string[]>({ ...alice, page: tab }, 'storedBytes');
    await tab.close();
    const cache = await callPage<string | null>(alice, 'sealedCache', ALICE);
    expect(cache).not.toBeNull();
    expect(stored).toContain(cache); // control: the walk sees the sealed cache
    for (const b of stored) expect(Buffer.from(b, 'base64url').includes(prf)).toBe(false);
  });
});
