// Account histories end to end: genesis with a service root (WebCryptoKeyBackend) and with a
// WebAuthn root (the soft authenticator), devices certified and revoked, user-key epochs rotated;
// and every way a directory could serve a wrong history, each detected.
import { p256 } from '@noble/curves/nist.js';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { SigilError, WebCryptoKeyBackend, type KeyBackend, type KeyRef } from '@sigil/sdk';
import { keyIdOf } from '@sigil/sdk/backend';
import {
  applyStatement,
  chainAfter,
  STATEMENT_SIGNATURE_CONTEXT,
  decodeSignedStatement,
  encodeSignedStatement,
  encodeStatement,
  genesisHeader,
  signStatement,
  signStatementWithWebAuthn,
  verifyAccountLog,
  type AccountState,
  type RootCredential,
  type Statement,
  type StatementBody,
  type VerifyStatementOptions,
} from '@sigil/sdk/identity';
import { proveDevicePossession, signUserKeyPossession } from '@sigil/sdk/identity';
import { SoftWebAuthn, type AssertionOverrides } from '../../../test/support/soft-webauthn.js';

const rpId = 'example.org';
const origin = 'https://example.org';
const policy: VerifyStatementOptions = { rpId, origins: [origin] };
const T0 = 1_764_000_000_000;
/** A proof-of-possession field for statements refused before it is checked. */
const NO_PROOF = new Uint8Array(64);

type Signer = { backend: KeyBackend; ref: KeyRef } | SoftWebAuthn;

interface Device {
  readonly backend: WebCryptoKeyBackend;
  readonly sign: KeyRef;
  readonly agree: KeyRef;
}

async function newDevice(label: string): Promise<Device> {
  const backend = new WebCryptoKeyBackend();
  return { backend, sign: await backend.generateKeyPair({ usage: 'sign', label }), agree: await backend.generateKeyPair({ usage: 'agree', label }) };
}

const signerId = async (s: Signer): Promise<string> => ('ref' in s ? s.ref.id : keyIdOf(s.publicKey));

/** Test-side account driver: builds, signs and folds statements. */
class Account {
  readonly log: Uint8Array[] = [];
  state!: AccountState;
  constructor(readonly options: VerifyStatementOptions) {}

  async sign(statement: Statement, signer: Signer, overrides?: AssertionOverrides): Promise<Uint8Array> {
    if ('ref' in signer) return signStatement(statement, signer);
    return signStatementWithWebAuthn(statement, async (challenge) => signer.assert(challenge, overrides));
  }

  async genesis(accountId: string, root: Signer, time = T0, extraRoots: RootCredential[] = []): Promise<void> {
    const first = 'ref' in root ? { type: 'service' as const, publicKey: root.ref.publicKey } : { type: 'webauthn' as const, publicKey: root.publicKey, rpId: root.rpId, credentialId: root.credentialId };
    const signed = await this.sign({ kind: 'genesis', ...genesisHeader(accountId, await signerId(root), time), roots: [first, ...extraRoots] }, root);
    await this.append(signed);
  }

  async draft(body: StatementBody, signer: Signer, dt = 1000): Promise<Statement> {
    return { ...body, ...chainAfter(this.state, await signerId(signer), this.state.time + dt) } as Statement;
  }

  async next(body: StatementBody, signer: Signer, overrides?: AssertionOverrides): Promise<Uint8Array> {
    return this.sign(await this.draft(body, signer), signer, overrides);
  }

  async append(signed: Uint8Array): Promise<void> {
    this.state = await applyStatement(this.log.length === 0 ? undefined : this.state, signed, this.options);
    this.log.push(signed);
  }

  async certify(root: Signer, device: Device, name: string): Promise<void> {
    await this.append(await this.next({ kind: 'device-certificate', device: { signingKey: device.sign.publicKey, agreementKey: device.agree.publicKey, possessionSignature: await proveDevicePossession(this.state.accountId, { backend: device.backend, signing: device.sign, agreement: device.agree }), name } }, root));
  }

  async rotate(by: Device): Promise<void> {
    const epoch = (this.state.userKey?.epoch ?? 0) + 1;
    const privateKey = p256.utils.randomSecretKey();
    const userPublicKey = p256.getPublicKey(privateKey, false);
    const possessionSignature = await signUserKeyPossession(this.state.accountId, epoch, { privateKey, publicKey: userPublicKey });
    const wraps = this.state.devices.map((d) => ({ deviceId: d.id, wrapHash: new Uint8Array(32).fill(epoch) })).sort((a, b) => (a.deviceId < b.deviceId ? -1 : 1));
    const body = epoch === 1 ? { kind: 'user-key-epoch' as const, epoch, userPublicKey, possessionSignature, wraps } : { kind: 'user-key-epoch' as const, epoch, userPublicKey, possessionSignature, previousKeyWrapHash: new Uint8Array(32).fill(0xee), wraps };
    await this.append(await this.next(body, { backend: by.backend, ref: by.sign }));
  }
}

async function expectProofError(p: Promise<unknown>, detail?: string, code: 'E_DIRECTORY_PROOF' | 'E_KEY_REVOKED' = 'E_DIRECTORY_PROOF') {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(SigilError.is(e, code), `expected ${code}, got ${String(e)}`).toBe(true);
  if (detail !== undefined) expect((e as SigilError).detail).toBe(detail);
}

describe('an account rooted at a service key (WebCryptoKeyBackend)', () => {
  let rootBackend: WebCryptoKeyBackend;
  let root: { backend: KeyBackend; ref: KeyRef };
  let root2: { backend: KeyBackend; ref: KeyRef };
  let laptop: Device;
  let phone: Device;
  let acct: Account;
  /** State before each statement, to replay tampered versions of that statement. */
  const before: (AccountState | undefined)[] = [];

  beforeAll(async () => {
    rootBackend = new WebCryptoKeyBackend();
    root = { backend: rootBackend, ref: await rootBackend.generateKeyPair({ usage: 'sign', label: 'svc-root' }) };
    root2 = { backend: rootBackend, ref: await rootBackend.generateKeyPair({ usage: 'sign', label: 'svc-root-2' }) };
    laptop = await newDevice('laptop');
    phone = await newDevice('phone');
    acct = new Account({ accountId: 'svc@example.org' });
    const track = async (f: () => Promise<void>) => {
      before.push(acct.log.length === 0 ? undefined : acct.state);
      await f();
    };
    await track(() => acct.genesis('svc@example.org', root));
    await track(() => acct.certify(root, laptop, 'laptop'));
    await track(() => acct.rotate(laptop));
    await track(() => acct.certify(root, phone, 'phone'));
    await track(() => acct.rotate(laptop));
    await track(async () => acct.append(await acct.next({ kind: 'root-add', root: { type: 'service', publicKey: root2.ref.publicKey } }, root)));
    await track(async () => acct.append(await acct.next({ kind: 'device-revocation', deviceId: laptop.sign.id }, root2)));
    await track(() => acct.rotate(phone));
  });

  it('folds the history into the expected state', async () => {
    const s = acct.state;
    expect(s.accountId).toBe('svc@example.org');
    expect(s.seq).toBe(7);
    expect(s.roots.map((r) => r.id)).toEqual([root.ref.id, root2.ref.id]);
    expect(s.roots[0]).toMatchObject({ type: 'service', addedAt: 0 });
    expect(s.devices.map((d) => [d.id, d.name])).toEqual([[phone.sign.id, 'phone']]);
    expect(s.devices[0]!.agreementKey).toEqual(phone.agree.publicKey);
    expect(s.devices[0]!.certifiedBy).toBe(root.ref.id);
    expect(s.revokedDevices.map((d) => [d.id, d.revokedBy, d.revokedAt])).toEqual([[laptop.sign.id, root2.ref.id, 6]]);
    expect(s.userKey?.epoch).toBe(3);
    expect(s.userKey?.publishedBy).toBe(phone.sign.id);
    expect([...s.userKey!.wraps.keys()]).toEqual([phone.sign.id]);
    expect(s.userKeys.map((k) => k.epoch)).toEqual([1, 2, 3]);
    expect(s.rotationNeeded).toBe(false);
    expect(Object.isFrozen(s)).toBe(true);
    // The whole log verifies in one call to the same state.
    const again = await verifyAccountLog(acct.log, { accountId: 'svc@example.org' });
    expect(again.head).toEqual(s.head);
    expect(again.userKey?.publicKey).toEqual(s.userKey?.publicKey);
  });

  it('flags when a rotation is needed (device added, or device revoked)', async () => {
    expect((await verifyAccountLog(acct.log.slice(0, 3))).rotationNeeded).toBe(false);
    expect((await verifyAccountLog(acct.log.slice(0, 4))).rotationNeeded).toBe(true); // phone cannot read epoch 1
    expect((await verifyAccountLog(acct.log.slice(0, 5))).rotationNeeded).toBe(false);
    expect((await verifyAccountLog(acct.log.slice(0, 7))).rotationNeeded).toBe(true); // revoked laptop holds epoch 2
  });

  it('rejects every single-byte change of every signed statement', async () => {
    let count = 0;
    for (let i = 0; i < acct.log.length; i++) {
      const signed = acct.log[i]!;
      for (let at = 0; at < signed.length; at++) {
        const b = new Uint8Array(signed);
        b[at]! ^= 0x01 << (at % 8);
        await expectProofError(applyStatement(before[i], b, acct.options));
        count++;
      }
    }
    expect(count).toBeGreaterThan(2000);
  });

  it('rejects a history with a statement dropped, repeated, reordered or cut off at the genesis', async () => {
    const log = acct.log;
    await expectProofError(verifyAccountLog([log[0]!, log[2]!]), 'sequence');
    await expectProofError(verifyAccountLog([log[0]!, log[1]!, log[1]!]), 'sequence');
    await expectProofError(verifyAccountLog([log[0]!, log[2]!, log[1]!]), 'sequence');
    await expectProofError(verifyAccountLog(log.slice(1)), 'sequence');
    await expectProofError(verifyAccountLog([]), 'sequence');
  });

  it('rejects a fork: a statement with the right sequence number but another predecessor', async () => {
    const fork = new Account({ accountId: 'svc@example.org' });
    await fork.genesis('svc@example.org', root, T0 + 1); // another genesis of the same account and root
    await fork.certify(root, laptop, 'laptop');
    await expectProofError(applyStatement(before[1], fork.log[1]!, acct.options), 'link');
    await expectProofError(verifyAccountLog([acct.log[0]!, ...fork.log.slice(1)]), 'link');
  });

  it('rejects a device certificate that a root did not sign', async () => {
    const mallory = await newDevice('mallory');
    const body = { kind: 'device-certificate' as const, device: { signingKey: mallory.sign.publicKey, agreementKey: mallory.agree.publicKey, possessionSignature: NO_PROOF, name: 'evil' } };
    // Signed by a current device instead of a root.
    await expectProofError(applyStatement(acct.state, await acct.next(body, { backend: phone.backend, ref: phone.sign }), acct.options), 'signer');
    // Signed by a key the account does not know.
    await expectProofError(applyStatement(acct.state, await acct.next(body, { backend: mallory.backend, ref: mallory.sign }), acct.options), 'signer');
    // Claims the root as signer, but the signature is another key's.
    const draft = await acct.draft(body, root);
    const forged = await mallory.backend.sign(mallory.sign, new Uint8Array([...STATEMENT_SIGNATURE_CONTEXT, ...encodeStatement(draft)]));
    await expectProofError(applyStatement(acct.state, encodeSignedStatement(encodeStatement(draft), { type: 'ecdsa', signature: forged }), acct.options), 'signature');
    // A WebAuthn-type proof for a service root.
    const wa = new SoftWebAuthn({ rpId, origin });
    const tbs = encodeStatement(draft);
    const a = wa.assert(new Uint8Array(32));
    await expectProofError(applyStatement(acct.state, encodeSignedStatement(tbs, { type: 'webauthn', ...a }), { ...acct.options, ...policy }), 'signature');
  });

  it('rejects a valid statement of another account', async () => {
    const other = new Account({ accountId: 'other@example.org' });
    await other.genesis('other@example.org', root); // the same root key, even
    await other.certify(root, laptop, 'laptop');
    await expectProofError(applyStatement(before[1], other.log[1]!, acct.options), 'account');
    await expectProofError(verifyAccountLog(other.log, { accountId: 'svc@example.org' }), 'account');
    // Without an expected account id, the account of the genesis binds the rest.
    await expectProofError(verifyAccountLog([acct.log[0]!, other.log[1]!]), 'account');
  });

  it('rejects statements by a revoked device with E_KEY_REVOKED', async () => {
    const statement = await acct.draft(
      { kind: 'user-key-epoch', epoch: 4, userPublicKey: p256.getPublicKey(p256.utils.randomSecretKey(), false), possessionSignature: NO_PROOF, previousKeyWrapHash: new Uint8Array(32), wraps: [{ deviceId: phone.sign.id, wrapHash: new Uint8Array(32) }] },
      { backend: laptop.backend, ref: laptop.sign },
    );
    await expectProofError(applyStatement(acct.state, await signStatement(statement, { backend: laptop.backend, ref: laptop.sign }), acct.options), 'signer', 'E_KEY_REVOKED');
  });

  it('enforces the rules of each kind', async () => {
    const phoneSigner = { backend: phone.backend, ref: phone.sign };
    const key = () => p256.getPublicKey(p256.utils.randomSecretKey(), false);
    const wrapsFor = (ids: string[]) => ids.sort().map((deviceId) => ({ deviceId, wrapHash: new Uint8Array(32) }));
    const cases: [string, StatementBody, { backend: KeyBackend; ref: KeyRef }][] = [
      ['epoch skipped', { kind: 'user-key-epoch', epoch: 5, userPublicKey: key(), possessionSignature: NO_PROOF, previousKeyWrapHash: new Uint8Array(32), wraps: wrapsFor([phone.sign.id]) }, phoneSigner],
      ['epoch repeated', { kind: 'user-key-epoch', epoch: 3, userPublicKey: key(), possessionSignature: NO_PROOF, previousKeyWrapHash: new Uint8Array(32), wraps: wrapsFor([phone.sign.id]) }, phoneSigner],
      ['wrapped to a revoked device', { kind: 'user-key-epoch', epoch: 4, userPublicKey: key(), possessionSignature: NO_PROOF, previousKeyWrapHash: new Uint8Array(32), wraps: wrapsFor([phone.sign.id, laptop.sign.id]) }, phoneSigner],
      ['wrapped to a stranger', { kind: 'user-key-epoch', epoch: 4, userPublicKey: key(), possessionSignature: NO_PROOF, previousKeyWrapHash: new Uint8Array(32), wraps: wrapsFor(['ab'.repeat(16)]) }, phoneSigner],
      ['user key reused', { kind: 'user-key-epoch', epoch: 4, userPublicKey: acct.state.userKeys[0]!.publicKey, possessionSignature: NO_PROOF, previousKeyWrapHash: new Uint8Array(32), wraps: wrapsFor([phone.sign.id]) }, phoneSigner],
      ['revoking a revoked device', { kind: 'device-revocation', deviceId: laptop.sign.id }, root],
      ['revoking an unknown device', { kind: 'device-revocation', deviceId: 'cd'.repeat(16) }, root],
      ['adding an existing root', { kind: 'root-add', root: { type: 'service', publicKey: root2.ref.publicKey } }, root],
      ['re-certifying a revoked device', { kind: 'device-certificate', device: { signingKey: laptop.sign.publicKey, agreementKey: laptop.agree.publicKey, possessionSignature: NO_PROOF, name: 'again' } }, root],
      ['certifying a root key as a device', { kind: 'device-certificate', device: { signingKey: root.ref.publicKey, agreementKey: key(), possessionSignature: NO_PROOF, name: 'root' } }, root],
    ];
    for (const [name, body, signer] of cases) {
      const e = await applyStatement(acct.state, await acct.next(body, signer), acct.options).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(SigilError.is(e, 'E_DIRECTORY_PROOF') && e.detail, name).toBe('rule');
    }
    // A statement dated before its predecessor.
    const early = { ...(await acct.draft({ kind: 'device-revocation', deviceId: phone.sign.id }, root)), time: acct.state.time - 1 };
    await expectProofError(applyStatement(acct.state, await signStatement(early as Statement, root), acct.options), 'time');
    // A genesis naming one root twice.
    const dup = await signStatement(
      { kind: 'genesis', ...genesisHeader('dup@example.org', root.ref.id, T0), roots: [{ type: 'service', publicKey: root.ref.publicKey }, { type: 'service', publicKey: root.ref.publicKey }] },
      root,
    );
    await expectProofError(verifyAccountLog([dup]), 'rule');
    // A genesis signed by a key it does not name.
    const unnamed = await signStatement({ kind: 'genesis', ...genesisHeader('u@example.org', root.ref.id, T0), roots: [{ type: 'service', publicKey: root2.ref.publicKey }] }, root);
    await expectProofError(verifyAccountLog([unnamed]), 'signer');
    // A second genesis in the middle of a history, even one that links correctly and is signed
    // by the (attacker's) root it names.
    await expectProofError(verifyAccountLog([acct.log[0]!, acct.log[0]!]), 'sequence');
    const mallory = await rootBackend.generateKeyPair({ usage: 'sign', label: 'mallory-root' });
    const takeover = await signStatement(
      { kind: 'genesis', ...chainAfter(acct.state, mallory.id), roots: [{ type: 'service', publicKey: mallory.publicKey }] },
      { backend: rootBackend, ref: mallory },
    );
    await expectProofError(applyStatement(acct.state, takeover, acct.options), 'sequence');
  });

  it('property: any list drawn from three histories verifies only if it is a prefix of one of them', async () => {
    const fork = new Account({});
    await fork.genesis('svc@example.org', root, T0 + 2);
    await fork.certify(root, phone, 'phone');
    const other = new Account({});
    await other.genesis('other@example.org', root);
    await other.certify(root, laptop, 'laptop');
    const histories = [acct.log, fork.log, other.log];
    const pool = histories.flat();
    const isPrefix = (list: Uint8Array[]) => histories.some((h) => list.length <= h.length && list.every((s, i) => s === h[i]));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: pool.length - 1 }), { minLength: 1, maxLength: 9 }), async (picks) => {
        const list = picks.map((i) => pool[i]!);
        const outcome = await verifyAccountLog(list).then(
          () => 'verified',
          (e: unknown) => (SigilError.is(e, 'E_DIRECTORY_PROOF', 'E_KEY_REVOKED') ? 'rejected' : e),
        );
        expect(outcome).toBe(isPrefix(list) ? 'verified' : 'rejected');
      }),
      { numRuns: 400 },
    );
  });

  it('does not let the caller mutate the returned state', () => {
    expect(() => (acct.state.devices as AccountState['devices'][number][]).push(acct.state.devices[0]!)).toThrow(TypeError);
  });
});

describe('an account rooted at a WebAuthn credential (soft authenticator)', () => {
  let passkey: SoftWebAuthn;
  let securityKey: SoftWebAuthn;
  let laptop: Device;
  let acct: Account;
  let before: AccountState;

  beforeAll(async () => {
    passkey = new SoftWebAuthn({ rpId, origin });
    securityKey = new SoftWebAuthn({ rpId, origin, userVerified: false });
    laptop = await newDevice('laptop');
    acct = new Account({ accountId: 'alice@example.org', ...policy });
    await acct.genesis('alice@example.org', passkey);
    await acct.certify(passkey, laptop, 'laptop');
    await acct.rotate(laptop);
    before = acct.state;
    await acct.append(
      await acct.next({ kind: 'root-add', root: { type: 'webauthn', publicKey: securityKey.publicKey, rpId, credentialId: securityKey.credentialId } }, passkey),
    );
  });

  it('folds a WebAuthn-rooted history', () => {
    expect(acct.state.roots.map((r) => r.type)).toEqual(['webauthn', 'webauthn']);
    expect(acct.state.roots[0]).toMatchObject({ rpId, credentialId: passkey.credentialId });
    expect(acct.state.devices.map((d) => d.name)).toEqual(['laptop']);
    expect(acct.state.userKey?.epoch).toBe(1);
  });

  it('rejects every single-byte change of a WebAuthn-signed statement', async () => {
    const signed = acct.log[1]!;
    const prev = await verifyAccountLog(acct.log.slice(0, 1), acct.options);
    for (let at = 0; at < signed.length; at++) {
      const b = new Uint8Array(signed);
      b[at]! ^= 0x80 >> (at % 8);
      await expectProofError(applyStatement(prev, b, acct.options));
    }
  });

  it('rejects an assertion with a wrong challenge, origin, RP ID, cleared UP/UV or a bogus signature', async () => {
    const body = { kind: 'device-revocation' as const, deviceId: laptop.sign.id };
    const cases: [AssertionOverrides, string][] = [
      [{ challengeB64: Buffer.from(new Uint8Array(32)).toString('base64url') }, 'webauthn-challenge'],
      [{ origin: 'https://evil.example' }, 'webauthn-origin'],
      [{ rpId: 'evil.example' }, 'webauthn-rp-id'],
      [{ userPresent: false }, 'webauthn-user-presence'],
      [{ userVerified: false }, 'webauthn-user-verification'],
      [{ type: 'webauthn.create' }, 'webauthn-type'],
      [{ crossOrigin: true }, 'webauthn-cross-origin'],
    ];
    for (const [overrides, detail] of cases) {
      await expectProofError(applyStatement(acct.state, await acct.next(body, passkey, overrides), acct.options), detail);
    }
    // Bogus signature: a valid assertion over the statement by another credential.
    const other = new SoftWebAuthn({ rpId, origin });
    const draft = await acct.draft(body, passkey);
    const bogus = await signStatementWithWebAuthn(draft, other.getAssertion);
    await expectProofError(applyStatement(acct.state, bogus, acct.options), 'webauthn-signature');
    // An assertion made for a different statement (replayed from another one).
    const first = decodeSignedStatement(acct.log[1]!).proof;
    await expectProofError(applyStatement(acct.state, encodeSignedStatement(encodeStatement(draft), first), acct.options), 'webauthn-challenge');
    // An ECDSA proof for a WebAuthn root.
    await expectProofError(
      applyStatement(acct.state, encodeSignedStatement(encodeStatement(draft), { type: 'ecdsa', signature: new Uint8Array(64).fill(1) }), acct.options),
      'signature',
    );
    // The verifier's policy: another RP ID or origin set, or none at all.
    await expectProofError(verifyAccountLog(acct.log, { rpId: 'example.com', origins: [origin] }), 'webauthn-rp-id');
    await expectProofError(verifyAccountLog(acct.log, { rpId, origins: ['https://example.com'] }), 'webauthn-origin');
    await expectProofError(verifyAccountLog(acct.log, {}), 'webauthn-policy');
  });

  it('lets a security-key root without UV sign only when the policy allows it', async () => {
    const body = { kind: 'device-revocation' as const, deviceId: laptop.sign.id };
    const signed = await acct.next(body, securityKey);
    await expectProofError(applyStatement(acct.state, signed, acct.options), 'webauthn-user-verification');
    const s = await applyStatement(acct.state, signed, { ...acct.options, requireUserVerification: false });
    expect(s.revokedDevices.map((d) => d.id)).toEqual([laptop.sign.id]);
    expect(s.rotationNeeded).toBe(true);
  });

  it('keeps the fold pure: the earlier state is unchanged', () => {
    expect(before.roots.length).toBe(1);
    expect(before.seq).toBe(2);
  });
});
