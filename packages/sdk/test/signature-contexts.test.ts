// Issue 12 item 1, second part: every signature a Sigil key makes has its own context
// (docs/SECURITY.md, "Signatures and their contexts"), and a signature made in one context never
// verifies in another. The inputs below are built by the same functions the signers and
// verifiers use; one P-256 key signs in every ECDSA context, so that separation rests on the
// inputs alone, not on keys happening to differ.
import { p256 } from '@noble/curves/nist.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SigilError, WebCryptoKeyBackend } from '@sigil/sdk';
import {
  SIGNATURE_CONTEXT_LABELS,
  STATEMENT_SIGNATURE_CONTEXT,
  applyStatement,
  chainAfter,
  contextPrefix,
  devicePossessionInput,
  encodeSignedStatement,
  encodeStatement,
  genesisHeader,
  proveDevicePossession,
  signStatement,
  statementSignatureInput,
  userKeyPossessionInput,
  verifyWebAuthnAssertion,
  webAuthnSignInChallenge,
  webAuthnStatementChallenge,
  type SignatureContext,
} from '@sigil/sdk/identity';
import { checkpointText } from '@sigil/sdk/transparency';
import { headerSignatureInput, segmentSignatureInput } from '../src/envelope/binding.js';
import { CHUNK_HEADER_LENGTH } from '../src/internal/chunked-aead.js';
import { concatBytes } from '../src/internal/bytes.js';
import { verifyP1363 } from '../src/internal/ecdsa.js';
import { SoftWebAuthn } from '../../../test/support/soft-webauthn.js';

const ACCOUNT = 'alice@example.org';
const contexts = Object.keys(SIGNATURE_CONTEXT_LABELS) as SignatureContext[];
const key = () => p256.getPublicKey(p256.utils.randomSecretKey(), false);
const startsWith = (b: Uint8Array, prefix: Uint8Array) => b.length >= prefix.length && prefix.every((x, i) => b[i] === x);
const utf8 = (s: string) => new TextEncoder().encode(s);

/** The ECDSA contexts: the exact bytes signed, from a payload drawn by the property test. */
type EcdsaContext = Exclude<SignatureContext, 'webAuthnStatement' | 'webAuthnSignIn'> | 'checkpoint';
const ecdsaInputs: Record<EcdsaContext, (payload: Uint8Array, k1: Uint8Array, k2: Uint8Array) => Uint8Array> = {
  statement: (p) => statementSignatureInput(p),
  serviceSession: (p) => concatBytes(contextPrefix('serviceSession'), p, utf8(ACCOUNT)),
  devicePossession: (_p, k1, k2) => devicePossessionInput(ACCOUNT, k1, k2),
  userKeyPossession: (p, k1) => userKeyPossessionInput(ACCOUNT, 1 + (p[0] ?? 0), k1),
  envelopeHeader: (p) => headerSignatureInput(p),
  envelopeSegment: (p) => segmentSignatureInput(new Uint8Array(32).fill(p[0] ?? 0), new Uint8Array(CHUNK_HEADER_LENGTH), p.length, (p[0] ?? 0) % 2 === 1, new Uint8Array(32)),
  // The log key's C2SP signed note: text without control characters (signNote refuses them).
  checkpoint: (p) => utf8(checkpointText({ origin: 'sigil.example/log', size: p.length, rootHash: new Uint8Array(32).fill(p[0] ?? 0) })),
};

describe('signature contexts', () => {
  it('every label is distinct and free of 0x00, so the prefixes label || 0x00 are prefix-free', () => {
    const prefixes = contexts.map((c) => contextPrefix(c));
    for (const c of contexts) expect(SIGNATURE_CONTEXT_LABELS[c].includes('\0'), c).toBe(false);
    for (const [i, a] of prefixes.entries()) {
      for (const [j, b] of prefixes.entries()) if (i !== j) expect(startsWith(b, a), `${contexts[i]} / ${contexts[j]}`).toBe(false);
    }
  });

  it('the list is the one the code uses: statement, envelope header and session labels are these', () => {
    expect(STATEMENT_SIGNATURE_CONTEXT).toEqual(contextPrefix('statement'));
    expect(headerSignatureInput(new Uint8Array(0))).toEqual(contextPrefix('envelopeHeader'));
    const segment = segmentSignatureInput(new Uint8Array(32), new Uint8Array(CHUNK_HEADER_LENGTH), 0, true, new Uint8Array(32));
    expect(segment.subarray(0, contextPrefix('envelopeSegment').length)).toEqual(contextPrefix('envelopeSegment'));
    expect(contextPrefix('serviceSession')).toEqual(utf8('sigil/v1 service-session\0'));
  });

  it('property: an input of each ECDSA context starts with its own prefix and with no other; a checkpoint holds no 0x00', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), (payload) => {
        const [k1, k2] = [key(), key()];
        for (const [name, input] of Object.entries(ecdsaInputs)) {
          const bytes = input(payload, k1, k2);
          if (name === 'checkpoint') {
            expect(bytes.includes(0)).toBe(false);
            continue;
          }
          for (const c of contexts) expect(startsWith(bytes, contextPrefix(c)), `${name} input vs ${c}`).toBe(c === name);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('a signature made in each ECDSA context verifies there and in no other (one key for all)', async () => {
    const backend = new WebCryptoKeyBackend();
    const ref = await backend.generateKeyPair({ usage: 'sign', label: 'everything' });
    const payload = crypto.getRandomValues(new Uint8Array(48));
    const [k1, k2] = [key(), key()];
    const names = Object.keys(ecdsaInputs) as EcdsaContext[];
    for (const x of names) {
      const input = ecdsaInputs[x](payload, k1, k2);
      const signature = await backend.sign(ref, input);
      expect(await verifyP1363(ref.publicKey, input, signature), `${x} control`).toBe(true);
      for (const y of names) {
        if (y === x) continue;
        // The same fields in the other context, and the other context carrying X's whole input
        // as its payload (the only way its bytes could come near): neither verifies.
        expect(await verifyP1363(ref.publicKey, ecdsaInputs[y](payload, k1, k2), signature), `${x} as ${y}`).toBe(false);
        expect(await verifyP1363(ref.publicKey, ecdsaInputs[y](input, k1, k2), signature), `${x} embedded in ${y}`).toBe(false);
      }
    }
  });

  it("through the real verifier: a device's other signatures are not a statement proof, nor a statement signature a proof of possession", async () => {
    const backend = new WebCryptoKeyBackend();
    const root = await backend.generateKeyPair({ usage: 'sign', label: 'root' });
    const device = { backend, signing: await backend.generateKeyPair({ usage: 'sign', label: 'd' }), agreement: await backend.generateKeyPair({ usage: 'agree', label: 'd' }) };
    const genesis = await signStatement({ kind: 'genesis', ...genesisHeader(ACCOUNT, root.id, 1), roots: [{ type: 'service', publicKey: root.publicKey }] }, { backend, ref: root });
    const state = await applyStatement(undefined, genesis, { accountId: ACCOUNT });
    const draft = { kind: 'device-certificate' as const, ...chainAfter(state, root.id), device: { signingKey: device.signing.publicKey, agreementKey: device.agreement.publicKey, possessionSignature: await proveDevicePossession(ACCOUNT, device), name: 'd' } };
    const tbs = encodeStatement(draft);
    const detail = (p: Promise<unknown>) => p.then(() => 'accepted', (e: unknown) => (SigilError.is(e, 'E_DIRECTORY_PROOF') ? e.detail : String(e)));
    // The root's signatures in other contexts over the same bytes, presented as the statement's proof.
    for (const y of ['serviceSession', 'envelopeHeader', 'devicePossession', 'userKeyPossession', 'checkpoint'] as const) {
      const signature = await backend.sign(root, ecdsaInputs[y](tbs, device.signing.publicKey, device.agreement.publicKey));
      expect(await detail(applyStatement(state, encodeSignedStatement(tbs, { type: 'ecdsa', signature }), { accountId: ACCOUNT })), y).toBe('signature');
    }
    // The device's statement signature (over a statement it could be asked to sign) as its possession proof.
    const asPossession = await backend.sign(device.signing, statementSignatureInput(devicePossessionInput(ACCOUNT, device.signing.publicKey, device.agreement.publicKey)));
    const withWrongProof = await signStatement({ ...draft, device: { ...draft.device, possessionSignature: asPossession } }, { backend, ref: root });
    expect(await detail(applyStatement(state, withWrongProof, { accountId: ACCOUNT }))).toBe('possession');
    // Control: the genuine certificate verifies.
    expect(await detail(applyStatement(state, await signStatement(draft, { backend, ref: root }), { accountId: ACCOUNT }))).toBe('accepted');
  });

  it('known answers: the WebAuthn challenges and possession inputs, computed here from their specs', async () => {
    const { createHash } = await import('node:crypto');
    const sha = (...parts: (string | Uint8Array)[]) => new Uint8Array(createHash('sha256').update(Buffer.concat(parts.map((p) => Buffer.from(p)))).digest());
    const x = Uint8Array.from({ length: 32 }, (_, i) => i);
    expect(await webAuthnStatementChallenge(x)).toEqual(sha('sigil/v2 webauthn-statement\0', x));
    expect(await webAuthnSignInChallenge(x)).toEqual(sha('sigil/v2 webauthn-sign-in\0', x));
    const [k1, k2] = [key(), key()];
    expect(devicePossessionInput('a', k1, k2)).toEqual(new Uint8Array(Buffer.concat([Buffer.from('sigil/v2 device-possession\0'), Buffer.from([1]), Buffer.from('a'), k1, k2])));
    expect(userKeyPossessionInput('a', 258, k1)).toEqual(new Uint8Array(Buffer.concat([Buffer.from('sigil/v2 user-key-possession\0'), Buffer.from([1]), Buffer.from('a'), Buffer.from([0, 0, 1, 2]), k1])));
    await expect(webAuthnSignInChallenge(new Uint8Array(15))).rejects.toBeInstanceOf(RangeError);
    await expect(webAuthnStatementChallenge(new Uint8Array(31))).rejects.toBeInstanceOf(RangeError);
  });

  it('WebAuthn: the sign-in and statement challenges of the same bytes differ, and an assertion for one fails as the other', async () => {
    fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 32, maxLength: 32 }), async (x) => {
        const signIn = await webAuthnSignInChallenge(x);
        const statement = await webAuthnStatementChallenge(x);
        expect(signIn).not.toEqual(statement);
        expect(signIn).not.toEqual(x);
        expect(statement).not.toEqual(x);
      }),
      { numRuns: 100 },
    );
    const soft = new SoftWebAuthn({ rpId: 'example.org', origin: 'https://example.org' });
    const policy = { publicKey: soft.publicKey, credentialRpId: 'example.org', rpId: 'example.org', origins: ['https://example.org'] };
    const hash = crypto.getRandomValues(new Uint8Array(32));
    const code = (p: Promise<unknown>) => p.then(() => 'verified', (e: unknown) => (SigilError.is(e) ? `${e.code}/${e.detail}` : String(e)));
    // A sign-in over nonce n, checked as the statement proof of n (the directory chose n = hash).
    const signInAssertion = soft.assert(await webAuthnSignInChallenge(hash));
    expect(await code(verifyWebAuthnAssertion(signInAssertion, { ...policy, challenge: await webAuthnStatementChallenge(hash) }))).toBe('E_WEBAUTHN/challenge');
    // A statement assertion, checked as a sign-in.
    const statementAssertion = soft.assert(await webAuthnStatementChallenge(hash));
    expect(await code(verifyWebAuthnAssertion(statementAssertion, { ...policy, challenge: await webAuthnSignInChallenge(hash) }))).toBe('E_WEBAUTHN/challenge');
    // A registration (webauthn.create) over the statement challenge is not an assertion.
    const created = soft.assert(await webAuthnStatementChallenge(hash), { type: 'webauthn.create' });
    expect(await code(verifyWebAuthnAssertion(created, { ...policy, challenge: await webAuthnStatementChallenge(hash) }))).toBe('E_WEBAUTHN/type');
    // Controls.
    expect(await code(verifyWebAuthnAssertion(statementAssertion, { ...policy, challenge: await webAuthnStatementChallenge(hash) }))).toBe('verified');
    expect(await code(verifyWebAuthnAssertion(signInAssertion, { ...policy, challenge: await webAuthnSignInChallenge(hash) }))).toBe('verified');
  });
});
