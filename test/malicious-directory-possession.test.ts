// Issue 12 item 3: every key a statement introduces proves it is held (docs/STATEMENTS.md §4.2,
// §4.4, §4.6). Each attack is tried twice: posted to the real directory (the Hono app over SQLite,
// in process), which must refuse it (422 E_DIRECTORY_PROOF) and log nothing; and logged by the
// lying directory double, where every client must refuse the account and encrypt nothing to it.
import { describe, expect, it } from 'vitest';
import { Sigil, SigilError, WebCryptoKeyBackend, type KeyBackend, type KeyRef } from '@sigil/sdk';
import {
  USER_KEY_WRAP_LENGTH,
  chainAfter,
  decodeSignedStatement,
  devicePossessionInput,
  genesisHeader,
  proveDevicePossession,
  signStatement,
  userKeyPossessionInput,
  type AccountState,
  type Statement,
  type UserKeyEpochStatement,
} from '@sigil/sdk/identity';
import { SqliteStore, TransparencyLog, createDirectoryApp } from '@sigil/server';
import { FakeDirectory, newDeviceKeys, newRoot } from './support/lying-directory.js';
import { codeOf, text } from './support/codes.js';

const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const MALLORY = 'mallory@example.test';
const b64u = (b: Uint8Array) => Buffer.from(b).toString('base64url');
const sha256 = async (b: Uint8Array) => new Uint8Array(await crypto.subtle.digest('SHA-256', b as Uint8Array<ArrayBuffer>));

type Device = { backend: KeyBackend; signing: KeyRef; agreement: KeyRef };

/** Alice, Bob and Mallory enrolled with a directory, honest so far. */
async function enrolAll(opts: { directory: string; logPublicKey: string; fetch: typeof fetch }) {
  const enrol = async (account: string) => {
    const root = await newRoot();
    const keys = await newDeviceKeys(account);
    return { sigil: await Sigil.enrolService({ ...opts, account, root, keys, deviceName: 'device' }), root, keys };
  };
  return { alice: await enrol(ALICE), bob: await enrol(BOB), mallory: await enrol(MALLORY) };
}

/** Where a forged statement goes: the real server (which must refuse it) or the lying double (which logs it). */
interface Target {
  readonly opts: { directory: string; logPublicKey: string; fetch: typeof fetch };
  /** Submits the statement; for the real server, expects the refusal and an unchanged log. */
  submit(account: string, statement: Uint8Array, blobs?: Uint8Array[]): Promise<void>;
  /** Messages stored for `account`. */
  mailboxSize(account: string): Promise<number>;
  close(): void;
}

async function realServer(): Promise<Target> {
  const store = new SqliteStore(':memory:');
  const backend = new WebCryptoKeyBackend();
  const log = new TransparencyLog(store, { origin: 'directory.test/log', signer: { backend, key: await backend.generateKeyPair({ usage: 'sign', label: 'log' }) } });
  const { app } = createDirectoryApp({ store, log, config: { authRateLimit: { limit: 100_000, windowMs: 60_000 } } });
  const fetchApp = (async (input: RequestInfo | URL, init?: RequestInit) => app.request(input instanceof Request ? input : String(input), init)) as typeof fetch;
  return {
    opts: { directory: 'http://directory.test', logPublicKey: (await log.verifierKey()).vkey, fetch: fetchApp },
    async submit(_account, statement, blobs = []) {
      const size = await store.treeSize();
      const body = { statementB64: b64u(statement), ...(blobs.length > 0 ? { blobs: blobs.map((b) => ({ dataB64: b64u(b) })) } : {}) };
      const res = await app.request('/v1/statements', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(res.status).toBe(422);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('E_DIRECTORY_PROOF');
      expect(await store.treeSize()).toBe(size);
    },
    mailboxSize: async (account) => (await store.listMessages(account)).length,
    close: () => store.close(),
  };
}

async function lyingDirectory(): Promise<Target> {
  const dir = await FakeDirectory.create();
  return {
    opts: { directory: dir.url, logPublicKey: dir.vkey, fetch: dir.fetch as typeof fetch },
    async submit(account, statement) {
      await dir.appendForged(account, statement);
    },
    mailboxSize: async (account) => dir.mailbox.filter((m) => m.recipientId === account).length,
    close: () => undefined,
  };
}

/** After the forgery: a client that knew Mallory, and a fresh one, encrypt nothing to her. */
async function expectMalloryRefused(t: Target, alice: { sigil: Sigil; keys: Device }) {
  const before = await t.mailboxSize(MALLORY);
  const fresh = await Sigil.connect({ ...t.opts, account: ALICE, keys: alice.keys });
  for (const sender of [alice.sigil, fresh]) {
    expect(await codeOf(sender.send(MALLORY, text('for mallory')))).toBe('E_DIRECTORY_PROOF');
    expect(await codeOf(sender.encrypt(text('for mallory'), { to: [MALLORY] }))).toBe('E_DIRECTORY_PROOF');
  }
  expect(await t.mailboxSize(MALLORY)).toBe(before);
}

/** A next epoch of `state` with a user public key and possession signature of the caller's choice. */
async function epochWith(state: AccountState, device: Device, userPublicKey: Uint8Array, possessionSignature: Uint8Array) {
  const blobs = state.devices.map(() => crypto.getRandomValues(new Uint8Array(USER_KEY_WRAP_LENGTH)));
  const chainBlob = crypto.getRandomValues(new Uint8Array(USER_KEY_WRAP_LENGTH));
  const wraps = await Promise.all(state.devices.map(async (d, i) => ({ deviceId: d.id, wrapHash: await sha256(blobs[i]!) })));
  wraps.sort((a, b) => (a.deviceId < b.deviceId ? -1 : 1));
  const draft: UserKeyEpochStatement = {
    kind: 'user-key-epoch',
    ...chainAfter(state, device.signing.id),
    epoch: state.userKey!.epoch + 1,
    userPublicKey,
    possessionSignature,
    previousKeyWrapHash: await sha256(chainBlob),
    wraps,
  };
  return { statement: await signStatement(draft, { backend: device.backend, ref: device.signing }), blobs: [...blobs, chainBlob] };
}

const targets: [string, () => Promise<Target>][] = [
  ['the real directory refuses it', realServer],
  ['the lying directory logs it and clients refuse', lyingDirectory],
];

type World = Awaited<ReturnType<typeof enrolAll>> & { t: Target };

/** Runs `attack` once per forgery, each in a fresh world (a logged forgery breaks the account for good). */
async function eachForgery(make: () => Promise<Target>, forgeries: string[], attack: (w: World, forgery: string) => Promise<void>) {
  for (const forgery of forgeries) {
    const t = await make();
    try {
      await attack({ ...(await enrolAll(t.opts)), t }, forgery);
    } finally {
      t.close();
    }
  }
}

describe.each(targets)('proof of possession: %s', (_name, make) => {
  it("Mallory's user-key epoch with Bob's user public key (so a message \"to Mallory\" would open at Bob)", async () => {
    await eachForgery(make, ['no signature', "Mallory's device key", "Bob's own proof"], async ({ t, alice, mallory }, forgery) => {
      const bob = await alice.sigil.directory.lookup(BOB);
      const bobKey = bob.state.userKey!.publicKey;
      const { state } = await mallory.sigil.directory.lookup(MALLORY);
      const epoch = state.userKey!.epoch + 1;
      const proof =
        forgery === 'no signature'
          ? new Uint8Array(64)
          : forgery === "Mallory's device key"
            ? await mallory.keys.backend.sign(mallory.keys.signing, userKeyPossessionInput(MALLORY, epoch, bobKey))
            : (decodeSignedStatement(bob.statements.at(-1)!.statement).statement as UserKeyEpochStatement).possessionSignature;
      const forged = await epochWith(state, mallory.keys, bobKey, proof);
      await t.submit(MALLORY, forged.statement, forged.blobs);
      if (make === lyingDirectory) await expectMalloryRefused(t, alice);
      // Nothing a client accepts names Bob's key for Mallory.
      const current = await alice.sigil.directory.lookup(MALLORY).then((a) => a.state.userKey!.publicKey, () => undefined);
      expect(current !== undefined && Buffer.from(current).equals(Buffer.from(bobKey)), forgery).toBe(false);
    });
  });

  it("a device certificate whose device key did not sign (Bob's device keys certified by Mallory's root)", async () => {
    await eachForgery(make, ['no signature', "the root's signature", "Bob's device's proof for Bob's account"], async ({ t, alice, bob, mallory }, forgery) => {
      const { state } = await mallory.sigil.directory.lookup(MALLORY);
      const device = { signingKey: bob.keys.signing.publicKey, agreementKey: bob.keys.agreement.publicKey, name: 'bob?' };
      const possessionSignature =
        forgery === 'no signature'
          ? new Uint8Array(64)
          : forgery === "the root's signature"
            ? await mallory.root.backend.sign(mallory.root.ref, devicePossessionInput(MALLORY, device.signingKey, device.agreementKey))
            : await proveDevicePossession(BOB, bob.keys);
      const cert = await signStatement({ kind: 'device-certificate', ...chainAfter(state, mallory.root.ref.id), device: { ...device, possessionSignature } }, mallory.root);
      await t.submit(MALLORY, cert);
      if (make === lyingDirectory) await expectMalloryRefused(t, alice);
      else expect((await alice.sigil.directory.lookup(MALLORY)).state.devices.map((d) => d.id)).toEqual([mallory.keys.signing.id]);
    });
  });

  it('a genesis without proof of its root: a second root that did not sign, or a root it is not signed by', async () => {
    await eachForgery(make, ['second root', 'unsigned root'], async ({ t, alice, bob }, forgery) => {
      const eve = await newRoot('eve');
      const accountId = 'eve@example.test';
      const bobRoot = { type: 'service' as const, publicKey: bob.root.ref.publicKey };
      const draft: Statement = {
        kind: 'genesis',
        ...genesisHeader(accountId, eve.ref.id),
        roots: forgery === 'second root' ? [{ type: 'service', publicKey: eve.ref.publicKey }, bobRoot] : [bobRoot],
      };
      await t.submit(accountId, await signStatement(draft, eve));
      if (make === lyingDirectory) {
        const code = await alice.sigil.directory.lookup(accountId).then(() => 'accepted', (e: unknown) => (SigilError.is(e) ? e.code : String(e)));
        expect(code, forgery).toBe('E_DIRECTORY_PROOF');
        expect(await codeOf(alice.sigil.encrypt(text('x'), { to: [accountId] })), forgery).toBe('E_DIRECTORY_PROOF');
      }
    });
  });
});
