// First browser end-to-end: real Chromium, the real directory (@sigil/server over SQLite, in
// process, same origin as the page), the SDK's public API in the page. Alice registers with a
// PRF passkey; her device keys are stored non-extractable; her genesis, device certificate and
// first user-key epoch are in the log, verified from Node by a DirectoryClient with the pinned
// log key. She signs in again after a reload; Bob does the same with a security key (no PRF);
// they write to each other; a service account on SoftHSM reads Alice and answers her. Alice adds
// a second device and revokes the first. Failed ceremonies (timeout, bad UV, bogus signature,
// replay) change nothing; the server never sees a plaintext or a PRF output; no stored private
// key of any browser profile can be exported.
import { statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { Sigil, type DeviceKeys, type KeyBackend } from '@sigil/sdk';
import { Pkcs11KeyBackend } from '@sigil/hsm-adapter';
import { createSoftHsmTestToken } from '@sigil/hsm-adapter/testing';
import {
  AUTHENTICATORS,
  PageError,
  TEST_WEBAUTHN_TIMEOUT_MS,
  callPage,
  cloneCredentials,
  openPage,
  saveScreenshot,
  wipeOriginAndReload,
  setPresence,
  setResponseOverrideBits,
  type TestPage,
  type TestServer,
} from '../support/browser.js';
import { startBrowserDirectory, type BrowserDirectory } from './directory-harness.js';

type Summary = { account: string; mode: 'prf' | 'no-prf'; deviceId: string; hasKeks: boolean; rootId: string };
type Audit = { privateKeys: number; extractableFlags: boolean[]; exported: number; failures: string[] };

const T = TEST_WEBAUTHN_TIMEOUT_MS;

let d: BrowserDirectory;
let browser: Browser;
let server: TestServer;
let vkey: string;

async function reloadPage(tp: TestPage): Promise<void> {
  await tp.page.reload();
  await tp.page.waitForFunction(() => (globalThis as { sigilTest?: unknown }).sigilTest !== undefined);
}

beforeAll(async () => {
  d = await startBrowserDirectory({ '/': 'packages/sdk/test/browser-pages/account-page.ts', '/audit': 'packages/sdk/test/browser-pages/identity-page.ts' });
  ({ browser, server, vkey } = d);
});

afterAll(async () => {
  await d?.close();
});

const serverSide = () => d.serverSide();
const nodeClient = () => d.nodeClient();

describe('browser accounts against the real directory', () => {
  let alice: TestPage;
  let aliceReg: Summary;
  let bob: TestPage;
  let phone: TestPage;
  let oldAliceView: string;
  type Opened = { text: string; sender: { accountId: string; deviceId: string } };

  it('Alice registers with a PRF passkey: root, device and first user-key epoch are in the verified log', async () => {
    alice = await openPage(browser, `${server.origin}/`, AUTHENTICATORS.passkeyWithPrf);
    aliceReg = await callPage<Summary>(alice, 'register', vkey, 'alice@example.org', 'Alice', T);
    expect(aliceReg).toMatchObject({ account: 'alice@example.org', mode: 'prf', hasKeks: true });

    const { state, kind } = await nodeClient().lookup('alice@example.org');
    expect(kind).toBe('user');
    expect(state.roots).toHaveLength(1);
    expect(state.roots[0]).toMatchObject({ type: 'webauthn', rpId: 'localhost', id: aliceReg.rootId });
    expect(state.devices.map((d) => d.id)).toEqual([aliceReg.deviceId]);
    expect(state.userKey?.epoch).toBe(1);
    expect([...(state.userKey?.wraps.keys() ?? [])]).toEqual([aliceReg.deviceId]);

    oldAliceView = await (await fetch(`${server.origin}/v1/accounts/alice%40example.org`)).text();
    const rt = await callPage<{ text: string; sender: { accountId: string; deviceId: string } }>(alice, 'roundTrip', ['alice@example.org'], 'note to self');
    expect(rt.text).toBe('note to self');
    expect(rt.sender).toEqual({ accountId: 'alice@example.org', deviceId: aliceReg.deviceId });
  });

  it('her device keys are in IndexedDB and cannot be exported', async () => {
    // The audit page is the same origin, so it sees the same IndexedDB (another tab, no authenticator needed).
    const tab = await alice.context.newPage();
    await tab.goto(`${server.origin}/audit`);
    await tab.waitForFunction(() => (globalThis as { sigilTest?: unknown }).sigilTest !== undefined);
    const audit = await callPage<Audit>({ ...alice, page: tab }, 'auditStoredPrivateKeys');
    expect(audit.privateKeys).toBe(2);
    expect(audit.extractableFlags).toEqual([false, false]);
    expect(audit.exported).toBe(0);
    await tab.close();
  });

  it('after a reload she signs in (discoverable) with the same device and PRF mode', async () => {
    await reloadPage(alice);
    // The directory client's memory outlived the page: the checkpoint and her account head.
    const tab = await alice.context.newPage();
    await tab.goto(`${server.origin}/audit`);
    await tab.waitForFunction(() => (globalThis as { sigilTest?: unknown }).sigilTest !== undefined);
    const remembered = await callPage<{ note: string | null; seq: number | null }>({ ...alice, page: tab }, 'defaultClientState', 'alice@example.org');
    await tab.close();
    expect(remembered.note).toMatch(/^sigil\.test\/log\n\d+\n/);
    expect(remembered.seq).toBe(2); // genesis 0, certificate 1, user-key epoch 2
    const s = await callPage<Summary>(alice, 'signIn', vkey, undefined, T);
    expect(s).toEqual({ ...aliceReg });
    const rt = await callPage<{ text: string }>(alice, 'roundTrip', ['alice@example.org'], 'still me');
    expect(rt.text).toBe('still me');
  });

  it('Bob registers with a security key without PRF; Alice and Bob encrypt to each other', async () => {
    bob = await openPage(browser, `${server.origin}/`, AUTHENTICATORS.securityKeyWithoutPrf);
    const bobReg = await callPage<Summary>(bob, 'register', vkey, 'bob@example.org', 'Bob', T);
    expect(bobReg).toMatchObject({ mode: 'no-prf', hasKeks: false });
    await reloadPage(bob);
    const s = await callPage<Summary>(bob, 'signIn', vkey, 'bob@example.org', T);
    expect(s).toEqual(bobReg);
    // Bob writes to Alice (and himself); each opens it through their own verified path.
    const toAlice = await callPage<string>(bob, 'encryptTo', ['alice@example.org', 'bob@example.org'], 'hello alice');
    expect(await callPage<Opened>(alice, 'decryptFrom', toAlice, 'bob@example.org')).toEqual({
      text: 'hello alice',
      sender: { accountId: 'bob@example.org', deviceId: bobReg.deviceId },
    });
    expect((await callPage<Opened>(bob, 'decryptFrom', toAlice, 'bob@example.org')).text).toBe('hello alice');
    // Alice answers; Bob reads it; a third party's claim of authorship is refused.
    const toBob = await callPage<string>(alice, 'encryptTo', ['bob@example.org'], 'hi bob');
    expect(await callPage<Opened>(bob, 'decryptFrom', toBob, 'alice@example.org')).toEqual({
      text: 'hi bob',
      sender: { accountId: 'alice@example.org', deviceId: aliceReg.deviceId },
    });
    const shot = await saveScreenshot(bob, 'browser-e2e-bob');
    expect(statSync(shot).size).toBeGreaterThan(0);
    const forged = await callPage(bob, 'decryptFrom', toBob, 'bob@example.org').catch((e: unknown) => e);
    expect((forged as PageError).code).toBe('E_BAD_SIGNATURE');
    // Alice cannot read what was sealed to Bob alone.
    const notHers = await callPage(alice, 'decryptFrom', toBob, 'alice@example.org').catch((e: unknown) => e);
    expect((notHers as PageError).code).toBe('E_NOT_RECIPIENT');
  });

  it('a service account whose keys are in SoftHSM reads a message from Alice and answers her', async () => {
    const token = await createSoftHsmTestToken({ label: 'svc-browser-e2e' });
    const hsm = await Pkcs11KeyBackend.open(token.location);
    try {
      const backend: KeyBackend = hsm;
      const root = { backend, ref: await hsm.generateKeyPair({ usage: 'sign', label: 'svc root' }) };
      const keys: DeviceKeys = {
        backend,
        signing: await hsm.generateKeyPair({ usage: 'sign', label: 'svc signing' }),
        agreement: await hsm.generateKeyPair({ usage: 'agree', label: 'svc agreement' }),
      };
      const svc = await Sigil.enrolService({
        directory: server.origin,
        logPublicKey: vkey,
        webauthn: { rpId: 'localhost', origins: [server.origin] },
        account: 'svc@example.org',
        root,
        keys,
        deviceName: 'svc-1',
      });
      const question = await callPage<string>(alice, 'encryptTo', ['svc@example.org'], 'question for the service');
      const read = await svc.decrypt(new Uint8Array(Buffer.from(question, 'base64url')));
      expect(new TextDecoder().decode(read.plaintext)).toBe('question for the service');
      expect(read.sender).toEqual({ accountId: 'alice@example.org', deviceId: aliceReg.deviceId });
      const answer = await svc.encrypt(new TextEncoder().encode('answer from the service'), { to: ['alice@example.org'] });
      expect(await callPage<Opened>(alice, 'decryptFrom', Buffer.from(answer).toString('base64url'), 'svc@example.org')).toEqual({
        text: 'answer from the service',
        sender: { accountId: 'svc@example.org', deviceId: svc.deviceId },
      });
    } finally {
      await hsm.close();
      await token.remove();
    }
  });

  it('Alice adds a second device (her passkey, synced), which reads her history once the first approves; then she revokes the first', async () => {
    const before = await callPage<string>(bob, 'encryptTo', ['alice@example.org'], 'sent before the second device');
    phone = await openPage(browser, `${server.origin}/`, AUTHENTICATORS.passkeyWithPrf);
    expect(await cloneCredentials(alice, phone)).toBe(1);
    const phoneReg = await callPage<Summary>(phone, 'enrolDevice', vkey, 'alice@example.org', 'phone', T);
    expect(phoneReg.account).toBe('alice@example.org');
    expect(phoneReg.deviceId).not.toBe(aliceReg.deviceId);
    expect(phoneReg.rootId).toBe(aliceReg.rootId);
    // A CDP-cloned credential signs but never returns PRF output (Chromium keeps hmac-secret out).
    expect(phoneReg.mode).toBe('no-prf');

    // Certified but not yet holding any user key: nothing to read.
    const early = await callPage(phone, 'decryptFrom', before, 'bob@example.org').catch((e: unknown) => e);
    expect((early as PageError).code).toBe('E_NOT_RECIPIENT');
    // The first device approves by rotating: epoch 2 is wrapped to both devices, epoch 1 by walking back.
    expect(await callPage<number>(alice, 'rotate')).toBe(2);
    expect((await callPage<Opened>(phone, 'decryptFrom', before, 'bob@example.org')).text).toBe('sent before the second device');

    // From the phone, Alice revokes the laptop (root assertion), which rotates the user key.
    await callPage(phone, 'revokeDevice', aliceReg.deviceId);
    const { state } = await nodeClient().lookup('alice@example.org');
    expect(state.devices.map((d) => d.id)).toEqual([phoneReg.deviceId]);
    expect(state.revokedDevices.map((d) => d.id)).toEqual([aliceReg.deviceId]);
    expect(state.userKey?.epoch).toBe(3);
    expect([...(state.userKey?.wraps.keys() ?? [])]).toEqual([phoneReg.deviceId]);

    const after = await callPage<string>(bob, 'encryptTo', ['alice@example.org'], 'sent after the revocation');
    expect((await callPage<Opened>(phone, 'decryptFrom', after, 'bob@example.org')).text).toBe('sent after the revocation');
    const revoked = await callPage(alice, 'decryptFrom', after, 'bob@example.org').catch((e: unknown) => e);
    expect((revoked as PageError).code).toBe('E_NOT_RECIPIENT');
    // The phone cannot enrol twice.
    const again = await callPage(phone, 'enrolDevice', vkey, 'alice@example.org', 'phone', T).catch((e: unknown) => e);
    expect((again as PageError).code).toBe('E_KEY_POLICY');
  });

  it('after a reload, a directory serving an old view of her account is caught (the memory is in IndexedDB)', async () => {
    await reloadPage(phone);
    d.intercept = (req) =>
      req.method === 'GET' && new URL(req.url).pathname === '/v1/accounts/alice%40example.org'
        ? new Response(oldAliceView, { status: 200, headers: { 'content-type': 'application/json' } })
        : undefined;
    try {
      const e = await callPage(phone, 'signIn', vkey, 'alice@example.org', T).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(PageError);
      expect((e as PageError).code).toBe('E_DIRECTORY_ROLLBACK');
    } finally {
      d.intercept = undefined;
    }
    expect((await callPage<Summary>(phone, 'signIn', vkey, 'alice@example.org', T)).account).toBe('alice@example.org');
  });

  it('refuses a taken account id and a credential of another account', async () => {
    const mallory = await openPage(browser, `${server.origin}/`, AUTHENTICATORS.passkeyWithPrf);
    const taken = await callPage(mallory, 'register', vkey, 'alice@example.org', 'Not Alice', T).catch((e: unknown) => e);
    expect(taken).toBeInstanceOf(PageError);
    expect((taken as PageError).code).toBe('E_DIRECTORY');
    // Alice's credential, asked to sign in as Bob: the directory offers only Bob's credentials,
    // which Alice's authenticator does not hold, so the ceremony fails quickly.
    const wrong = await callPage(alice, 'signIn', vkey, 'bob@example.org', 1_000).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(PageError);
    expect((wrong as PageError).code).toBe('E_WEBAUTHN');
  });

  it("no plaintext and no PRF output reaches the server's files, log or request bodies, nor IndexedDB", async () => {
    const prf = Buffer.from(await callPage<string>(alice, 'rawPrfOutput', T), 'base64url');
    expect(prf.length).toBe(32);
    const plaintexts = [
      'note to self',
      'still me',
      'hello alice',
      'hi bob',
      'question for the service',
      'answer from the service',
      'sent before the second device',
      'sent after the revocation',
    ];
    const { text, bytes } = serverSide();
    // Controls: the search does find what the server is meant to keep.
    expect(bytes.includes(Buffer.from('alice@example.org'))).toBe(true);
    expect(text).toContain('alice@example.org');
    for (const p of plaintexts) {
      expect(text).not.toContain(p);
      expect(bytes.includes(Buffer.from(p))).toBe(false);
    }
    for (const form of [prf.toString('base64url'), prf.toString('base64'), prf.toString('hex')]) expect(text).not.toContain(form);
    expect(bytes.includes(prf)).toBe(false);
    expect(bytes.includes(Buffer.from(prf.toString('base64url')))).toBe(false);

    const tab = await alice.context.newPage();
    await tab.goto(`${server.origin}/audit`);
    await tab.waitForFunction(() => (globalThis as { sigilTest?: unknown }).sigilTest !== undefined);
    const stored = await callPage<string[]>({ ...alice, page: tab }, 'storedBytes');
    await tab.close();
    expect(stored.length).toBeGreaterThan(0); // the public keys at least
    for (const b of stored) expect(Buffer.from(b, 'base64url').includes(prf)).toBe(false);

    // Every browser profile of the run (Alice's two devices, Bob's, the refused one): every
    // private key stored in IndexedDB is non-extractable, and every export attempt fails.
    let total = 0;
    for (const context of browser.contexts()) {
      const page = await context.newPage();
      await page.goto(`${server.origin}/audit`);
      await page.waitForFunction(() => (globalThis as { sigilTest?: unknown }).sigilTest !== undefined);
      const audit = await callPage<Audit>({ ...alice, page }, 'auditStoredPrivateKeys');
      await page.close();
      expect(audit.exported).toBe(0);
      expect(audit.extractableFlags.every((x) => !x)).toBe(true);
      expect(audit.failures).toHaveLength(audit.privateKeys * 3);
      total += audit.privateKeys;
    }
    expect(browser.contexts().length).toBeGreaterThanOrEqual(4);
    expect(total).toBeGreaterThanOrEqual(6);
  });

  it('the server never received a PRF result, and logged no token', async () => {
    expect(d.bodies.length).toBeGreaterThan(0);
    for (const b of d.bodies) expect(b).not.toMatch(/"results"/);
    const tokens = d.answers.flatMap((b) => [...b.matchAll(/"token":"([A-Za-z0-9_-]+)"/g)].map((m) => m[1] as string));
    expect(tokens.length).toBeGreaterThan(0);
    for (const line of d.logger.lines) for (const t of tokens) expect(line).not.toContain(t);
  });
});

describe('failed ceremonies end in a clear error in the page and change nothing', () => {
  const treeSize = () => d.treeSize();

  async function failure(p: Promise<unknown>): Promise<PageError> {
    const e = await p.catch((x: unknown) => x);
    expect(e).toBeInstanceOf(PageError);
    return e as PageError;
  }

  it('registration: no touch (timeout), bad UV, bogus signature on the genesis', async () => {
    const carol = await openPage(browser, `${server.origin}/`, AUTHENTICATORS.passkeyWithPrf);
    const size = await treeSize();

    await setPresence(carol, false);
    const timedOut = await failure(callPage(carol, 'register', vkey, 'carol@example.org', 'Carol', 1_000));
    expect([timedOut.code, timedOut.detail]).toEqual(['E_WEBAUTHN', 'NotAllowedError']);
    await setPresence(carol, true);

    await setResponseOverrideBits(carol, { isBadUV: true });
    const badUv = await failure(callPage(carol, 'register', vkey, 'carol@example.org', 'Carol', T));
    expect(badUv.code).toBe('E_UNAUTHORIZED'); // the directory's relying party requires UV

    // Attestation 'none' carries no signature, so the registration passes; the genesis assertion
    // is then bogus, refused in the page before anything is published: the account has no history.
    await setResponseOverrideBits(carol, { isBogusSignature: true });
    const bogus = await failure(callPage(carol, 'register', vkey, 'carol@example.org', 'Carol', T));
    expect([bogus.code, bogus.detail]).toEqual(['E_WEBAUTHN', 'signature']);
    await setResponseOverrideBits(carol, {});

    // The log did not move. The registration itself is stored (the directory created the account
    // and its credential before the genesis was refused), so the account has no verifiable history.
    expect(await treeSize()).toBe(size);
    await expect(nodeClient().lookup('carol@example.org')).rejects.toMatchObject({ code: 'E_DIRECTORY_PROOF' });

    // Registering again in the same browser resumes: it signs in with the registered credential
    // and publishes what is missing (the id is not lost to a cancelled touch).
    const resumed = await callPage<Summary>(carol, 'register', vkey, 'carol@example.org', 'Carol', T);
    expect(resumed).toMatchObject({ account: 'carol@example.org', mode: 'prf', hasKeks: true });
    const { state } = await nodeClient().lookup('carol@example.org');
    expect(state.devices.map((x) => x.id)).toEqual([resumed.deviceId]);
    expect(state.userKey?.epoch).toBe(1);
    expect(await treeSize()).toBe(size + 3); // genesis, certificate, user-key epoch
  });

  it('registration resumes after the genesis when the certificate was not published', async () => {
    const erin = await openPage(browser, `${server.origin}/`, AUTHENTICATORS.securityKeyWithoutPrf);
    const size = await treeSize();
    let statements = 0;
    d.intercept = (req) => {
      if (req.method === 'POST' && new URL(req.url).pathname === '/v1/statements' && ++statements === 2) {
        return new Response(JSON.stringify({ error: { code: 'E_UNAVAILABLE', message: 'try later' } }), { status: 503, headers: { 'content-type': 'application/json' } });
      }
      return undefined;
    };
    try {
      const first = await failure(callPage(erin, 'register', vkey, 'erin@example.org', 'Erin', T));
      expect(first.code).toBe('E_DIRECTORY');
    } finally {
      d.intercept = undefined;
    }
    expect(await treeSize()).toBe(size + 1); // the genesis only
    const resumed = await callPage<Summary>(erin, 'register', vkey, 'erin@example.org', 'Erin', T);
    expect(resumed.mode).toBe('no-prf');
    const { state } = await nodeClient().lookup('erin@example.org');
    expect(state.devices.map((x) => x.id)).toEqual([resumed.deviceId]);
    expect(state.userKey?.epoch).toBe(1);
    expect(await treeSize()).toBe(size + 3);
    // Complete: a third call is an ordinary conflict, and the device keys are untouched.
    expect((await failure(callPage(erin, 'register', vkey, 'erin@example.org', 'Erin', T))).code).toBe('E_DIRECTORY');
    expect(await callPage<Summary>(erin, 'signIn', vkey, 'erin@example.org', T)).toEqual(resumed);
  });

  it('sign-in: bad UV, bogus signature, replayed assertion', async () => {
    const dave = await openPage(browser, `${server.origin}/`, AUTHENTICATORS.passkeyWithPrf);
    const daveReg = await callPage<Summary>(dave, 'register', vkey, 'dave@example.org', 'Dave', T);
    const size = await treeSize();

    await setResponseOverrideBits(dave, { isBadUV: true });
    expect((await failure(callPage(dave, 'signIn', vkey, 'dave@example.org', T))).code).toBe('E_UNAUTHORIZED');
    await setResponseOverrideBits(dave, { isBogusSignature: true });
    expect((await failure(callPage(dave, 'signIn', vkey, 'dave@example.org', T))).code).toBe('E_UNAUTHORIZED');
    await setResponseOverrideBits(dave, {});

    const replay = await callPage<{ first: string; second: string }>(dave, 'replaySignIn', vkey, 'dave@example.org', T);
    expect(replay.first).toBe('dave@example.org');
    expect(replay.second).toMatch(/^E_(UNAUTHORIZED|DIRECTORY)\//);

    // Honest again: Dave signs in, same device, and the log did not move.
    expect(await callPage<Summary>(dave, 'signIn', vkey, 'dave@example.org', T)).toEqual(daveReg);
    expect(await treeSize()).toBe(size);

    // The same passkey on a fresh browser (storage wiped): no device here, said plainly; it
    // enrols as a new device, with PRF (the same authenticator).
    await wipeOriginAndReload(dave, server.origin);
    const none = await failure(callPage(dave, 'signIn', vkey, 'dave@example.org', T));
    expect([none.code, none.detail]).toEqual(['E_KEY_NOT_FOUND', 'no-device']);
    const fresh = await callPage<Summary>(dave, 'enrolDevice', vkey, undefined, 'fresh browser', T);
    expect(fresh).toMatchObject({ account: 'dave@example.org', mode: 'prf', hasKeks: true, rootId: daveReg.rootId });
    expect(fresh.deviceId).not.toBe(daveReg.deviceId);
    const { state } = await nodeClient().lookup('dave@example.org');
    expect(state.devices.map((x) => x.id).sort()).toEqual([daveReg.deviceId, fresh.deviceId].sort());
  });
});
