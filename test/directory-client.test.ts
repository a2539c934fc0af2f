import { mkdtemp, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DirectoryClient, Sigil, encrypt } from '@sigil/sdk';
import { MemoryClientStateStore, type ClientStateStore } from '@sigil/sdk/directory';
import { chainAfter, signStatement } from '@sigil/sdk/identity';
import { compareCheckpoints } from '@sigil/sdk/transparency';
import { proveDevicePossession } from '@sigil/sdk/identity';
import { FileClientStateStore } from '@sigil/sdk/node';
import { FakeDirectory, newDeviceKeys, newRoot } from './support/lying-directory.js';
import { codeOf, str, text } from './support/codes.js';

async function setup() {
  const dir = await FakeDirectory.create();
  const opts = (state?: ClientStateStore) => ({ directory: dir.url, logPublicKey: dir.vkey, fetch: dir.fetch, ...(state ? { state } : {}) });
  const aliceRoot = await newRoot();
  const aliceKeys = await newDeviceKeys('alice laptop');
  const alice = await Sigil.enrolService({ ...opts(), account: 'alice@example.test', root: aliceRoot, keys: aliceKeys, deviceName: 'laptop' });
  const bobRoot = await newRoot();
  const bobKeys = await newDeviceKeys('bob server');
  const bob = await Sigil.enrolService({ ...opts(), account: 'bob@example.test', root: bobRoot, keys: bobKeys, deviceName: 'server' });
  return { dir, opts, alice, aliceRoot, aliceKeys, bob, bobRoot, bobKeys };
}

describe('DirectoryClient and Sigil against an honest directory', () => {
  it('enrols service accounts; lookups verify genesis, certificate and first epoch', async () => {
    const { dir, opts } = await setup();
    const client = new DirectoryClient({ url: dir.url, logPublicKey: dir.vkey, fetch: dir.fetch });
    const bob = await client.lookup('bob@example.test');
    expect(bob.kind).toBe('service');
    expect(bob.statements.map((s) => s.leafIndex)).toEqual([3, 4, 5]);
    expect(bob.state.devices).toHaveLength(1);
    expect(bob.state.userKey?.epoch).toBe(1);
    expect(bob.checkpoint.size).toBe(6);
    expect(await codeOf(client.lookup('nobody@example.test'))).toBe('E_UNKNOWN_ACCOUNT');
    expect(opts().directory).toBe(dir.url);
  });

  it('encrypts to account ids and decrypts with the sender account verified, both ways', async () => {
    const { alice, bob } = await setup();
    const e1 = await alice.encrypt(text('hello bob'), { to: ['bob@example.test'] });
    const r1 = await bob.decrypt(e1, { from: 'alice@example.test' });
    expect(str(r1.plaintext)).toBe('hello bob');
    expect(r1.sender).toEqual({ accountId: 'alice@example.test', deviceId: alice.deviceId });
    const e2 = await bob.encrypt(text('hello alice'), { to: ['alice@example.test', 'bob@example.test'] });
    expect(str((await alice.decrypt(e2, { from: 'bob@example.test' })).plaintext)).toBe('hello alice');
    expect(str((await bob.decrypt(e2, { from: 'bob@example.test' })).plaintext)).toBe('hello alice');
    // Alice is not a recipient of her own message to bob.
    expect(await codeOf(alice.decrypt(e1, { from: 'alice@example.test' }))).toBe('E_NOT_RECIPIENT');
    // The envelope names its sender account under the signature: no `from` needed.
    expect((await bob.decrypt(e1)).sender).toEqual({ accountId: 'alice@example.test', deviceId: alice.deviceId });
  });

  it('an envelope that names no sender account needs { from }, and is checked against it', async () => {
    const { alice, bob, aliceKeys } = await setup();
    const bobKey = (await alice.directory.lookup('bob@example.test')).state.userKey!;
    const anonymous = await encrypt(text('who?'), { to: [{ publicKey: bobKey.publicKey, epoch: bobKey.epoch, accountId: 'bob@example.test' }], from: { backend: aliceKeys.backend, ref: aliceKeys.signing } });
    expect(await codeOf(bob.decrypt(anonymous))).toBe('E_BAD_SIGNATURE');
    expect(str((await bob.decrypt(anonymous, { from: 'alice@example.test' })).plaintext)).toBe('who?');
    expect(await codeOf(bob.decrypt(anonymous, { from: 'bob@example.test' }))).toBe('E_BAD_SIGNATURE');
  });

  it('rejects a validly signed envelope whose key is not a device of the account it names', async () => {
    const { alice, bob } = await setup();
    const outsider = await newDeviceKeys('outsider');
    const bobKey = (await alice.directory.lookup('bob@example.test')).state.userKey!;
    const from = { backend: outsider.backend, ref: outsider.signing, accountId: 'alice@example.test' };
    const forged = await encrypt(text('trust me'), { to: [{ publicKey: bobKey.publicKey, epoch: bobKey.epoch, accountId: 'bob@example.test' }], from });
    expect(await codeOf(bob.decrypt(forged, { from: 'alice@example.test' }))).toBe('E_BAD_SIGNATURE');
    expect(await codeOf(bob.decrypt(forged))).toBe('E_BAD_SIGNATURE');
    // Signed by bob's own device (and naming bob) but expected from alice.
    const fromBob = await bob.encrypt(text('x'), { to: ['bob@example.test'] });
    expect(await codeOf(bob.decrypt(fromBob, { from: 'alice@example.test' }))).toBe('E_BAD_SIGNATURE');
  });

  it('rotates: old envelopes still open by walking the chain back; new ones use the new epoch', async () => {
    const { alice, bob, bobKeys } = await setup();
    const before = await alice.encrypt(text('epoch 1'), { to: ['bob@example.test'] });
    expect(await bob.rotate()).toBe(2);
    expect(await bob.rotate()).toBe(3);
    const after = await alice.encrypt(text('epoch 3'), { to: ['bob@example.test'] });
    // A second instance of the same device, with no cached keys, walks 3 → 2 → 1.
    const again = await Sigil.connect({ directory: bob.directory, account: 'bob@example.test', keys: bobKeys });
    expect(str((await again.decrypt(before, { from: 'alice@example.test' })).plaintext)).toBe('epoch 1');
    expect(str((await again.decrypt(after, { from: 'alice@example.test' })).plaintext)).toBe('epoch 3');
  });

  it('adds a device that reads history, revokes one that then reads nothing new', async () => {
    const { opts, alice, bob, bobRoot } = await setup();
    const old = await alice.encrypt(text('before the phone'), { to: ['bob@example.test'] });
    const phoneKeys = await newDeviceKeys('bob phone');
    const phoneId = await bob.addDevice({ name: 'phone', signingKey: phoneKeys.signing.publicKey, agreementKey: phoneKeys.agreement.publicKey, possessionSignature: await proveDevicePossession('bob@example.test', phoneKeys) }, { root: bobRoot });
    const phone = await Sigil.connect({ ...opts(), account: 'bob@example.test', keys: phoneKeys });
    expect(phone.deviceId).toBe(phoneId);
    expect(str((await phone.decrypt(old, { from: 'alice@example.test' })).plaintext)).toBe('before the phone');
    const mid = await alice.encrypt(text('both devices'), { to: ['bob@example.test'] });
    expect(str((await phone.decrypt(mid, { from: 'alice@example.test' })).plaintext)).toBe('both devices');

    await bob.revokeDevice(phoneId, { root: bobRoot });
    const after = await alice.encrypt(text('not for the phone'), { to: ['bob@example.test'] });
    expect(str((await bob.decrypt(after, { from: 'alice@example.test' })).plaintext)).toBe('not for the phone');
    expect(await codeOf(phone.decrypt(after, { from: 'alice@example.test' }))).toBe('E_NOT_RECIPIENT');
    expect(await codeOf(Sigil.connect({ ...opts(), account: 'bob@example.test', keys: phoneKeys }))).toBe('E_KEY_REVOKED');
    // What the phone signs is no longer accepted as bob's.
    const bobKey = (await alice.directory.lookup('alice@example.test')).state.userKey!;
    const fromPhone = await encrypt(text('x'), {
      to: [{ publicKey: bobKey.publicKey, epoch: bobKey.epoch, accountId: 'alice@example.test' }],
      from: { backend: phoneKeys.backend, ref: phoneKeys.signing, accountId: 'bob@example.test' },
    });
    expect(await codeOf(alice.decrypt(fromPhone))).toBe('E_KEY_REVOKED');
  });

  it('refuses to encrypt to an epoch still held by a revoked device (revocation published, rotation not yet)', async () => {
    const { alice, bob, bobRoot } = await setup();
    const phoneKeys = await newDeviceKeys('bob phone');
    const phoneId = await bob.addDevice({ name: 'phone', signingKey: phoneKeys.signing.publicKey, agreementKey: phoneKeys.agreement.publicKey, possessionSignature: await proveDevicePossession('bob@example.test', phoneKeys) }, { root: bobRoot });
    const { state } = await bob.directory.lookup('bob@example.test');
    await bob.directory.publish(await signStatement({ kind: 'device-revocation', ...chainAfter(state, bobRoot.ref.id), deviceId: phoneId }, bobRoot));
    expect(await codeOf(alice.encrypt(text('x'), { to: ['bob@example.test'] }))).toBe('E_KEY_REVOKED');
    await bob.rotate();
    expect(await alice.encrypt(text('x'), { to: ['bob@example.test'] })).toBeInstanceOf(Uint8Array);
  });

  it('streams: encryptStream to accounts, decryptStream releases nothing before the sender verified', async () => {
    const { alice, bob } = await setup();
    const big = new Uint8Array(200_000).map((_, i) => i % 251);
    const collect = async (r: ReadableStream<Uint8Array>) => new Uint8Array(await new Response(r).arrayBuffer());
    const envelope = await collect(new Blob([big]).stream().pipeThrough(await alice.encryptStream({ to: ['bob@example.test'] })));
    const ok = bob.decryptStream({ from: 'alice@example.test' });
    const [plain, sender] = await Promise.all([collect(new Blob([envelope]).stream().pipeThrough(ok)), ok.sender]);
    expect(Buffer.from(plain).equals(Buffer.from(big))).toBe(true);
    expect(sender).toEqual({ accountId: 'alice@example.test', deviceId: alice.deviceId });
    // The same envelope claimed to be from bob: the stream errors and yields no byte.
    const wrong = bob.decryptStream({ from: 'bob@example.test' });
    const got: Uint8Array[] = [];
    const piping = new Blob([envelope]).stream().pipeThrough(wrong).pipeTo(new WritableStream({ write: (c) => void got.push(c) }));
    expect(await codeOf(piping)).toBe('E_BAD_SIGNATURE');
    expect(await codeOf(wrong.sender)).toBe('E_BAD_SIGNATURE');
    expect(got).toEqual([]);
  });

  it('mailbox: send, list, decrypt with the listed sender, delete', async () => {
    const { dir, alice, bob } = await setup();
    const id = await alice.send('bob@example.test', text('via mailbox'));
    const inbox = await bob.list();
    expect(inbox.map((m) => m.id)).toEqual([id]);
    const m = inbox[0]!;
    expect(m.senderId).toBe('alice@example.test');
    expect(str((await bob.decrypt(m.envelope, { from: m.senderId })).plaintext)).toBe('via mailbox');
    expect(await bob.list({ after: id })).toEqual([]);
    dir.dropSessions(); // bob's cached session is now unknown: he signs in again, once, by himself
    await bob.delete(id);
    expect(await bob.list()).toEqual([]);
    expect(await alice.list()).toEqual([]);
  });

  it('remembers the checkpoint in a JSON file (0600, atomic) and a new process catches a rollback', async () => {
    const { dir } = await setup();
    const folder = await mkdtemp(join(tmpdir(), 'sigil-state-'));
    const file = join(folder, 'state.json');
    const client = new DirectoryClient({ url: dir.url, logPublicKey: dir.vkey, fetch: dir.fetch, state: new FileClientStateStore(file) });
    const old = await dir.checkpointNote(3);
    await client.lookup('bob@example.test');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(await readFile(file, 'utf8'));
    expect(saved.version).toBe(1);
    expect(saved.checkpoint).toBe(await dir.checkpointNote());
    expect(saved.accounts['bob@example.test'].seq).toBe(2);

    // A new client on the same file (a restarted process) is shown an old checkpoint.
    dir.hooks.push((path, body) => (path === '/v1/log/checkpoint' ? { note: old } : body));
    const restarted = new DirectoryClient({ url: dir.url, logPublicKey: dir.vkey, fetch: dir.fetch, state: new FileClientStateStore(file) });
    expect(await codeOf(restarted.checkpoint())).toBe('E_DIRECTORY_ROLLBACK');
    // A fresh memory would have trusted it: that is what the file is for.
    const fresh = new DirectoryClient({ url: dir.url, logPublicKey: dir.vkey, fetch: dir.fetch });
    expect((await fresh.checkpoint()).size).toBe(3);

    // Concurrent saves are serialised; each write replaces the file whole, no temp file is left.
    const store = new FileClientStateStore(file);
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.saveAccountHead(`a${i}@example.test`, { seq: i, head: new Uint8Array(32).fill(i) })));
    const again = new FileClientStateStore(file);
    expect((await again.loadAccountHead('a19@example.test'))?.seq).toBe(19);
    expect(Buffer.from((await again.loadAccountHead('a7@example.test'))!.head)).toEqual(Buffer.alloc(32, 7));
    expect(await readdir(folder)).toEqual(['state.json']);

    await writeFile(file, '{"version":1,"accounts":{"x":{"seq":-1}}}');
    expect(await codeOf(new FileClientStateStore(file).loadCheckpoint())).toBe('E_FORMAT');
    await writeFile(file, 'not json');
    expect(await codeOf(new FileClientStateStore(file).loadCheckpoint())).toBe('E_FORMAT');
  });

  it('the memory store keeps heads and checkpoints; lookups only move the heads forward', async () => {
    const { dir, bob } = await setup();
    const state = new MemoryClientStateStore();
    const client = new DirectoryClient({ url: dir.url, logPublicKey: dir.vkey, fetch: dir.fetch, state });
    await client.lookup('bob@example.test');
    expect((await state.loadAccountHead('bob@example.test'))?.seq).toBe(2);
    await bob.rotate();
    await client.lookup('bob@example.test');
    expect((await state.loadAccountHead('bob@example.test'))?.seq).toBe(3);
    expect(await state.loadCheckpoint()).toBe(await client.latestCheckpoint());
  });

  it('compareCheckpoints: same tree, older prefix with a proof, and a proof is required across sizes', async () => {
    const { dir } = await setup();
    const a = await dir.checkpointNote(4);
    const b = await dir.checkpointNote(6);
    expect(await compareCheckpoints(b, b, { logPublicKey: dir.vkey })).toBe('same');
    expect(await compareCheckpoints(a, b, { logPublicKey: dir.vkey, consistencyProof: await dir.consistency(4, 6) })).toBe('first-is-older');
    expect(await compareCheckpoints(b, a, { logPublicKey: dir.vkey, consistencyProof: await dir.consistency(4, 6) })).toBe('second-is-older');
    expect(await codeOf(compareCheckpoints(a, b, { logPublicKey: dir.vkey }))).toBe('E_DIRECTORY_PROOF');
    const client = new DirectoryClient({ url: dir.url, logPublicKey: dir.vkey, fetch: dir.fetch });
    await client.checkpoint();
    expect(await client.compareCheckpoint(a)).toBe('second-is-older');
  });

  it('caller misuse is a TypeError or RangeError', async () => {
    const { dir, alice, bob } = await setup();
    expect(() => new DirectoryClient({ url: 'not a url', logPublicKey: dir.vkey })).toThrow(TypeError);
    const client = new DirectoryClient({ url: dir.url, logPublicKey: dir.vkey, fetch: dir.fetch });
    expect(() => client.lookup('has space')).toThrow(TypeError);
    await expect(alice.encrypt(text('x'), { to: [] })).rejects.toThrow(TypeError);
    await expect(alice.encrypt('x' as never, { to: ['bob@example.test'] })).rejects.toThrow(TypeError);
    await expect(bob.revokeDevice(bob.deviceId, { root: await newRoot() })).rejects.toThrow(RangeError);
  });
});

describe('DirectoryClient.publish after 409 E_CONFLICT (issue 13, item 5)', () => {
  const conflict = () => Response.json({ error: { code: 'E_CONFLICT', message: 'Another statement was appended.' } }, { status: 409 });

  /** Bob's client over a fetch where `answer` decides each POST /v1/statements (n counts from 1). */
  async function bobWith(answer: (n: number, pass: () => Promise<Response>) => Promise<Response>) {
    const { dir, bob, bobRoot } = await setup();
    let posts = 0;
    const fetch = async (input: string, init?: RequestInit) => {
      if (init?.method === 'POST' && new URL(input).pathname === '/v1/statements') return answer(++posts, () => dir.fetch(input, init));
      return dir.fetch(input, init);
    };
    const client = new DirectoryClient({ url: dir.url, logPublicKey: dir.vkey, fetch });
    const state = (await client.lookup('bob@example.test')).state;
    const phone = await newDeviceKeys('bob phone');
    const possessionSignature = await proveDevicePossession('bob@example.test', phone);
    const statement = await signStatement(
      { kind: 'device-certificate', ...chainAfter(state, bobRoot.ref.id), device: { signingKey: phone.signing.publicKey, agreementKey: phone.agreement.publicKey, possessionSignature, name: 'phone' } },
      bobRoot,
    );
    return { client, statement, posts: () => posts, bob };
  }

  it('an earlier attempt that landed: refetches, finds the statement at the head, sends nothing more', async () => {
    const { client, statement, posts } = await bobWith(async (_n, pass) => {
      await pass(); // stored, but the answer is lost in a race with another request
      return conflict();
    });
    const account = await client.publish(statement);
    expect(posts()).toBe(1);
    expect(account.statements.at(-1)!.statement).toEqual(statement);
  });

  it('a lost race: refetches, then sends once more', async () => {
    const { client, statement, posts } = await bobWith(async (n, pass) => (n === 1 ? conflict() : pass()));
    const account = await client.publish(statement);
    expect(posts()).toBe(2);
    expect(account.statements.at(-1)!.statement).toEqual(statement);
  });

  it('a second 409 is the caller\'s: E_DIRECTORY with detail E_CONFLICT, after exactly two attempts', async () => {
    const { client, statement, posts } = await bobWith(async () => conflict());
    const e = await client.publish(statement).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(posts()).toBe(2);
    expect((e as { code?: string }).code).toBe('E_DIRECTORY');
    expect((e as { detail?: string }).detail).toBe('E_CONFLICT');
  });
});
