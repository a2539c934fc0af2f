// The directory replaced by one that lies (test/support/lying-directory.ts). Each lie must be
// caught with E_DIRECTORY_PROOF or a sharper code, and nothing may be encrypted to a key the
// recipient's root did not sign: the mailbox stays empty and `encrypt` returns no envelope.
import { describe, expect, it } from 'vitest';
import { DirectoryClient, Sigil } from '@sigil/sdk';
import { MemoryClientStateStore } from '@sigil/sdk/directory';
import {
  chainAfter,
  createUserKeyEpoch,
  encodeSignedStatement,
  encodeStatement,
  signStatement,
  statementSignatureInput,
  type AccountState,
} from '@sigil/sdk/identity';
import { compareCheckpoints } from '@sigil/sdk/transparency';
import { proveDevicePossession } from '@sigil/sdk/identity';
import { FakeDirectory, newDeviceKeys, newRoot, type AccountAnswer } from './support/lying-directory.js';
import { codeOf, text } from './support/codes.js';

const b64u = (b: Uint8Array) => Buffer.from(b).toString('base64url');

const BOB = 'bob@example.test';
const ALICE = 'alice@example.test';
const CAROL = 'carol@example.test';

async function world() {
  const dir = await FakeDirectory.create();
  const opts = { directory: dir.url, logPublicKey: dir.vkey, fetch: dir.fetch };
  const enrol = async (account: string) => {
    const root = await newRoot();
    const keys = await newDeviceKeys(account);
    const sigil = await Sigil.enrolService({ ...opts, account, root, keys, deviceName: 'device' });
    return { sigil, root, keys };
  };
  const alice = await enrol(ALICE);
  const bob = await enrol(BOB);
  const carol = await enrol(CAROL);
  /** A client that has seen nothing yet (a new process with empty memory). */
  const fresh = () => Sigil.connect({ ...opts, account: ALICE, keys: alice.keys });
  /** Alice sends to bob through the mailbox; expects `code` and nothing stored. */
  const refused = async (sender: Sigil, code: string) => {
    const before = dir.mailbox.length;
    expect(await codeOf(sender.send(BOB, text('for bob only')))).toBe(code);
    expect(await codeOf(sender.encrypt(text('for bob only'), { to: [BOB] }))).toBe(code);
    expect(dir.mailbox.length).toBe(before);
  };
  /** Alice's client has looked bob up once, honestly. */
  await alice.sigil.directory.lookup(BOB);
  return { dir, opts, alice, bob, carol, fresh, refused };
}

/** Rewrites GET /v1/accounts/<id> answers. */
function onAccount(dir: FakeDirectory, id: string, f: (a: AccountAnswer) => AccountAnswer | Promise<AccountAnswer>) {
  dir.hooks.push((path, body) => (path === `/v1/accounts/${encodeURIComponent(id)}` ? f(body as AccountAnswer) : body));
}

/** An attacker's key pretending to be a root or device of `state`'s account. */
async function attackerEpoch(state: AccountState) {
  const mallory = await newDeviceKeys('mallory');
  // The user-key epoch names an attacker "device" as signer; its wraps go to the attacker.
  const fakeState: AccountState = {
    ...state,
    devices: [{ id: mallory.signing.id, name: 'x', signingKey: mallory.signing.publicKey, agreementKey: mallory.agreement.publicKey, createdAt: 0, certifiedBy: '', certifiedAt: 0 }],
    userKey: undefined,
    userKeys: [],
  };
  const epoch = await createUserKeyEpoch(fakeState, { signer: { backend: mallory.backend, ref: mallory.signing } });
  return { mallory, epoch };
}

describe('a lying directory is caught, and nothing is encrypted to the wrong key', () => {
  it('swapped user key: a forged epoch statement, even when the directory logs it', async () => {
    const { dir, alice, refused, fresh } = await world();
    const { state } = await alice.sigil.directory.lookup(BOB);
    const { epoch } = await attackerEpoch(state);
    // Not logged: the served bytes differ from the leaf → inclusion fails.
    const honest = await new DirectoryClient({ url: dir.url, logPublicKey: dir.vkey, fetch: dir.fetch }).lookup(BOB);
    const statementB64 = b64u(honest.statements[2]!.statement);
    const tampered = honest.statements[2]!.statement.slice();
    const userKeyAt = Buffer.from(tampered).indexOf(Buffer.from(state.userKey!.publicKey));
    tampered.set((await attackerEpoch(state)).epoch.userKey.publicKey, userKeyAt);
    const hook = (a: AccountAnswer) => ({ ...a, statements: a.statements.map((s) => (s.statementB64 === statementB64 ? { ...s, statementB64: b64u(tampered) } : s)) });
    onAccount(dir, BOB, hook);
    await refused(alice.sigil, 'E_DIRECTORY_PROOF');
    await refused(await fresh(), 'E_DIRECTORY_PROOF');
    dir.hooks.length = 0;
    // Logged: a valid leaf with a valid inclusion proof, but signed by no device of bob's.
    await dir.appendForged(BOB, epoch.statement);
    await refused(alice.sigil, 'E_DIRECTORY_PROOF');
    await refused(await fresh(), 'E_DIRECTORY_PROOF');
  });

  it('a device certificate not signed by a root (attacker key, or claiming the root as signer), then its epoch', async () => {
    const { dir, alice, refused, fresh } = await world();
    const { state } = await alice.sigil.directory.lookup(BOB);
    const mallory = await newDeviceKeys('mallory');
    const device = { signingKey: mallory.signing.publicKey, agreementKey: mallory.agreement.publicKey, possessionSignature: await proveDevicePossession(BOB, mallory), name: 'evil' };
    const selfSigned = await signStatement({ kind: 'device-certificate', ...chainAfter(state, mallory.signing.id), device }, { backend: mallory.backend, ref: mallory.signing });
    const branch = dir.fork();
    await dir.appendForged(BOB, selfSigned);
    await refused(alice.sigil, 'E_DIRECTORY_PROOF');
    await refused(await fresh(), 'E_DIRECTORY_PROOF');

    // The certificate names bob's root as signer, but the signature is the attacker's.
    const rootId = state.roots[0]!.id;
    const tbs = encodeStatement({ kind: 'device-certificate', ...chainAfter(state, rootId), device });
    const signature = await mallory.backend.sign(mallory.signing, statementSignatureInput(tbs));
    const withRootName = encodeSignedStatement(tbs, { type: 'ecdsa', signature });
    const sigilOnBranch = await Sigil.connect({ directory: branch.url, logPublicKey: branch.vkey, fetch: branch.fetch, account: ALICE, keys: alice.keys });
    await branch.appendForged(BOB, withRootName);
    const before = branch.mailbox.length;
    expect(await codeOf(sigilOnBranch.send(BOB, text('x')))).toBe('E_DIRECTORY_PROOF');
    expect(branch.mailbox.length).toBe(before);
  });

  it('dropped revocation: a client that saw it catches the rollback; bob\'s own device catches it too; a fresh client cannot', async () => {
    const { dir, opts, alice, bob, fresh, refused } = await world();
    const phone = await newDeviceKeys('bob phone');
    const phoneId = await bob.sigil.addDevice({ name: 'phone', signingKey: phone.signing.publicKey, agreementKey: phone.agreement.publicKey, possessionSignature: await proveDevicePossession(BOB, phone) }, { root: bob.root });
    await bob.sigil.revokeDevice(phoneId, { root: bob.root });
    const seen = await alice.sigil.directory.lookup(BOB);
    expect(seen.state.revokedDevices.map((d) => d.id)).toEqual([phoneId]);

    // The directory stops serving the revocation and the rotation after it.
    dir.hideLast(BOB, 2);
    await refused(alice.sigil, 'E_DIRECTORY_ROLLBACK');
    // Bob's own device remembers its account's head: its next lookup fails the same way.
    expect(await codeOf(bob.sigil.rotate())).toBe('E_DIRECTORY_ROLLBACK');

    // A client with no memory of bob cannot tell: every statement it is shown is valid and in
    // the log; the hidden ones are in the log too, but nothing tells it they are bob's. It sees
    // the phone as a current device and encrypts to the epoch the phone holds. Defences: durable
    // client state, bob's devices watching their own account, and monitors reading the log.
    const naive = await fresh();
    const { state } = await naive.directory.lookup(BOB);
    expect(state.devices.map((d) => d.id)).toContain(phoneId);
    expect(state.revokedDevices).toEqual([]);
    expect(opts.directory).toBe(dir.url);
  });

  it('forked log: two clients shown different histories agree with themselves, and are caught when they compare', async () => {
    const { dir, alice, bob, carol } = await world();
    const branch = dir.fork();
    // Branch A: bob rotates. Branch B: a different history of the same size (carol rotates there).
    const bobOnA = await dir.checkpointNote();
    await bob.sigil.rotate();
    const carolOnB = await Sigil.connect({ directory: branch.url, logPublicKey: branch.vkey, fetch: branch.fetch, account: CAROL, keys: carol.keys });
    await carolOnB.rotate();
    // Alice on branch A, Dave (new client) on branch B; each sees a consistent log.
    await alice.sigil.directory.checkpoint();
    const dave = new DirectoryClient({ url: branch.url, logPublicKey: branch.vkey, fetch: branch.fetch });
    await dave.lookup(BOB);
    const a = (await alice.sigil.directory.latestCheckpoint())!;
    const b = (await dave.latestCheckpoint())!;
    expect(a).not.toBe(bobOnA);

    // Gossip: each asks its own directory to connect the other's checkpoint to its own.
    expect(await codeOf(alice.sigil.directory.compareCheckpoint(b))).toBe('E_DIRECTORY_FORK');
    expect(await codeOf(dave.compareCheckpoint(a))).toBe('E_DIRECTORY_FORK');
    // Offline, with no proof needed: same size, different roots.
    const sizeA = Number(a.split('\n')[1]);
    const sizeB = Number(b.split('\n')[1]);
    expect(sizeA).toBe(sizeB);
    expect(await codeOf(compareCheckpoints(a, b, { logPublicKey: dir.vkey }))).toBe('E_DIRECTORY_FORK');
    // Branch B grows further: sizes differ, and no consistency proof connects the two.
    await carolOnB.rotate();
    const c = (await dave.checkpoint()).note;
    expect(await codeOf(alice.sigil.directory.compareCheckpoint(c))).toBe('E_DIRECTORY_ROLLBACK'); // A never signed that size
    expect(await codeOf(dave.compareCheckpoint(a))).toBe('E_DIRECTORY_FORK');
    expect(await codeOf(compareCheckpoints(a, c, { logPublicKey: dir.vkey, consistencyProof: await branch.consistency(sizeA, sizeA + 1) }))).toBe(
      'E_DIRECTORY_FORK',
    );
    // And a client of branch A that is then switched to branch B catches it on its next lookup.
    const memory = new MemoryClientStateStore();
    await new DirectoryClient({ url: dir.url, logPublicKey: dir.vkey, fetch: dir.fetch, state: memory }).checkpoint();
    const s2 = new DirectoryClient({ url: branch.url, logPublicKey: branch.vkey, fetch: branch.fetch, state: memory });
    expect(await codeOf(s2.lookup(BOB))).toBe('E_DIRECTORY_FORK');
  });

  it('rolled-back checkpoint: an older, genuinely signed view after a newer one', async () => {
    const { dir, alice, bob, refused, fresh } = await world();
    const oldSize = dir.treeSize;
    await bob.sigil.rotate();
    await alice.sigil.directory.lookup(BOB); // alice has seen the newer tree
    const oldNote = await dir.checkpointNote(oldSize);
    const olderView = async (a: AccountAnswer): Promise<AccountAnswer> => {
      const statements = [];
      for (const s of a.statements.filter((s) => s.leafIndex < oldSize)) {
        statements.push({ ...s, inclusionB64: b64u(Buffer.concat(await dir.inclusion(s.leafIndex, oldSize))) });
      }
      return { ...a, checkpoint: oldNote, statements };
    };
    onAccount(dir, BOB, olderView);
    dir.hooks.push((path, body) => (path === '/v1/log/checkpoint' ? { note: oldNote } : body));
    await refused(alice.sigil, 'E_DIRECTORY_ROLLBACK');
    expect(await codeOf(alice.sigil.directory.checkpoint())).toBe('E_DIRECTORY_ROLLBACK');
    // A fresh client takes the old view (nothing to compare with), which is still bob's own
    // signed history: it encrypts to bob's previous epoch, which only bob's devices hold.
    const first = new DirectoryClient({ url: dir.url, logPublicKey: dir.vkey, fetch: dir.fetch });
    expect((await first.lookup(BOB)).state.userKey?.epoch).toBe(1);
    expect(fresh).toBeTypeOf('function');
  });

  it('a valid statement served for the wrong account', async () => {
    const { dir, alice, refused, fresh } = await world();
    const carolAnswer = (await dir.fetch(`${dir.url}/v1/accounts/${encodeURIComponent(CAROL)}`).then((r) => r.json())) as AccountAnswer;
    // Carol's whole, valid, logged history under bob's name.
    onAccount(dir, BOB, () => ({ ...carolAnswer, accountId: BOB }));
    await refused(alice.sigil, 'E_DIRECTORY_PROOF');
    await refused(await fresh(), 'E_DIRECTORY_PROOF');
    dir.hooks.length = 0;
    // Only carol's epoch statement in place of bob's (valid signature, valid inclusion proof).
    onAccount(dir, BOB, (a) => ({ ...a, statements: [...a.statements.slice(0, 2), carolAnswer.statements[2]!] }));
    await refused(await fresh(), 'E_DIRECTORY_PROOF');
    dir.hooks.length = 0;
    // An answer about carol when bob was asked for.
    onAccount(dir, BOB, () => carolAnswer);
    await refused(await fresh(), 'E_DIRECTORY_PROOF');
  });

  it('bad inclusion proofs: a flipped bit, a missing hash, an extra hash, a torn hash, a wrong leaf index', async () => {
    const { dir, alice, refused } = await world();
    // The third statement's audit path (its 32-byte hashes concatenated), rewritten.
    const path = (edit: (p: Buffer) => Uint8Array) => (a: AccountAnswer): AccountAnswer => ({
      ...a,
      statements: a.statements.map((s, i) => (i !== 2 ? s : { ...s, inclusionB64: b64u(edit(Buffer.from(s.inclusionB64, 'base64url'))) })),
    });
    const lies: ((a: AccountAnswer) => AccountAnswer)[] = [
      (a) => ({ ...a, statements: a.statements.map((s, i) => (i !== 2 ? s : { ...s, inclusionB64: flip(s.inclusionB64) })) }),
      path((p) => p.subarray(32)),
      path((p) => Buffer.concat([p, p.subarray(0, 32)])),
      path((p) => p.subarray(0, -1)),
      (a) => ({ ...a, statements: a.statements.map((s, i) => (i !== 2 ? s : { ...s, leafIndex: s.leafIndex + 1 })) }),
    ];
    for (const lie of lies) {
      dir.hooks.length = 0;
      onAccount(dir, BOB, lie);
      await refused(alice.sigil, 'E_DIRECTORY_PROOF');
    }
  });

  it('every tampered byte of a served statement is rejected', async () => {
    const { dir, alice } = await world();
    let position = 0;
    onAccount(dir, BOB, (a) => ({
      ...a,
      statements: a.statements.map((s, i) => {
        if (i !== 2) return s;
        const b = Buffer.from(s.statementB64, 'base64url');
        b[position % b.length]! ^= 0x01;
        return { ...s, statementB64: b.toString('base64url') };
      }),
    }));
    const length = (await new DirectoryClient({ url: dir.url, logPublicKey: dir.vkey, fetch: dir.fetch }).lookup(ALICE)).statements[2]!.statement.length;
    for (position = 0; position < length; position += 3) {
      expect(await codeOf(alice.sigil.directory.lookup(BOB))).toBe('E_DIRECTORY_PROOF');
    }
    expect(dir.mailbox).toHaveLength(0);
  });

  it('a checkpoint signed by another key, or for another origin', async () => {
    const { dir, refused, fresh } = await world();
    const impostor = await FakeDirectory.create({ origin: dir.origin });
    const otherOrigin = await FakeDirectory.create({ origin: 'other.test/log' });
    for (const other of [impostor, otherOrigin]) {
      const note = await other.checkpointNote(0);
      dir.hooks.length = 0;
      onAccount(dir, BOB, (a) => ({ ...a, checkpoint: note }));
      await refused(await fresh(), 'E_DIRECTORY_PROOF');
    }
    // The directory's own /v1/log/key is never consulted.
    expect(dir.requests.some((r) => r.endsWith('/v1/log/key'))).toBe(false);
  });

  it('a bad consistency proof between the stored checkpoint and a new one', async () => {
    const { dir, alice, bob, refused } = await world();
    await bob.sigil.rotate();
    dir.hooks.push((path, body) => {
      if (!path.startsWith('/v1/log/consistency')) return body;
      const p = body as { hashesB64: string[] };
      return { ...p, hashesB64: p.hashesB64.map((h, i) => (i === 0 ? flip(h) : h)) };
    });
    await refused(alice.sigil, 'E_DIRECTORY_FORK');
  });

  it('a swapped wrapped user key is refused before it is opened', async () => {
    const { dir, alice, bob } = await world();
    const envelope = await alice.sigil.encrypt(text('x'), { to: [BOB] });
    const { state } = await bob.sigil.directory.lookup(BOB);
    const hash = [...state.userKey!.wraps.values()][0]!;
    const otherBlob = (await attackerEpoch(state)).epoch.wraps[0]!.blob;
    dir.replaceBlob(hash, otherBlob);
    // A new instance of bob's device: no user key cached, so it must fetch its wrap.
    const bobAgain = await Sigil.connect({ directory: bob.sigil.directory, account: BOB, keys: bob.keys });
    expect(await codeOf(bobAgain.decrypt(envelope, { from: ALICE }))).toBe('E_DIRECTORY_PROOF');
    expect(await codeOf(bob.sigil.decrypt(envelope, { from: ALICE }))).toBe(undefined); // its cached key was verified when opened
  });

  it('a directory that accepts a statement but does not serve it back (a suppressed rotation)', async () => {
    const { dir, bob } = await world();
    const served = dir.statementsOf(BOB).length;
    onAccount(dir, BOB, (a) => ({ ...a, statements: a.statements.slice(0, served) }));
    expect(await codeOf(bob.sigil.rotate())).toBe('E_DIRECTORY_PROOF');
    expect(dir.statementsOf(BOB).length).toBe(served + 1); // it is in the log, just not served
  });

  it('a mailbox sender the envelope does not back up', async () => {
    const { dir, alice, bob, carol } = await world();
    await carol.sigil.send(BOB, text('from carol'));
    dir.hooks.push((path, body) => {
      if (!path.startsWith('/v1/mailbox')) return body;
      const b = body as { messages: { senderId: string }[] };
      return { messages: b.messages.map((m) => ({ ...m, senderId: ALICE })) };
    });
    const [m] = await bob.sigil.list();
    expect(await codeOf(bob.sigil.decrypt(m!.envelope, { from: m!.senderId }))).toBe('E_BAD_SIGNATURE');
    expect(alice.sigil.account).toBe(ALICE);
  });
});

function flip(b64: string): string {
  const b = Buffer.from(b64, 'base64url');
  b[0]! ^= 0x80;
  return b.toString('base64url');
}
