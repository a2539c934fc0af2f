// WebAuthn ceremonies and PRF key-encryption keys in real Chromium with CDP virtual
// authenticators, checked in Node by @simplewebauthn/server (what the directory runs) and by the
// SDK's own statement verification.
import { createHash } from 'node:crypto';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyIdOf } from '@sigil/sdk/backend';
import {
  decodeSignedStatement,
  encodeStatement,
  genesisHeader,
  verifyAccountLog,
  verifyWebAuthnAssertion,
  type WebAuthnRoot,
} from '@sigil/sdk/identity';
import {
  AUTHENTICATORS,
  PageError,
  TEST_WEBAUTHN_TIMEOUT_MS,
  authenticatorCredentials,
  callPage,
  setPresence,
  setResponseOverrideBits,
  wipeOriginAndReload,
  type TestPage,
} from '../support/browser.js';
import { startIdentityHarness, type IdentityHarness } from './harness.js';
import { TestRelyingParty } from './relying-party.js';

type RootJSON = { rpId: string; credentialIdB64: string; publicKeyB64: string };
type Registered = { response: RegistrationResponseJSON; mode: 'prf' | 'no-prf'; keksAtCreate: boolean; root: RootJSON };
type SignedIn = { response: AuthenticationResponseJSON; mode: 'prf' | 'no-prf'; credentialIdB64: string; userHandleB64?: string };
type AssertionJSON = { authenticatorDataB64: string; clientDataJSONB64: string; signatureB64: string };

const T = TEST_WEBAUTHN_TIMEOUT_MS;
const b64u = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
const unb64u = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64url'));
const sha256 = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());
/** docs/STATEMENTS.md §6.2, computed independently of the SDK: SHA-256("sigil/v2 webauthn-statement" || 0x00 || SHA-256(statement)). */
const statementChallenge = (statement: Uint8Array): Uint8Array => sha256(Buffer.concat([Buffer.from('sigil/v2 webauthn-statement\0'), sha256(statement)]));
const rootOf = (r: RootJSON): WebAuthnRoot => ({ type: 'webauthn', rpId: r.rpId, credentialId: unb64u(r.credentialIdB64), publicKey: unb64u(r.publicKeyB64) });

async function pageError(p: Promise<unknown>): Promise<PageError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof PageError) return e;
    throw e;
  }
  throw new Error('expected the page call to fail');
}

async function register(tp: TestPage, rp: TestRelyingParty, user: string): Promise<Registered> {
  const reg = await callPage<Registered>(tp, 'register', await rp.registrationOptions(user), T);
  await rp.verifyRegistration(reg.response);
  return reg;
}

async function signIn(tp: TestPage, rp: TestRelyingParty, allow?: string[]): Promise<SignedIn> {
  const s = await callPage<SignedIn>(tp, 'signIn', await rp.authenticationOptions(allow), T);
  await rp.verifyAuthentication(s.response);
  return s;
}

let h: IdentityHarness;
let rp: TestRelyingParty;

beforeAll(async () => {
  h = await startIdentityHarness();
  rp = new TestRelyingParty(h.origin);
});

afterAll(async () => {
  await h?.close();
});

describe('passkey with PRF (synced-looking)', () => {
  let alice: TestPage;
  let reg: Registered;
  const account = 'alice@example.org';
  const cache = b64u(new TextEncoder().encode('wrapped user keys of alice, epoch 1'));
  let sealedCache: string;
  let sealedBackup: string;
  let sealedAtCreate: string;

  beforeAll(async () => {
    alice = await h.open(AUTHENTICATORS.passkeyWithPrf);
  });

  it('registers an ES256 credential in PRF mode, and the server verifies the response', async () => {
    const options = await rp.registrationOptions('alice');
    reg = await callPage<Registered>(alice, 'register', options, T);
    expect(reg.mode).toBe('prf');
    // Chromium's virtual authenticator evaluates PRF at creation already (hmac-secret-mc).
    expect(reg.keksAtCreate).toBe(true);
    sealedAtCreate = await callPage<string>(alice, 'seal', 'local-cache', account, cache);
    const credential = await rp.verifyRegistration(reg.response);
    expect(credential.backedUp).toBe(true);
    expect(reg.root.rpId).toBe('localhost');
    expect(reg.root.credentialIdB64).toBe(credential.id);
    expect(reg.response.response.publicKeyAlgorithm).toBe(-7);
    // What goes to the server: `prf.enabled` and nothing else of PRF.
    expect((reg.response.clientExtensionResults as { prf?: unknown }).prf).toEqual({ enabled: true });
    expect(JSON.stringify(reg.response)).not.toMatch(/results/);
  });

  it('signs in (account-bound) with a PRF output that stays in the page', async () => {
    const s = await signIn(alice, rp, [reg.root.credentialIdB64]);
    expect(s.mode).toBe('prf');
    expect(s.credentialIdB64).toBe(reg.root.credentialIdB64);
    expect((s.response.clientExtensionResults as { prf?: unknown }).prf).toEqual({});
    expect(JSON.stringify(s.response)).not.toMatch(/results/);
    // The KEK of the sign-in is the KEK of the creation: same credential, same salt.
    expect(await callPage<string>(alice, 'open', 'local-cache', account, sealedAtCreate)).toBe(cache);
  });

  it('seals the local cache and a passkey backup; opens them back', async () => {
    sealedCache = await callPage<string>(alice, 'sealIntoStore', account, 'user-key-cache', cache);
    sealedBackup = await callPage<string>(alice, 'seal', 'passkey-backup', account, cache);
    expect(unb64u(sealedCache).length).toBe(1 + 12 + unb64u(cache).length + 16);
    expect(sealedBackup).not.toBe(sealedCache);
    expect(await callPage<string | null>(alice, 'openFromStore', account, 'user-key-cache')).toBe(cache);
    expect(await callPage<string>(alice, 'open', 'passkey-backup', account, sealedBackup)).toBe(cache);
  });

  it('refuses a blob opened for another purpose or account, or with any byte changed', async () => {
    expect((await pageError(callPage(alice, 'open', 'passkey-backup', account, sealedCache))).code).toBe('E_AUTH_FAILED');
    expect((await pageError(callPage(alice, 'open', 'local-cache', 'mallory@example.org', sealedCache))).code).toBe('E_AUTH_FAILED');
    const sealed = unb64u(sealedCache);
    for (let i = 0; i < sealed.length; i++) {
      const bad = Uint8Array.from(sealed);
      bad[i] = (bad[i] as number) ^ 0x01;
      const e = await pageError(callPage(alice, 'open', 'local-cache', account, b64u(bad)));
      expect(e.code, `byte ${i}`).toBe(i === 0 ? 'E_FORMAT' : 'E_AUTH_FAILED');
    }
    const e = await pageError(callPage(alice, 'open', 'local-cache', account, b64u(sealed.subarray(0, 28))));
    expect(e.code).toBe('E_FORMAT');
  });

  it('after a storage wipe (a fresh device, same passkey) a discoverable sign-in gives the same KEKs', async () => {
    await wipeOriginAndReload(alice, h.origin);
    expect(await callPage<string | null>(alice, 'openFromStore', account, 'user-key-cache')).toBeNull();
    await expect(callPage(alice, 'open', 'local-cache', account, sealedCache)).rejects.toThrow(/no PRF keys/);
    const s = await signIn(alice, rp);
    expect(s.mode).toBe('prf');
    expect(s.credentialIdB64).toBe(reg.root.credentialIdB64);
    expect(s.userHandleB64).toBeDefined(); // a discoverable credential names its user
    expect(await callPage<string>(alice, 'open', 'local-cache', account, sealedCache)).toBe(cache);
    expect(await callPage<string>(alice, 'open', 'passkey-backup', account, sealedBackup)).toBe(cache);
  });

  it('another passkey (another PRF) cannot open what the first sealed', async () => {
    const other = await h.open(AUTHENTICATORS.passkeyWithPrf);
    const otherReg = await register(other, rp, 'alice-other-device');
    expect(otherReg.mode).toBe('prf');
    const s = await signIn(other, rp, [otherReg.root.credentialIdB64]);
    expect(s.mode).toBe('prf');
    expect((await pageError(callPage(other, 'open', 'local-cache', account, sealedCache))).code).toBe('E_AUTH_FAILED');
    expect((await pageError(callPage(other, 'open', 'passkey-backup', account, sealedBackup))).code).toBe('E_AUTH_FAILED');
  });

  it('signs a genesis with the root: the SDK verifies it as a directory would', async () => {
    await callPage(alice, 'setRoot', reg.root);
    const time = Date.UTC(2026, 10, 26);
    const signed = unb64u(await callPage<string>(alice, 'signGenesis', account, time, T));
    const decoded = decodeSignedStatement(signed);
    expect(decoded.proof.type).toBe('webauthn');
    const state = await verifyAccountLog([signed], { accountId: account, rpId: 'localhost', origins: [h.origin] });
    expect(state.roots).toHaveLength(1);
    expect(state.roots[0]?.publicKey).toEqual(unb64u(reg.root.publicKeyB64));
    // Another origin, or another RP ID, is refused.
    await expect(verifyAccountLog([signed], { accountId: account, rpId: 'localhost', origins: ['http://localhost:1'] })).rejects.toMatchObject({
      code: 'E_DIRECTORY_PROOF',
    });
  });

  it('assertStatement: challenge = the labelled hash of the statement (§6.2), verified by verifyWebAuthnAssertion', async () => {
    const root = rootOf(reg.root);
    const statement = encodeStatement({ kind: 'genesis', ...genesisHeader('carol@example.org', await keyIdOf(root.publicKey), 1), roots: [root] });
    const a = await callPage<AssertionJSON>(alice, 'assertStatement', b64u(statement), T);
    const assertion = { authenticatorData: unb64u(a.authenticatorDataB64), clientDataJSON: unb64u(a.clientDataJSONB64), signature: unb64u(a.signatureB64) };
    const policy = { publicKey: root.publicKey, credentialRpId: 'localhost', rpId: 'localhost', origins: [h.origin] };
    await verifyWebAuthnAssertion(assertion, { ...policy, challenge: statementChallenge(statement) });
    const other = Uint8Array.from(statement);
    other[other.length - 1] = (other[other.length - 1] as number) ^ 1;
    await expect(verifyWebAuthnAssertion(assertion, { ...policy, challenge: statementChallenge(other) })).rejects.toMatchObject({ code: 'E_WEBAUTHN', detail: 'challenge' });
    // Not the bare statement hash, which statements version 1 signed.
    await expect(verifyWebAuthnAssertion(assertion, { ...policy, challenge: sha256(statement) })).rejects.toMatchObject({ code: 'E_WEBAUTHN', detail: 'challenge' });
  });

  it('negative paths: bogus signature, bad UV, no touch (timeout)', async () => {
    const root = rootOf(reg.root);
    const statement = encodeStatement({ kind: 'genesis', ...genesisHeader('dave@example.org', await keyIdOf(root.publicKey), 2), roots: [root] });
    const policy = { publicKey: root.publicKey, credentialRpId: 'localhost', rpId: 'localhost', origins: [h.origin], challenge: statementChallenge(statement) };
    const toAssertion = (a: AssertionJSON) => ({
      authenticatorData: unb64u(a.authenticatorDataB64),
      clientDataJSON: unb64u(a.clientDataJSONB64),
      signature: unb64u(a.signatureB64),
    });

    // Chromium's bogus signature is not even DER: the page refuses it before it reaches a statement.
    await setResponseOverrideBits(alice, { isBogusSignature: true });
    const bogus = await pageError(callPage(alice, 'assertStatement', b64u(statement), T));
    expect([bogus.code, bogus.detail]).toEqual(['E_WEBAUTHN', 'signature']);
    // The directory's relying party refuses a bogus sign-in too.
    const bogusSignIn = await callPage<SignedIn>(alice, 'signIn', await rp.authenticationOptions([reg.root.credentialIdB64]), T);
    await expect(rp.verifyAuthentication(bogusSignIn.response)).rejects.toThrow();

    await setResponseOverrideBits(alice, { isBadUV: true });
    const noUv = toAssertion(await callPage<AssertionJSON>(alice, 'assertStatement', b64u(statement), T));
    await expect(verifyWebAuthnAssertion(noUv, policy)).rejects.toMatchObject({ code: 'E_WEBAUTHN', detail: 'user-verification' });
    const noUvSignIn = await callPage<SignedIn>(alice, 'signIn', await rp.authenticationOptions([reg.root.credentialIdB64]), T);
    await expect(rp.verifyAuthentication(noUvSignIn.response)).rejects.toThrow();
    await setResponseOverrideBits(alice, {});

    await setPresence(alice, false);
    const timedOut = await pageError(callPage(alice, 'assertStatement', b64u(statement), 1_000));
    expect(timedOut.code).toBe('E_WEBAUTHN');
    expect(timedOut.detail).toBe('NotAllowedError');
    await setPresence(alice, true);

    // Honest again: the same statement now verifies; a well-formed signature over other
    // authenticator data (the counter changed) does not.
    const honest = toAssertion(await callPage<AssertionJSON>(alice, 'assertStatement', b64u(statement), T));
    await verifyWebAuthnAssertion(honest, policy);
    const moved = Uint8Array.from(honest.authenticatorData);
    moved[36] = (moved[36] as number) ^ 1;
    await expect(verifyWebAuthnAssertion({ ...honest, authenticatorData: moved }, policy)).rejects.toMatchObject({ code: 'E_WEBAUTHN', detail: 'signature' });
  });

  it('refuses registration options without ES256', async () => {
    const options = await rp.registrationOptions('alice-eddsa');
    const e = await pageError(callPage(alice, 'register', { ...options, pubKeyCredParams: [{ type: 'public-key', alg: -8 }] }, T));
    expect(e.code).toBe('E_WEBAUTHN');
    expect(e.detail).toBe('algorithm');
  });
});

describe('USB security key without PRF', () => {
  let bob: TestPage;
  let reg: Registered;

  beforeAll(async () => {
    bob = await h.open(AUTHENTICATORS.securityKeyWithoutPrf);
  });

  it("registers and signs in in 'no-prf' mode, verified by the server", async () => {
    reg = await register(bob, rp, 'bob');
    expect(reg.mode).toBe('no-prf');
    expect(reg.keksAtCreate).toBe(false);
    expect((reg.response.clientExtensionResults as { prf?: unknown }).prf).toEqual({ enabled: false });
    const s = await signIn(bob, rp, [reg.root.credentialIdB64]);
    expect(s.mode).toBe('no-prf');
    await expect(callPage(bob, 'seal', 'local-cache', 'bob@example.org', b64u(new Uint8Array(8)))).rejects.toThrow(/no PRF keys/);
    const creds = await authenticatorCredentials(bob);
    expect(creds).toHaveLength(1);
    expect(creds[0]?.signCount).toBeGreaterThan(0);
  });

  it('anchors identity all the same: a genesis signed by the security key verifies', async () => {
    await callPage(bob, 'setRoot', reg.root);
    const signed = unb64u(await callPage<string>(bob, 'signGenesis', 'bob@example.org', Date.UTC(2026, 10, 26), T));
    const state = await verifyAccountLog([signed], { accountId: 'bob@example.org', rpId: 'localhost', origins: [h.origin] });
    expect(state.roots[0]?.publicKey).toEqual(unb64u(reg.root.publicKeyB64));
  });
});
