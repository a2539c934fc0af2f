// The malicious-directory cases against the REAL directory (the Hono app of @sigil/server over
// SQLite, in process), its answers tampered with in transit (lyingFetch), and a real fork: two
// real directories sharing one log key and growing different histories.
import { describe, expect, it } from 'vitest';
import { DirectoryClient, Sigil, WebCryptoKeyBackend, type KeyBackend, type KeyRef } from '@sigil/sdk';
import { decodeSignedStatement } from '@sigil/sdk/identity';
import { compareCheckpoints } from '@sigil/sdk/transparency';
import { proveDevicePossession } from '@sigil/sdk/identity';
import { SqliteStore, TransparencyLog, createDirectoryApp } from '@sigil/server';
import { lyingFetch, newDeviceKeys, newRoot, type AccountAnswer } from './support/lying-directory.js';
import { codeOf, text } from './support/codes.js';

const URL_BASE = 'http://directory.test';
const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const CAROL = 'carol@example.test';
const b64u = (b: Uint8Array) => Buffer.from(b).toString('base64url');

async function realDirectory(signer?: { backend: KeyBackend; key: KeyRef }) {
  const store = new SqliteStore(':memory:');
  const logSigner = signer ?? (await (async () => {
    const backend = new WebCryptoKeyBackend();
    return { backend, key: await backend.generateKeyPair({ usage: 'sign', label: 'log' }) };
  })());
  const log = new TransparencyLog(store, { origin: 'directory.test/log', signer: logSigner });
  const { app } = createDirectoryApp({ store, log, config: { authRateLimit: { limit: 100_000, windowMs: 60_000 } } });
  const vkey = (await log.verifierKey()).vkey;
  const mitm = lyingFetch(async (input, init) => app.request(input, init));
  const opts = { directory: URL_BASE, logPublicKey: vkey, fetch: mitm.fetch };
  const enrol = async (account: string) => {
    const root = await newRoot();
    const keys = await newDeviceKeys(account);
    return { sigil: await Sigil.enrolService({ ...opts, account, root, keys, deviceName: 'device' }), root, keys };
  };
  const onAccount = (id: string, f: (a: AccountAnswer) => AccountAnswer | Promise<AccountAnswer>) =>
    mitm.hooks.push((path, body) => (path === `/v1/accounts/${encodeURIComponent(id)}` ? f(body as AccountAnswer) : body));
  const client = () => new DirectoryClient({ url: URL_BASE, logPublicKey: vkey, fetch: mitm.fetch });
  return { store, log, logSigner, vkey, hooks: mitm.hooks, opts, enrol, onAccount, client, close: () => store.close() };
}

async function world() {
  const d = await realDirectory();
  const alice = await d.enrol(ALICE);
  const bob = await d.enrol(BOB);
  const carol = await d.enrol(CAROL);
  await alice.sigil.directory.lookup(BOB);
  const mailboxSize = async () => (await d.store.listMessages(BOB)).length;
  const refused = async (sender: Sigil, code: string) => {
    const before = await mailboxSize();
    expect(await codeOf(sender.send(BOB, text('for bob only')))).toBe(code);
    expect(await codeOf(sender.encrypt(text('for bob only'), { to: [BOB] }))).toBe(code);
    expect(await mailboxSize()).toBe(before);
  };
  const fresh = () => Sigil.connect({ ...d.opts, account: ALICE, keys: alice.keys });
  return { d, alice, bob, carol, refused, fresh };
}

describe('the real directory, lying in transit', () => {
  it('honest: a round trip through the real app, with the lying layer idle', async () => {
    const { alice, bob, d } = await world();
    await alice.sigil.send(BOB, text('hello'));
    const [m] = await bob.sigil.list();
    expect(new TextDecoder().decode((await bob.sigil.decrypt(m!.envelope, { from: m!.senderId })).plaintext)).toBe('hello');
    await d.close();
  });

  it('swapped user key in the answer', async () => {
    const { d, alice, refused, fresh } = await world();
    const mallory = await newDeviceKeys('mallory');
    d.onAccount(BOB, (a) => {
      const last = Buffer.from(a.statements[2]!.statementB64, 'base64url');
      const epoch = decodeSignedStatement(last).statement;
      if (epoch.kind !== 'user-key-epoch') throw new Error('expected the epoch statement');
      last.set(mallory.agreement.publicKey, last.indexOf(Buffer.from(epoch.userPublicKey))); // the attacker's key in its place
      return { ...a, statements: [...a.statements.slice(0, 2), { ...a.statements[2]!, statementB64: last.toString('base64url') }] };
    });
    await refused(alice.sigil, 'E_DIRECTORY_PROOF');
    await refused(await fresh(), 'E_DIRECTORY_PROOF');
    await d.close();
  });

  it('a valid statement served for the wrong account', async () => {
    const { d, refused, fresh } = await world();
    const carol = (await (await d.client()).lookup(CAROL)).statements;
    d.onAccount(BOB, (a) => ({ ...a, statements: [...a.statements.slice(0, 2), { ...a.statements[2]!, leafIndex: carol[2]!.leafIndex, statementB64: b64u(carol[2]!.statement) }] }));
    await refused(await fresh(), 'E_DIRECTORY_PROOF');
    await d.close();
  });

  it('bad inclusion proof, foreign checkpoint key, rolled-back checkpoint', async () => {
    const { d, alice, bob, refused, fresh } = await world();
    d.onAccount(BOB, (a) => ({ ...a, statements: a.statements.map((s, i) => (i === 1 ? { ...s, inclusionB64: Buffer.from(s.inclusionB64, 'base64url').subarray(0, -32).toString('base64url') } : s)) }));
    await refused(alice.sigil, 'E_DIRECTORY_PROOF');
    d.hooks.length = 0;

    const impostor = await realDirectory();
    await impostor.enrol(BOB);
    const foreign = (await impostor.client().checkpoint()).note;
    d.onAccount(BOB, (a) => ({ ...a, checkpoint: foreign }));
    await refused(await fresh(), 'E_DIRECTORY_PROOF');
    d.hooks.length = 0;

    const old = (await d.client().checkpoint()).note;
    await bob.sigil.rotate();
    await alice.sigil.directory.lookup(BOB);
    d.hooks.push((path, body) => (path === '/v1/log/checkpoint' ? { note: old } : body));
    expect(await codeOf(alice.sigil.directory.checkpoint())).toBe('E_DIRECTORY_ROLLBACK');
    await d.close();
    await impostor.close();
  });

  it('dropped revocation: the client that saw it, and the account\'s own device, catch the rollback', async () => {
    const { d, alice, bob, refused } = await world();
    const phone = await newDeviceKeys('phone');
    const phoneId = await bob.sigil.addDevice({ name: 'phone', signingKey: phone.signing.publicKey, agreementKey: phone.agreement.publicKey, possessionSignature: await proveDevicePossession(BOB, phone) }, { root: bob.root });
    await bob.sigil.revokeDevice(phoneId, { root: bob.root });
    await alice.sigil.directory.lookup(BOB);
    d.onAccount(BOB, (a) => ({ ...a, statements: a.statements.slice(0, -2) }));
    await refused(alice.sigil, 'E_DIRECTORY_ROLLBACK');
    expect(await codeOf(bob.sigil.rotate())).toBe('E_DIRECTORY_ROLLBACK');
    await d.close();
  });

  it('a real fork: two real directories with one log key and different histories, caught by gossip', async () => {
    const a = await realDirectory();
    const b = await realDirectory(a.logSigner);
    await a.enrol(ALICE);
    await b.enrol(CAROL); // same size, different leaves
    const onA = a.client();
    const onB = b.client();
    await onA.checkpoint();
    await onB.checkpoint();
    const noteA = (await onA.latestCheckpoint())!;
    const noteB = (await onB.latestCheckpoint())!;
    expect(await codeOf(compareCheckpoints(noteA, noteB, { logPublicKey: a.vkey }))).toBe('E_DIRECTORY_FORK');
    expect(await codeOf(onA.compareCheckpoint(noteB))).toBe('E_DIRECTORY_FORK');
    await b.enrol(BOB); // B grows: A never signed that size; B cannot connect A's tree to its own
    const noteB2 = (await onB.checkpoint()).note;
    expect(await codeOf(onA.compareCheckpoint(noteB2))).toBe('E_DIRECTORY_ROLLBACK');
    expect(await codeOf(onB.compareCheckpoint(noteA))).toBe('E_DIRECTORY_FORK');
    await a.close();
    await b.close();
  });
});
