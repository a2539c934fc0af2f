// End to end: the real `sigil-server serve` (a child process, on loopback, log key in SoftHSM),
// two service accounts whose roots and device keys are in SoftHSM, one account rooted at the soft
// WebAuthn authenticator (the test double for a browser). Envelopes go through the mailbox in
// every direction; bob rotates; carol adds a phone and revokes it; the revoked phone reads nothing
// sent afterwards. Then the SQLite file (and -wal, -shm) and the server's whole output are searched
// for every plaintext, session token and private key byte this process can get at.
//
// What cannot be searched for: keys inside SoftHSM (the log key, the service roots and devices)
// are CKA_SENSITIVE and non-extractable, so no one, this test included, can read their bytes.
// The soft authenticator's key is captured at generation (node:crypto is wrapped below, test only);
// the WebCrypto device keys are exported through node:crypto's KeyObject (test only: Node does not
// enforce `extractable: false` against KeyObject.from); the users' keys of every epoch are opened
// from their wraps.
import { spawn, type ChildProcess } from 'node:child_process';
import type { KeyObject } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DirectoryClient, Sigil, WebCryptoKeyBackend, type DeviceKeys, type KeyBackend, type KeyRef, type RootSigner } from '@sigil/sdk';
import { keyIdOf } from '@sigil/sdk/backend';
import { openUserKeyWrap } from '@sigil/sdk/identity';
import { logVerifierKey } from '@sigil/sdk/transparency';
import { proveDevicePossession } from '@sigil/sdk/identity';
import { Pkcs11KeyBackend } from '@sigil/hsm-adapter';
import { createSoftHsmTestToken, type SoftHsmTestToken } from '@sigil/hsm-adapter/testing';
import { SoftWebAuthn } from './support/soft-webauthn.js';
import { codeOf, str, text } from './support/codes.js';

// Test-only capture of every key pair node:crypto generates in this process (the soft
// authenticator's private key has no other way out).
const generated = vi.hoisted(() => [] as KeyObject[]);
vi.mock('node:crypto', async (importOriginal) => {
  const original = await importOriginal<typeof import('node:crypto')>();
  const generateKeyPairSync = ((...args: Parameters<typeof original.generateKeyPairSync>) => {
    const pair = (original.generateKeyPairSync as (...a: unknown[]) => { privateKey: KeyObject; publicKey: KeyObject })(...args);
    generated.push(pair.privateKey);
    return pair;
  }) as typeof original.generateKeyPairSync;
  return { ...original, default: { ...original, generateKeyPairSync }, generateKeyPairSync };
});

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ORIGIN = 'http://localhost:8787';
const RP_ID = 'localhost';
const LOG_ORIGIN = 'localhost/sigil-log';
const webauthn = { rpId: RP_ID, origins: [ORIGIN] };
const ALICE = 'alice-svc@example.test';
const BOB = 'bob-svc@example.test';
const CAROL = 'carol@example.test';

let work: string;
let token: SoftHsmTestToken;
let server: ChildProcess | undefined;
let output = '';
let url = '';
let vkey = '';
const backends: Pkcs11KeyBackend[] = [];

async function startServer(db: string, pin: string): Promise<void> {
  const child = spawn(
    process.execPath,
    [
      '--conditions=development',
      '--import',
      'tsx',
      join(root, 'packages/server/src/cli/main.ts'),
      'serve',
      ...['--db', db, '--port', '0', '--host', '127.0.0.1', '--rp-id', RP_ID, '--origin', ORIGIN, '--log-origin', LOG_ORIGIN],
      ...['--pkcs11-module', token.module, '--token', 'sigil-log', '--key-label', 'sigil-log'],
    ],
    { cwd: root, env: { ...process.env, ...token.env, TSX_TSCONFIG_PATH: 'tsconfig.test.json', SIGIL_PKCS11_PIN: pin }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  server = child;
  child.stdout!.on('data', (d: Buffer) => (output += d.toString('utf8')));
  url = await new Promise<string>((ok, fail) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      output += d.toString('utf8');
      err += d.toString('utf8');
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) ok(m[1]!);
    });
    child.once('exit', (code) => fail(new Error(`sigil-server exited with ${code}: ${err}`)));
  });
}

async function stopServer(): Promise<void> {
  const child = server;
  server = undefined;
  if (child === undefined || child.exitCode !== null) return;
  await new Promise<void>((ok) => {
    child.once('exit', () => ok());
    child.kill('SIGTERM');
  });
}

/** Device keys on a SoftHSM token. */
async function tokenDevice(backend: Pkcs11KeyBackend, label: string): Promise<DeviceKeys> {
  return {
    backend,
    signing: await backend.generateKeyPair({ usage: 'sign', label: `${label} signing` }),
    agreement: await backend.generateKeyPair({ usage: 'agree', label: `${label} agreement` }),
  };
}

/** WebCrypto device keys, non-extractable, with their private scalars exported for the search (test only). */
async function webCryptoDevice(label: string, secrets: Uint8Array[]): Promise<DeviceKeys> {
  const backend = new WebCryptoKeyBackend();
  const { KeyObject: KO } = await import('node:crypto');
  const adopt = async (usage: 'sign' | 'agree') => {
    const alg = usage === 'sign' ? { name: 'ECDSA', namedCurve: 'P-256' } : { name: 'ECDH', namedCurve: 'P-256' };
    const pair = (await crypto.subtle.generateKey(alg, false, usage === 'sign' ? ['sign', 'verify'] : ['deriveBits'])) as CryptoKeyPair;
    secrets.push(new Uint8Array(Buffer.from(KO.from(pair.privateKey).export({ format: 'jwk' }).d!, 'base64url')));
    return backend.adoptKeyPair({ privateKey: pair.privateKey, publicKey: pair.publicKey, usage, label });
  };
  return { backend, signing: await adopt('sign'), agreement: await adopt('agree') };
}

function encodings(secret: Uint8Array): string[] {
  const b = Buffer.from(secret);
  return [b.toString('hex'), b.toString('hex').toUpperCase(), b.toString('base64'), b.toString('base64url')];
}

/** Every place in `haystack` where a secret appears, raw or in a text encoding. */
function findSecrets(haystack: Buffer, secrets: readonly { name: string; bytes: Uint8Array }[]): string[] {
  const found: string[] = [];
  const asText = haystack.toString('latin1');
  for (const s of secrets) {
    if (haystack.indexOf(Buffer.from(s.bytes)) >= 0) found.push(`${s.name} (raw)`);
    for (const e of encodings(s.bytes)) if (asText.includes(e)) found.push(`${s.name} (${e.slice(0, 8)}…)`);
  }
  return found;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'sigil-e2e-'));
  token = await createSoftHsmTestToken({ label: 'svc-alice' });
  await token.addToken({ label: 'svc-bob', pin: token.pin });
  await token.addToken({ label: 'sigil-log', pin: token.pin });
  // The log key is made on its token here, and its vkey computed from the token's public key:
  // that is the pin, out of band. The server finds the key by label.
  const logToken = await Pkcs11KeyBackend.open({ module: token.module, token: 'sigil-log', pin: token.pin });
  const logKey = await logToken.generateKeyPair({ usage: 'sign', label: 'sigil-log' });
  vkey = (await logVerifierKey(LOG_ORIGIN, logKey.publicKey)).vkey;
  await logToken.close();
  await startServer(join(work, 'sigil.db'), token.pin);
});

afterAll(async () => {
  await stopServer();
  for (const b of backends) await b.close();
  await token?.remove();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe('end to end against the real directory', () => {
  it('service and WebAuthn accounts exchange envelopes, rotate, revoke; no secret reaches the database or the logs', async () => {
    expect(output).toContain(vkey); // the server prints the key it signs with: the one pinned
    const secrets: { name: string; bytes: Uint8Array }[] = [];
    const plaintexts: string[] = [];
    const say = (s: string) => {
      const p = `${s} #${crypto.randomUUID()}`;
      plaintexts.push(p);
      return text(p);
    };
    const common = { directory: url, logPublicKey: vkey, webauthn };

    // Two service accounts: roots and device keys on SoftHSM tokens.
    const aliceToken = await Pkcs11KeyBackend.open({ module: token.module, token: 'svc-alice', pin: token.pin });
    const bobToken = await Pkcs11KeyBackend.open({ module: token.module, token: 'svc-bob', pin: token.pin });
    backends.push(aliceToken, bobToken);
    const aliceRoot = { backend: aliceToken as KeyBackend, ref: await aliceToken.generateKeyPair({ usage: 'sign', label: 'alice root' }) };
    const bobRoot = { backend: bobToken as KeyBackend, ref: await bobToken.generateKeyPair({ usage: 'sign', label: 'bob root' }) };
    const aliceKeys = await tokenDevice(aliceToken, 'alice');
    const bobKeys = await tokenDevice(bobToken, 'bob');
    const alice = await Sigil.enrolService({ ...common, account: ALICE, root: aliceRoot, keys: aliceKeys, deviceName: 'alice-svc-1' });
    const bob = await Sigil.enrolService({ ...common, account: BOB, root: bobRoot, keys: bobKeys, deviceName: 'bob-svc-1' });

    // Carol: registered with the soft authenticator, root = that credential.
    const authenticatorKeysBefore = generated.length;
    const soft = new SoftWebAuthn({ rpId: RP_ID, origin: ORIGIN });
    for (const k of generated.slice(authenticatorKeysBefore)) {
      secrets.push({ name: 'authenticator private key', bytes: new Uint8Array(Buffer.from(k.export({ format: 'jwk' }).d!, 'base64url')) });
    }
    expect(secrets).toHaveLength(1);
    const registrar = new DirectoryClient({ url, logPublicKey: vkey, webauthn });
    const options = (await registrar.webAuthnRegistrationOptions(CAROL, 'Carol')) as { challenge: string };
    const registration = await registrar.webAuthnRegister(CAROL, soft.register(new Uint8Array(Buffer.from(options.challenge, 'base64url'))));
    expect(Buffer.from(registration.credential.publicKey)).toEqual(Buffer.from(soft.publicKey));
    const deviceSecrets: Uint8Array[] = [];
    const carolKeys = await webCryptoDevice('carol laptop', deviceSecrets);
    const carolRoot: RootSigner = { id: await keyIdOf(soft.publicKey), getAssertion: soft.getAssertion };
    const carol = await Sigil.enrolWebAuthn({
      directory: registrar,
      account: CAROL,
      root: { rpId: RP_ID, credentialId: soft.credentialId, publicKey: soft.publicKey, getAssertion: soft.getAssertion },
      registrationSession: registration.session,
      keys: carolKeys,
      deviceName: 'carol laptop',
      webauthn,
    });
    secrets.push({ name: 'registration session token', bytes: new Uint8Array(Buffer.from(registration.session.token, 'base64url')) });

    // Every direction through the mailbox.
    const users = { [ALICE]: alice, [BOB]: bob, [CAROL]: carol };
    const expectInbox = async (who: Sigil, expected: { from: string; text: string }[]) => {
      const inbox = await who.list();
      const got = [];
      for (const m of inbox) {
        const r = await who.decrypt(m.envelope, { from: m.senderId });
        expect(r.sender.accountId).toBe(m.senderId);
        got.push({ from: r.sender.accountId, text: str(r.plaintext) });
        await who.delete(m.id);
      }
      expect(got).toEqual(expected);
    };
    const sent: Record<string, { from: string; text: string }[]> = { [ALICE]: [], [BOB]: [], [CAROL]: [] };
    for (const [from, sender] of Object.entries(users)) {
      for (const to of Object.keys(users)) {
        if (to === from) continue;
        const msg = say(`${from} to ${to}`);
        await sender.send(to, msg);
        sent[to]!.push({ from, text: str(msg) });
      }
    }
    for (const [who, s] of Object.entries(users)) await expectInbox(s, sent[who]!);

    // Bob rotates; an envelope of the old epoch still opens, a new one uses epoch 2.
    const old = await alice.encrypt(say('to bob, epoch 1'), { to: [BOB] });
    expect(await bob.rotate()).toBe(2);
    const fresh = await alice.encrypt(say('to bob, epoch 2'), { to: [BOB] });
    const bobAgain = await Sigil.connect({ ...common, account: BOB, keys: bobKeys });
    expect(str((await bobAgain.decrypt(old, { from: ALICE })).plaintext)).toContain('epoch 1');
    expect(str((await bobAgain.decrypt(fresh, { from: ALICE })).plaintext)).toContain('epoch 2');

    // Carol adds a phone (her authenticator signs), the phone reads; then she revokes it.
    const phoneKeys = await webCryptoDevice('carol phone', deviceSecrets);
    const phoneId = await carol.addDevice({ name: 'phone', signingKey: phoneKeys.signing.publicKey, agreementKey: phoneKeys.agreement.publicKey, possessionSignature: await proveDevicePossession(CAROL, phoneKeys) }, { root: carolRoot });
    const phone = await Sigil.connect({ ...common, account: CAROL, keys: phoneKeys });
    await bob.send(CAROL, say('bob to carol, phone can read'));
    const [m1] = await phone.list();
    expect(str((await phone.decrypt(m1!.envelope, { from: m1!.senderId })).plaintext)).toContain('phone can read');
    await phone.delete(m1!.id);

    await carol.revokeDevice(phoneId, { root: carolRoot });
    await bob.send(CAROL, say('bob to carol, after the revocation'));
    const [m2] = await carol.list();
    expect(str((await carol.decrypt(m2!.envelope, { from: BOB })).plaintext)).toContain('after the revocation');
    expect(await codeOf(phone.decrypt(m2!.envelope, { from: BOB }))).toBe('E_NOT_RECIPIENT');
    // The directory gives the revoked phone no new session either.
    expect(await codeOf(phone.directory.serviceSession(CAROL, { backend: phoneKeys.backend, ref: phoneKeys.signing }))).toBe('E_UNAUTHORIZED');
    expect(await codeOf(Sigil.connect({ ...common, account: CAROL, keys: phoneKeys }))).toBe('E_KEY_REVOKED');
    await carol.delete(m2!.id);

    // Collect the remaining secrets: device keys, user keys of every epoch, session tokens.
    for (const [i, d] of deviceSecrets.entries()) secrets.push({ name: `WebCrypto device key ${i}`, bytes: d });
    const userKeysOf = async (account: string, keys: DeviceKeys) => {
      const client = new DirectoryClient({ url, logPublicKey: vkey, webauthn });
      const session = await client.serviceSession(account, { backend: keys.backend, ref: keys.signing });
      secrets.push({ name: `${account} session token`, bytes: new Uint8Array(Buffer.from(session.token, 'base64url')) });
      const { state } = await client.lookup(account);
      const id = keys.signing.id;
      for (const e of state.userKeys) {
        const hash = e.wraps.get(id);
        if (hash === undefined) continue;
        const pair = await openUserKeyWrap(state, e.epoch, await client.blob(account, hash, session), { id, backend: keys.backend, agreementKey: keys.agreement as KeyRef });
        secrets.push({ name: `${account} user key epoch ${e.epoch}`, bytes: pair.privateKey });
      }
      return state.userKeys.length;
    };
    expect(await userKeysOf(ALICE, aliceKeys)).toBe(1);
    expect(await userKeysOf(BOB, bobKeys)).toBe(2);
    expect(await userKeysOf(CAROL, carolKeys)).toBe(3); // enrol, phone added, phone revoked
    for (const p of plaintexts) secrets.push({ name: `plaintext "${p.slice(0, 24)}…"`, bytes: text(p) });
    expect(secrets.length).toBeGreaterThanOrEqual(1 + 2 + 3 + 6 + 3 + 10);

    // Search, while the server runs (recent writes are in the -wal) and after it stopped.
    const db = join(work, 'sigil.db');
    const files = async () =>
      Buffer.concat(await Promise.all(['', '-wal', '-shm'].map((s) => readFile(db + s).catch(() => Buffer.alloc(0)))));
    const live = await files();
    // Not vacuous: the database does hold the public keys and statements it should.
    expect(live.indexOf(Buffer.from(aliceRoot.ref.publicKey))).toBeGreaterThanOrEqual(0);
    expect(live.indexOf(Buffer.from(soft.publicKey))).toBeGreaterThanOrEqual(0);
    expect(findSecrets(live, [{ name: 'control', bytes: aliceRoot.ref.publicKey }])).toContain('control (raw)'); // the search works
    expect(findSecrets(live, secrets)).toEqual([]);
    await stopServer();
    expect(output).toContain('"msg":"stopped"');
    const stopped = await files();
    expect(stopped.length).toBeGreaterThan(0);
    expect(findSecrets(stopped, secrets)).toEqual([]);
    expect(findSecrets(Buffer.from(output, 'utf8'), secrets)).toEqual([]);
    expect(output).toContain('/v1/mailbox'); // the log did record the traffic
  });
});
