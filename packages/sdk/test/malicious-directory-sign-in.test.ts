// Issue 12 item 1: a directory may not turn a passkey sign-in into a root signature.
//
// The attack: the directory sets its login challenge to the challenge of a statement of its own
// (a root-add of the attacker's passkey, chained after the account's head), keeps the assertion
// the user's ordinary sign-in returns, and appends it as that statement's proof. Here the real
// client code runs (`signInWithWebAuthn`, with @simplewebauthn/browser answered by the soft
// authenticator, which signs exactly the challenge the client hands to navigator.credentials.get),
// against the real directory with its login options rewritten in transit, and against the lying
// directory double that logs the forged statement. The forged root-add must be refused by the
// statement verifier, by the real server and by clients looking the account up.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { startAuthentication } from '@simplewebauthn/browser';
import { DirectoryClient, SigilError, WebCryptoKeyBackend } from '@sigil/sdk';
import { keyIdOf } from '@sigil/sdk/backend';
// White-box: the ceremony below the public sign-in path (registerWithPasskey/signInWithPasskey).
import { signInWithWebAuthn } from '../src/browser/webauthn.js';
import {
  applyStatement,
  chainAfter,
  encodeSignedStatement,
  encodeStatement,
  genesisHeader,
  signStatementWithWebAuthn,
  statementHash,
  verifyAccountLog,
  webAuthnStatementChallenge,
  type AccountState,
  type Statement,
} from '@sigil/sdk/identity';
import { SqliteStore, TransparencyLog, createDirectoryApp } from '@sigil/server';
import { SoftWebAuthn } from '../../../test/support/soft-webauthn.js';
import { FakeDirectory, lyingFetch } from '../../../test/support/lying-directory.js';

vi.mock('@simplewebauthn/browser', () => ({ startAuthentication: vi.fn(), startRegistration: vi.fn() }));

const ALICE = 'alice@example.test';
const RP = { rpId: 'localhost', origin: 'http://localhost:8787' };
const policy = { rpId: RP.rpId, origins: [RP.origin] };
const URL_BASE = 'http://directory.test';
const b64u = (b: Uint8Array) => Buffer.from(b).toString('base64url');
const unb64u = (s: string) => new Uint8Array(Buffer.from(s, 'base64url'));

let alice: SoftWebAuthn;
beforeEach(() => {
  alice = new SoftWebAuthn(RP);
  vi.mocked(startAuthentication).mockClear();
  // The browser and authenticator: an assertion over whatever challenge the client asks for.
  vi.mocked(startAuthentication).mockImplementation(async ({ optionsJSON }) => alice.assertJSON(unb64u(optionsJSON.challenge)));
});

async function genesisOf(soft: SoftWebAuthn): Promise<Uint8Array> {
  const draft: Statement = {
    kind: 'genesis',
    ...genesisHeader(ALICE, await keyIdOf(soft.publicKey), 1_800_000_000_000),
    roots: [{ type: 'webauthn', publicKey: soft.publicKey, rpId: RP.rpId, credentialId: soft.credentialId }],
  };
  return signStatementWithWebAuthn(draft, soft.getAssertion);
}

/** The directory's statement: the attacker's passkey as a root of alice's account, "signed" by alice's root. */
async function rootAddDraft(state: AccountState): Promise<{ tbs: Uint8Array; mallory: SoftWebAuthn }> {
  const mallory = new SoftWebAuthn(RP);
  const tbs = encodeStatement({
    kind: 'root-add',
    ...chainAfter(state, state.roots[0]!.id, state.time),
    root: { type: 'webauthn', publicKey: mallory.publicKey, rpId: RP.rpId, credentialId: mallory.credentialId },
  });
  return { tbs, mallory };
}

/** The nonces a lying directory would try: the statement hash (the v1 challenge) and the v2 statement challenge itself. */
async function attackNonces(tbs: Uint8Array): Promise<[string, Uint8Array][]> {
  const hash = await statementHash(tbs);
  return [
    ['the statement hash', hash],
    ['the statement challenge', await webAuthnStatementChallenge(hash)],
  ];
}

/** The forged statement: the sign-in assertion the directory received, appended as the root-add's proof. */
function forgedFrom(tbs: Uint8Array, response: { response: { authenticatorData: string; clientDataJSON: string; signature: string } }): Uint8Array {
  return encodeSignedStatement(tbs, {
    type: 'webauthn',
    authenticatorData: unb64u(response.response.authenticatorData),
    clientDataJSON: unb64u(response.response.clientDataJSON),
    signature: unb64u(response.response.signature),
  });
}

async function detailOf(p: Promise<unknown>): Promise<string> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(SigilError.is(e), String(e)).toBe(true);
  return `${(e as SigilError).code}/${(e as SigilError).detail}`;
}

describe('a sign-in assertion never proves a statement', () => {
  it('the real directory with its login challenge set to a statement: the sign-in still works, the forged root-add is refused', async () => {
    const store = new SqliteStore(':memory:');
    const backend = new WebCryptoKeyBackend();
    const log = new TransparencyLog(store, { origin: 'directory.test/log', signer: { backend, key: await backend.generateKeyPair({ usage: 'sign', label: 'log' }) } });
    const { app } = createDirectoryApp({ store, log, config: { authRateLimit: { limit: 100_000, windowMs: 60_000 } } });
    try {
      const mitm = lyingFetch(async (input, init) => app.request(input, init));
      const client = new DirectoryClient({ url: URL_BASE, logPublicKey: (await log.verifierKey()).vkey, fetch: mitm.fetch, webauthn: policy });
      const options = (await client.webAuthnRegistrationOptions(ALICE, 'Alice')) as { challenge: string };
      const { session } = await client.webAuthnRegister(ALICE, alice.register(unb64u(options.challenge)));
      const { state } = await client.publish(await genesisOf(alice), { session });

      // Honest: the client derives the challenge from the nonce, the server recomputes it.
      const honest = await signInWithWebAuthn((await client.webAuthnLoginOptions(ALICE)) as Parameters<typeof signInWithWebAuthn>[0]);
      expect((await client.webAuthnLogin(honest.response)).accountId).toBe(ALICE);
      // A client that signed the server's nonce as is (the behaviour before the fix) is refused.
      const raw = (await client.webAuthnLoginOptions(ALICE)) as { challenge: string };
      const rawStatus = (await app.request('/v1/auth/webauthn/login/verify', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ response: alice.assertJSON(unb64u(raw.challenge)) }) })).status;
      expect(rawStatus).toBe(401);

      const { tbs } = await rootAddDraft(state);
      for (const [name, nonce] of await attackNonces(tbs)) {
        // LIE in transit: the login options carry the directory's chosen bytes.
        mitm.hooks.length = 0;
        mitm.hooks.push((path, body) => (path === '/v1/auth/webauthn/login/options' ? { options: { ...(body as { options: object }).options, challenge: b64u(nonce) } } : body));
        const signIn = await signInWithWebAuthn((await client.webAuthnLoginOptions(ALICE)) as Parameters<typeof signInWithWebAuthn>[0]);
        const forged = forgedFrom(tbs, signIn.response);

        // The verifier every client and the server run: not the statement form of the challenge.
        expect(await detailOf(applyStatement(state, forged, { accountId: ALICE, ...policy })), name).toBe('E_DIRECTORY_PROOF/webauthn-challenge');
        // The real server refuses to log it.
        const res = await app.request('/v1/statements', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ statementB64: b64u(forged) }) });
        expect(res.status, name).toBe(422);
        expect(((await res.json()) as { error: { code: string } }).error.code, name).toBe('E_DIRECTORY_PROOF');
      }
      // Control: had the client signed the directory's bytes as is, the second nonce WOULD have
      // been a valid root signature (so the refusals above are the derivation's doing).
      const [, statementChallenge] = (await attackNonces(tbs))[1]!;
      const undereived = alice.assert(statementChallenge);
      const wouldBe = encodeSignedStatement(tbs, { type: 'webauthn', ...undereived });
      expect((await applyStatement(state, wouldBe, { accountId: ALICE, ...policy })).roots).toHaveLength(2);
    } finally {
      store.close();
    }
  });

  it('the client refuses a sign-in nonce that is not 16 to 64 bytes of base64url, before any ceremony', async () => {
    for (const challenge of [b64u(new Uint8Array(15)), b64u(new Uint8Array(65)), '***']) {
      const e = await signInWithWebAuthn({ challenge, rpId: RP.rpId, userVerification: 'required' }).then(() => undefined, (err: unknown) => err);
      expect(SigilError.is(e, 'E_WEBAUTHN') && e.detail, challenge).toBe('challenge');
    }
    expect(vi.mocked(startAuthentication)).not.toHaveBeenCalled();
  });

  it('the lying directory logs the forged root-add: every client refuses the account', async () => {
    const dir = await FakeDirectory.create();
    const genesis = await genesisOf(alice);
    await dir.appendForged(ALICE, genesis);
    const state = await verifyAccountLog([genesis], { accountId: ALICE, ...policy });
    const { tbs } = await rootAddDraft(state);
    const client = new DirectoryClient({ url: dir.url, logPublicKey: dir.vkey, fetch: dir.fetch, webauthn: policy });
    expect((await client.lookup(ALICE)).state.roots).toHaveLength(1);

    const [, nonce] = (await attackNonces(tbs))[1]!;
    const signIn = await signInWithWebAuthn({ challenge: b64u(nonce), rpId: RP.rpId, allowCredentials: [{ id: b64u(alice.credentialId), type: 'public-key' }], userVerification: 'required' });
    await dir.appendForged(ALICE, forgedFrom(tbs, signIn.response));
    const fresh = new DirectoryClient({ url: dir.url, logPublicKey: dir.vkey, fetch: dir.fetch, webauthn: policy });
    expect(await detailOf(fresh.lookup(ALICE))).toBe('E_DIRECTORY_PROOF/webauthn-challenge');
    expect(await detailOf(client.lookup(ALICE))).toBe('E_DIRECTORY_PROOF/webauthn-challenge');
  });
});
