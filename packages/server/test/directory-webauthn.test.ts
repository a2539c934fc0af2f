// WebAuthn registration and sign-in through @simplewebauthn/server's real verification, driven by
// the software authenticator test double (test/support/soft-webauthn.ts); then a WebAuthn-rooted
// account's genesis, which needs the registered credential and the account's session.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebCryptoKeyBackend } from '@sigil/sdk';
import { keyIdOf } from '@sigil/sdk/backend';
import { chainAfter, genesisHeader, signStatementWithWebAuthn, verifyAccountLog, type Statement } from '@sigil/sdk/identity';
import { proveDevicePossession } from '@sigil/sdk/identity';
import { SoftWebAuthn } from '../../../test/support/soft-webauthn.js';
import { b64u, lookupVerified, makeDirectory, postStatement, T0, unb64u, type Directory } from './directory-fixture.js';

const RP = { rpId: 'localhost', origin: 'http://localhost:8787' };
let dir: Directory;
beforeEach(async () => {
  dir = await makeDirectory();
});
afterEach(() => dir.close());

async function registerOptions(accountId: string) {
  const res = await dir.call('POST', '/v1/auth/webauthn/register/options', { body: { accountId, displayName: 'Alice' } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.options as { challenge: string; rp: { id: string }; pubKeyCredParams: { alg: number }[]; authenticatorSelection: { userVerification: string }; user: { name: string } };
}

async function register(accountId: string, soft = new SoftWebAuthn(RP)) {
  const options = await registerOptions(accountId);
  const res = await dir.call('POST', '/v1/auth/webauthn/register/verify', { body: { accountId, response: soft.register(unb64u(options.challenge)) } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return { soft, token: res.body.token as string, body: res.body };
}

async function loginOptions(accountId?: string) {
  const res = await dir.call('POST', '/v1/auth/webauthn/login/options', { body: accountId === undefined ? {} : { accountId } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.options as { challenge: string; allowCredentials?: { id: string }[]; userVerification: string; rpId: string };
}

const loginVerify = (response: unknown) => dir.call('POST', '/v1/auth/webauthn/login/verify', { body: { response } });

async function webAuthnGenesis(accountId: string, soft: SoftWebAuthn) {
  const rootId = await keyIdOf(soft.publicKey);
  const draft: Statement = {
    kind: 'genesis',
    ...genesisHeader(accountId, rootId, T0),
    roots: [{ type: 'webauthn', publicKey: soft.publicKey, rpId: RP.rpId, credentialId: soft.credentialId }],
  };
  return signStatementWithWebAuthn(draft, soft.getAssertion);
}

describe('registration', () => {
  it('offers ES256 only with UV required, verifies the attestation, creates the user account with a session', async () => {
    const options = await registerOptions('alice@example.com');
    expect(options.rp.id).toBe('localhost');
    expect(options.pubKeyCredParams.map((p) => p.alg)).toEqual([-7]);
    expect(options.authenticatorSelection.userVerification).toBe('required');
    expect(options.user.name).toBe('alice@example.com');
    const soft = new SoftWebAuthn(RP);
    const res = await dir.call('POST', '/v1/auth/webauthn/register/verify', { body: { accountId: 'alice@example.com', response: soft.register(unb64u(options.challenge)) } });
    expect(res.status).toBe(200);
    expect(res.body.credential).toEqual({ idB64: b64u(soft.credentialId), publicKeyB64: b64u(soft.publicKey) });
    expect(res.body.expiresAt).toBe(dir.now() + 15 * 60_000);
    expect(await dir.store.getAccount('alice@example.com')).toMatchObject({ kind: 'user' });
    expect((await dir.call('GET', '/v1/mailbox', { token: res.body.token })).status).toBe(200);
    // The id is taken now.
    const again = await dir.call('POST', '/v1/auth/webauthn/register/options', { body: { accountId: 'alice@example.com', displayName: 'A' } });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('E_CONFLICT');
  });

  it('refuses a registration without UV, from another origin or RP, with a foreign or expired challenge; creates nothing', async () => {
    const cases: [string, (soft: SoftWebAuthn, challenge: Uint8Array) => unknown, (() => void)?][] = [
      ['no UV', (s, c) => s.register(c, { userVerified: false })],
      ['origin', (s, c) => s.register(c, { origin: 'http://evil.example' })],
      ['rp id', (s, c) => s.register(c, { rpId: 'evil.example' })],
      ['type', (s, c) => s.register(c, { type: 'webauthn.get' })],
      ['unknown challenge', (s) => s.register(new Uint8Array(32).fill(1))],
      ['expired', (s, c) => s.register(c), () => dir.advance(5 * 60_000)],
    ];
    for (const [name, make, before] of cases) {
      const options = await registerOptions('bob');
      before?.();
      const res = await dir.call('POST', '/v1/auth/webauthn/register/verify', { body: { accountId: 'bob', response: make(new SoftWebAuthn(RP), unb64u(options.challenge)) } });
      expect(res.status, name).toBe(401);
      expect(res.body.error.code, name).toBe('E_WEBAUTHN');
      expect(await dir.store.getAccount('bob'), name).toBeUndefined();
    }
    // A challenge issued for another account id does not register this one.
    const forCarol = await registerOptions('carol');
    const res = await dir.call('POST', '/v1/auth/webauthn/register/verify', { body: { accountId: 'bob', response: new SoftWebAuthn(RP).register(unb64u(forCarol.challenge)) } });
    expect(res.status).toBe(401);
  });
});

describe('a registration that never publishes a genesis', () => {
  it('holds its account id for an hour, then is deleted with its credential and sessions, and the id can be registered again', async () => {
    const first = await register('squat@example.com');
    dir.advance(59 * 60_000);
    const early = await dir.call('POST', '/v1/auth/webauthn/register/options', { body: { accountId: 'squat@example.com', displayName: 'x' } });
    expect([early.status, early.body.error.code]).toEqual([409, 'E_CONFLICT']);
    dir.advance(2 * 60_000);
    const again = await register('squat@example.com'); // another authenticator takes the id
    expect(again.body.credential.idB64).not.toBe(b64u(first.soft.credentialId));
    expect(await dir.store.getCredential(b64u(first.soft.credentialId))).toBeUndefined();
    expect((await dir.call('GET', '/v1/mailbox', { token: first.token })).status).toBe(401);
  });

  it('is kept once its genesis is published', async () => {
    const { soft, token } = await register('alice@example.com');
    expect((await postStatement(dir, await webAuthnGenesis('alice@example.com', soft), [], token)).status).toBe(200);
    dir.advance(2 * 60 * 60_000);
    const taken = await dir.call('POST', '/v1/auth/webauthn/register/options', { body: { accountId: 'alice@example.com', displayName: 'x' } });
    expect(taken.status).toBe(409);
    expect(await dir.store.getCredential(b64u(soft.credentialId))).toBeDefined();
  });
});

describe('sign-in', () => {
  it('signs in with allowCredentials and discoverably; stores the counter', async () => {
    const { soft } = await register('alice');
    const options = await loginOptions('alice');
    expect(options.allowCredentials?.map((c) => c.id)).toEqual([b64u(soft.credentialId)]);
    expect(options.userVerification).toBe('required');
    const res = await loginVerify(soft.signInJSON(unb64u(options.challenge)));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.accountId).toBe('alice');
    expect((await dir.call('GET', '/v1/mailbox', { token: res.body.token })).status).toBe(200);
    const counter = (await dir.store.getCredential(b64u(soft.credentialId)))!.counter;
    expect(counter).toBeGreaterThan(0);
    const discoverable = await loginOptions();
    expect(discoverable.allowCredentials ?? []).toEqual([]);
    expect((await loginVerify(soft.signInJSON(unb64u(discoverable.challenge)))).status).toBe(200);
    expect((await dir.store.getCredential(b64u(soft.credentialId)))!.counter).toBeGreaterThan(counter);
  });

  it('refuses no UV, a bogus signature, a replayed challenge, a counter regression, an expired or foreign challenge, an unknown credential', async () => {
    const { soft } = await register('alice');
    const { soft: bobKey } = await register('bob');
    const expect401 = async (name: string, response: unknown) => {
      const res = await loginVerify(response);
      expect(res.status, name).toBe(401);
      expect(res.body.error.code, name).toBe('E_WEBAUTHN');
    };
    await expect401('no UV', soft.signInJSON(unb64u((await loginOptions('alice')).challenge), { userVerified: false }));

    // Bogus signature; the challenge is then spent: a genuine assertion over it fails too.
    const c1 = unb64u((await loginOptions('alice')).challenge);
    const bogus = soft.signInJSON(c1);
    const sig = unb64u(bogus.response.signature);
    sig[sig.length - 1]! ^= 1;
    await expect401('bogus signature', { ...bogus, response: { ...bogus.response, signature: b64u(sig) } });
    await expect401('replayed challenge after a failure', soft.signInJSON(c1));

    // Replay of a successful response.
    const ok = soft.signInJSON(unb64u((await loginOptions('alice')).challenge));
    expect((await loginVerify(ok)).status).toBe(200);
    await expect401('replayed response', ok);

    // Counter regression: two fresh challenges, the later assertion used first.
    const early = soft.signInJSON(unb64u((await loginOptions('alice')).challenge));
    const late = soft.signInJSON(unb64u((await loginOptions('alice')).challenge));
    expect((await loginVerify(late)).status).toBe(200);
    await expect401('counter regression', early);

    const expiring = unb64u((await loginOptions('alice')).challenge);
    dir.advance(5 * 60_000);
    await expect401('expired challenge', soft.signInJSON(expiring));
    await expect401("bob's challenge", soft.signInJSON(unb64u((await loginOptions('bob')).challenge)));
    await expect401('unknown credential', new SoftWebAuthn(RP).signInJSON(unb64u((await loginOptions()).challenge)));
    await expect401('other origin', soft.signInJSON(unb64u((await loginOptions()).challenge), { origin: 'http://evil.example' }));
    expect((await loginVerify(bobKey.signInJSON(unb64u((await loginOptions('bob')).challenge)))).status).toBe(200);
  });

  it('rate limits /v1/auth/* per client (429 E_RATE_LIMITED)', async () => {
    const limited = await makeDirectory({ config: { authRateLimit: { limit: 3, windowMs: 60_000 } } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await limited.call('POST', '/v1/auth/webauthn/login/options', { body: {} })).status);
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
      expect((await limited.call('GET', '/v1/health')).status).toBe(200);
    } finally {
      await limited.close();
    }
  });
});

describe('WebAuthn-rooted account', () => {
  it("publishes a genesis naming the registered credential with the account's session, then a device certificate", async () => {
    const { soft, token } = await register('alice@example.com');
    const genesis = await webAuthnGenesis('alice@example.com', soft);
    const none = await postStatement(dir, genesis);
    expect(none.status).toBe(401);
    const { token: bobToken } = await register('bob');
    const foreign = await postStatement(dir, genesis, [], bobToken);
    expect(foreign.status).toBe(403);
    expect(await dir.store.treeSize()).toBe(0);

    const res = await postStatement(dir, genesis, [], token);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const state = await verifyAccountLog([genesis], { accountId: 'alice@example.com', rpId: RP.rpId, origins: [RP.origin] });
    const keys = new WebCryptoKeyBackend();
    const signing = await keys.generateKeyPair({ usage: 'sign', label: 's' });
    const agreement = await keys.generateKeyPair({ usage: 'agree', label: 'a' });
    const cert = await signStatementWithWebAuthn(
      { kind: 'device-certificate', ...chainAfter(state, state.roots[0]!.id, state.time), device: { signingKey: signing.publicKey, agreementKey: agreement.publicKey, possessionSignature: await proveDevicePossession(state.accountId, { backend: keys, signing, agreement }), name: 'laptop' } },
      soft.getAssertion,
    );
    expect((await postStatement(dir, cert)).status).toBe(200); // self-authenticating: no session
    const { body } = await lookupVerified(dir, 'alice@example.com');
    expect(body.kind).toBe('user');
    expect(body.statements).toHaveLength(2);
  });

  it('refuses a genesis naming another credential, one without UV, and one for an unregistered account', async () => {
    const { token } = await register('alice');
    const stranger = new SoftWebAuthn(RP);
    const other = await postStatement(dir, await webAuthnGenesis('alice', stranger), [], token);
    expect(other.status).toBe(403);
    expect(other.body.error.code).toBe('E_FORBIDDEN');
    const unregistered = await postStatement(dir, await webAuthnGenesis('nobody', stranger), [], token);
    expect(unregistered.status).toBe(404);
    expect(unregistered.body.error.code).toBe('E_UNKNOWN_ACCOUNT');
    const { soft: carolKey, token: carol } = await register('carol', new SoftWebAuthn(RP));
    const noUv = await signStatementWithWebAuthn(
      { kind: 'genesis', ...genesisHeader('carol', await keyIdOf(carolKey.publicKey), T0), roots: [{ type: 'webauthn', publicKey: carolKey.publicKey, rpId: RP.rpId, credentialId: carolKey.credentialId }] },
      async (c) => carolKey.assert(c, { userVerified: false }),
    );
    const res = await postStatement(dir, noUv, [], carol);
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('E_DIRECTORY_PROOF');
    expect(await dir.store.treeSize()).toBe(0);
  });
});
