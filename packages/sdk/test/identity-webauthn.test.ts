// WebAuthn assertion verification: published vectors (W3C WebAuthn L3 §"Test Vectors",
// SimpleWebAuthn's captured assertions), the software authenticator against
// @simplewebauthn/server, and each relying-party check failing on its own.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeCBOR, decodePartialCBOR } from '@levischuck/tiny-cbor';
import { verifyAuthenticationResponse, verifyRegistrationResponse } from '@simplewebauthn/server';
import { SigilError } from '@sigil/sdk';
import { cosePublicKeyToRaw, verifyWebAuthnAssertion, webAuthnRootFromAttestationObject } from '@sigil/sdk/identity';
import { SoftWebAuthn } from '../../../test/support/soft-webauthn.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const vectorsDir = path.resolve(repoRoot, 'test/vectors/webauthn');
const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

interface W3cValue {
  hex: string;
}
interface W3cSection {
  title: string;
  anchor: string;
  ceremonies: Record<string, Record<string, W3cValue>>;
}
const w3c = JSON.parse(readFileSync(path.join(vectorsDir, 'w3c_webauthn_l3_test_vectors.json'), 'utf8')) as {
  rpId: string;
  origin: string;
  sections: W3cSection[];
};

/** The COSE_Key inside an attestation object's attested credential data (WebAuthn §6.5.1). */
function coseKeyOf(attestationObject: Uint8Array): Uint8Array {
  const att = decodeCBOR(attestationObject) as Map<string, unknown>;
  // A copy: tiny-cbor reads `data.buffer` from offset 0, ignoring a view's byteOffset.
  const authData = new Uint8Array(att.get('authData') as Uint8Array);
  const credIdLen = (authData[53]! << 8) | authData[54]!;
  const start = 55 + credIdLen;
  const [, length] = decodePartialCBOR(authData, start);
  return authData.slice(start, start + length);
}

const expectWebAuthnError = async (p: Promise<unknown>, detail: string) => {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(SigilError.is(e, 'E_WEBAUTHN')).toBe(true);
  expect((e as SigilError).detail).toBe(detail);
};

describe('W3C WebAuthn L3 test vectors: ES256 assertions', () => {
  const es256 = w3c.sections.filter((s) => s.title.includes('ES256') && s.ceremonies['authentication'] !== undefined);

  it('has the ES256 sections we expect', () => {
    // none, packed-self, crossOrigin, topOrigin, long credential id, packed, TPM, android-key, apple, fido-u2f
    expect(es256.length).toBeGreaterThanOrEqual(10);
  });

  for (const section of es256) {
    it(`${section.anchor}: ${section.title}`, async () => {
      const reg = section.ceremonies['registration']!;
      const auth = section.ceremonies['authentication']!;
      const publicKey = cosePublicKeyToRaw(coseKeyOf(hex(reg['attestationObject']!.hex)));
      const root = await webAuthnRootFromAttestationObject(hex(reg['attestationObject']!.hex), w3c.rpId);
      expect(root).toEqual({ type: 'webauthn', publicKey, rpId: w3c.rpId, credentialId: hex(reg['credential_id']!.hex) });
      await expect(webAuthnRootFromAttestationObject(hex(reg['attestationObject']!.hex), 'example.com')).rejects.toSatisfy((e) =>
        SigilError.is(e, 'E_FORMAT'),
      );
      const assertion = {
        authenticatorData: hex(auth['authenticatorData']!.hex),
        clientDataJSON: hex(auth['clientDataJSON']!.hex),
        signature: hex(auth['signature']!.hex),
      };
      const clientData = JSON.parse(Buffer.from(assertion.clientDataJSON).toString('utf8')) as Record<string, unknown>;
      const options = {
        publicKey,
        credentialRpId: w3c.rpId,
        challenge: hex(auth['challenge']!.hex),
        rpId: w3c.rpId,
        origins: [w3c.origin],
        requireUserVerification: false,
      };
      if (clientData['crossOrigin'] === true || 'topOrigin' in clientData) {
        // Statements are signed first-party; a cross-origin assertion is refused by policy.
        await expectWebAuthnError(verifyWebAuthnAssertion(assertion, options), 'cross-origin');
        return;
      }
      await expect(verifyWebAuthnAssertion(assertion, options)).resolves.toBeUndefined();
      const uv = (assertion.authenticatorData[32]! & 0x04) !== 0;
      if (!uv) {
        await expectWebAuthnError(verifyWebAuthnAssertion(assertion, { ...options, requireUserVerification: true }), 'user-verification');
      }
      // The same assertion, checked against another challenge, origin or RP ID, fails.
      const otherChallenge = hex(auth['challenge']!.hex);
      otherChallenge[0]! ^= 1;
      await expectWebAuthnError(verifyWebAuthnAssertion(assertion, { ...options, challenge: otherChallenge }), 'challenge');
      await expectWebAuthnError(verifyWebAuthnAssertion(assertion, { ...options, origins: ['https://example.com'] }), 'origin');
      await expectWebAuthnError(
        verifyWebAuthnAssertion(assertion, { ...options, credentialRpId: 'example.com', rpId: 'example.com' }),
        'rp-id',
      );
    });
  }
});

describe('SimpleWebAuthn captured ES256 assertions', () => {
  const fixtures = JSON.parse(readFileSync(path.join(vectorsDir, 'simplewebauthn_server_fixtures.json'), 'utf8')) as {
    rpId: string;
    origin: string;
    authentication: {
      name: string;
      authenticatorData: string;
      clientDataJSON: string;
      signature: string;
      expectedChallenge: string;
      credentialPublicKeyCOSE: string;
    }[];
  };
  it('has both fixtures', () => expect(fixtures.authentication.length).toBe(2));
  for (const f of fixtures.authentication) {
    it(f.name, async () => {
      const options = {
        publicKey: cosePublicKeyToRaw(b64(f.credentialPublicKeyCOSE)),
        credentialRpId: fixtures.rpId,
        challenge: b64(f.expectedChallenge),
        rpId: fixtures.rpId,
        origins: [fixtures.origin],
        requireUserVerification: false, // these security keys report UP only
      };
      const assertion = { authenticatorData: b64(f.authenticatorData), clientDataJSON: b64(f.clientDataJSON), signature: b64(f.signature) };
      await expect(verifyWebAuthnAssertion(assertion, options)).resolves.toBeUndefined();
      await expectWebAuthnError(verifyWebAuthnAssertion(assertion, { ...options, requireUserVerification: true }), 'user-verification');
      const bad = new Uint8Array(assertion.signature);
      bad[bad.length - 1]! ^= 1;
      await expectWebAuthnError(verifyWebAuthnAssertion({ ...assertion, signature: bad }, options), 'signature');
    });
  }
});

describe('soft WebAuthn authenticator (test double)', () => {
  const rpId = 'example.org';
  const origin = 'https://example.org';

  it('registers and asserts in formats @simplewebauthn/server verifies', async () => {
    const auth = new SoftWebAuthn({ rpId, origin });
    const challenge = new Uint8Array(32).fill(7);
    const reg = await verifyRegistrationResponse({
      response: auth.register(challenge),
      expectedChallenge: Buffer.from(challenge).toString('base64url'),
      expectedOrigin: origin,
      expectedRPID: rpId,
      requireUserVerification: true,
    });
    expect(reg.verified).toBe(true);
    const info = reg.registrationInfo!;
    expect(cosePublicKeyToRaw(info.credential.publicKey)).toEqual(auth.publicKey);
    const attestationObject = new Uint8Array(Buffer.from(auth.register(challenge).response.attestationObject, 'base64url'));
    expect(await webAuthnRootFromAttestationObject(attestationObject, rpId)).toEqual({ type: 'webauthn', publicKey: auth.publicKey, rpId, credentialId: auth.credentialId });
    for (const bad of [attestationObject.subarray(0, 60), new Uint8Array([0xa0]), new Uint8Array(attestationObject.length)]) {
      await expect(webAuthnRootFromAttestationObject(bad, rpId)).rejects.toSatisfy((e) => SigilError.is(e, 'E_FORMAT'));
    }
    const challenge2 = new Uint8Array(32).fill(9);
    const res = await verifyAuthenticationResponse({
      response: auth.assertJSON(challenge2),
      expectedChallenge: Buffer.from(challenge2).toString('base64url'),
      expectedOrigin: origin,
      expectedRPID: rpId,
      credential: { id: info.credential.id, publicKey: info.credential.publicKey, counter: info.credential.counter },
      requireUserVerification: true,
    });
    expect(res.verified).toBe(true);
  });

  it('is verified by verifyWebAuthnAssertion, and every relying-party check fails on its own', async () => {
    const auth = new SoftWebAuthn({ rpId, origin });
    const challenge = new Uint8Array(32).fill(1);
    const options = { publicKey: auth.publicKey, credentialRpId: rpId, challenge, rpId, origins: [origin] };
    await expect(verifyWebAuthnAssertion(auth.assert(challenge), options)).resolves.toBeUndefined();

    const cases: [string, Parameters<SoftWebAuthn['assert']>[1], string][] = [
      ['wrong type', { type: 'webauthn.create' }, 'type'],
      ['wrong challenge', { challengeB64: Buffer.from(new Uint8Array(32)).toString('base64url') }, 'challenge'],
      ['wrong origin', { origin: 'https://evil.example' }, 'origin'],
      ['origin of a subdomain', { origin: 'https://a.example.org' }, 'origin'],
      ['cross-origin iframe', { crossOrigin: true }, 'cross-origin'],
      ['wrong rpId hash', { rpId: 'evil.example' }, 'rp-id'],
      ['UP cleared', { userPresent: false }, 'user-presence'],
      ['UV cleared', { userVerified: false }, 'user-verification'],
      ['AT set in an assertion', { flags: 0x45 }, 'authenticator-data'],
      ['ED set without extensions', { flags: 0x85 }, 'authenticator-data'],
    ];
    for (const [, overrides, detail] of cases) {
      await expectWebAuthnError(verifyWebAuthnAssertion(auth.assert(challenge, overrides), options), detail);
    }
    // UV not required by policy: the UV-cleared assertion is accepted, the UP-cleared one never.
    await expect(
      verifyWebAuthnAssertion(auth.assert(challenge, { userVerified: false }), { ...options, requireUserVerification: false }),
    ).resolves.toBeUndefined();
    await expectWebAuthnError(
      verifyWebAuthnAssertion(auth.assert(challenge, { userPresent: false }), { ...options, requireUserVerification: false }),
      'user-presence',
    );
    // A signature by another credential, a bogus signature, non-DER bytes.
    const other = new SoftWebAuthn({ rpId, origin });
    await expectWebAuthnError(verifyWebAuthnAssertion(other.assert(challenge), options), 'signature');
    const a = auth.assert(challenge);
    const flipped = new Uint8Array(a.signature);
    flipped[flipped.length - 2]! ^= 0x40;
    await expectWebAuthnError(verifyWebAuthnAssertion({ ...a, signature: flipped }, options), 'signature');
    await expectWebAuthnError(verifyWebAuthnAssertion({ ...a, signature: new Uint8Array(70) }, options), 'signature');
    // A longer DER encoding of the same values (BER length form) is not strict DER.
    const ber = new Uint8Array([0x30, 0x81, ...a.signature.subarray(1)]);
    await expectWebAuthnError(verifyWebAuthnAssertion({ ...a, signature: ber }, options), 'signature');
    // Tampered authenticator data or client data.
    const ad = new Uint8Array(a.authenticatorData);
    ad[36]! ^= 1; // signCount
    await expectWebAuthnError(verifyWebAuthnAssertion({ ...a, authenticatorData: ad }, options), 'signature');
    await expectWebAuthnError(
      verifyWebAuthnAssertion({ ...a, clientDataJSON: new TextEncoder().encode('not json') }, options),
      'client-data',
    );
    await expectWebAuthnError(verifyWebAuthnAssertion({ ...a, authenticatorData: ad.subarray(0, 36) }, options), 'authenticator-data');
    // The credential's RP ID must be one the verifier accepts.
    await expectWebAuthnError(verifyWebAuthnAssertion(a, { ...options, rpId: 'example.com' }), 'rp-id');
  });

  it('rejects COSE keys that are not ES256 P-256', () => {
    const auth = new SoftWebAuthn({ rpId, origin });
    expect(cosePublicKeyToRaw(auth.cosePublicKey)).toEqual(auth.publicKey);
    const bad = [new Uint8Array([0xa0]), new Uint8Array([0xff]), new Uint8Array(0), auth.cosePublicKey.subarray(0, 40)];
    for (const b of bad) expect(() => cosePublicKeyToRaw(b)).toThrow(expect.objectContaining({ code: 'E_FORMAT' }));
    const es384 = new Uint8Array(auth.cosePublicKey);
    es384[4] = 0x38; // alg -7 (0x26) -> -25 (0x38 0x18 would be needed): now malformed or another alg
    expect(() => cosePublicKeyToRaw(es384)).toThrow(SigilError);
    const offCurve = new Uint8Array(auth.cosePublicKey);
    offCurve[offCurve.length - 1]! ^= 1;
    expect(() => cosePublicKeyToRaw(offCurve)).toThrow(expect.objectContaining({ code: 'E_BAD_PUBLIC_KEY' }));
  });
});
