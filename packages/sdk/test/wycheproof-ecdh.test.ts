// Wycheproof ECDH P-256, every case of the ecpoint (raw SEC1, HPKE's enc/pkR format) and
// webcrypto (JWK) files, through WebCryptoKeyBackend.deriveSharedSecret with the vector's
// private key adopted non-extractable: valid gives the expected shared secret; invalid gives
// E_BAD_PUBLIC_KEY. Policy for the one "acceptable" case (a 33-byte compressed point): REJECT,
// because Sigil has one encoding per key (65 bytes uncompressed, docs/FORMAT.md).
// The sender side of HPKE (checkP256PublicKey, then the platform's ECDH) runs the same cases.
import { p256 } from '@noble/curves/nist.js';
import { afterAll, describe, expect, it } from 'vitest';
import { SigilError, WebCryptoKeyBackend } from '@sigil/sdk';
import { checkP256PublicKey } from '@sigil/sdk/backend';
import { fromBase64Url, toHex } from '../src/internal/bytes.js';
import { platform as nodePlatform } from '../src/internal/platform/node.js';
import { platform as webPlatform } from '../src/internal/platform/web.js';
import { adoptVectorKey, caseName, hex, jwkToRaw, loadWycheproof, wycheproofCases, type EcdhTest, type WycheproofJwk } from '../../../test/support/vectors.js';

function strip(d: Uint8Array): Uint8Array {
  let s = d;
  while (s.length > 32 && s[0] === 0) s = s.subarray(1);
  return s.length < 32 ? Uint8Array.from([...new Uint8Array(32 - s.length), ...s]) : s;
}

async function outcome(p: Promise<Uint8Array>): Promise<string> {
  try {
    return toHex(await p);
  } catch (e) {
    if (SigilError.is(e)) return e.code;
    throw e;
  }
}

const ecpoint = wycheproofCases(loadWycheproof<EcdhTest<string>>('ecdh_secp256r1_ecpoint_test.json'));
const webcrypto = wycheproofCases(loadWycheproof<EcdhTest<WycheproofJwk>>('ecdh_secp256r1_webcrypto_test.json'));
const PINNED = { ecpoint: 355, webcrypto: 353 };
const executed = { ecpoint: 0, webcrypto: 0, senderSide: 0 };

/** The expected outcome: the shared secret for valid, E_BAD_PUBLIC_KEY otherwise (acceptable: rejected). */
const expected = (t: { result: string; shared: string }) => (t.result === 'valid' ? t.shared : 'E_BAD_PUBLIC_KEY');

describe('Wycheproof ECDH P-256 (ecpoint) through WebCryptoKeyBackend', () => {
  const backend = new WebCryptoKeyBackend();
  it('has the pinned number of cases', () => expect(ecpoint.length).toBeGreaterThanOrEqual(PINNED.ecpoint));
  for (const { test } of ecpoint) {
    it(caseName(test), async () => {
      const d = strip(hex(test.private));
      const ref = await adoptVectorKey(backend, d, p256.getPublicKey(d, false));
      expect(await outcome(backend.deriveSharedSecret(ref, hex(test.public)))).toBe(expected(test));
      executed.ecpoint++;
    });
  }
});

describe('Wycheproof ECDH P-256 (webcrypto JWK) through WebCryptoKeyBackend', () => {
  const backend = new WebCryptoKeyBackend();
  it('has the pinned number of cases', () => expect(webcrypto.length).toBeGreaterThanOrEqual(PINNED.webcrypto));
  for (const { test } of webcrypto) {
    it(caseName(test), async () => {
      const d = fromBase64Url(test.private.d!)!;
      const ref = await adoptVectorKey(backend, d, jwkToRaw(test.private)!);
      const peer = jwkToRaw(test.public);
      // A JWK that is not P-256 has no SDK wire form at all: that is the rejection.
      const got = peer === undefined ? 'E_BAD_PUBLIC_KEY' : await outcome(backend.deriveSharedSecret(ref, peer));
      expect(got).toBe(expected(test));
      executed.webcrypto++;
    });
  }
});

describe.each([
  { name: 'node:crypto', platform: nodePlatform },
  { name: 'WebCrypto', platform: webPlatform },
])('Wycheproof ECDH P-256 (ecpoint), HPKE sender side on the $name platform', ({ platform }) => {
  it('every case: checkP256PublicKey then the platform ECDH', async () => {
    for (const { test } of ecpoint) {
      const d = strip(hex(test.private));
      const got = await outcome(
        (async () => {
          checkP256PublicKey(hex(test.public));
          const pair = await platform.importEcdhKeyPair(d, p256.getPublicKey(d, false));
          return pair.deriveSharedSecret(hex(test.public));
        })(),
      );
      expect(got, caseName(test)).toBe(expected(test));
      executed.senderSide++;
    }
  });
});

afterAll(() => {
  expect(executed.ecpoint).toBeGreaterThanOrEqual(PINNED.ecpoint);
  expect(executed.webcrypto).toBeGreaterThanOrEqual(PINNED.webcrypto);
  expect(executed.senderSide).toBeGreaterThanOrEqual(2 * PINNED.ecpoint);
});
