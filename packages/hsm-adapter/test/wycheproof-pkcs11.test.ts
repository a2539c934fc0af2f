// Wycheproof through the PKCS#11 backend on a throwaway SoftHSM token: every ECDH P-256 case of
// the ecpoint and webcrypto files through Pkcs11KeyBackend.deriveSharedSecret (the vector's
// private key imported onto the token, sensitive and non-extractable), and every ECDSA P-256
// SHA-256 case through Pkcs11KeyBackend.verify (P1363 directly; DER converted to P1363 by the
// SDK's derToP1363, with non-DER signatures rejected before the token). Same expectations as
// the WebCrypto suites: invalid public key -> E_BAD_PUBLIC_KEY, valid -> the expected secret,
// the compressed-point "acceptable" case rejected.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyRef } from '@sigil/sdk/backend';
import { SigilError } from '@sigil/sdk/errors';
import { Pkcs11KeyBackend } from '@sigil/hsm-adapter';
import { fromBase64Url, toHex } from '../../sdk/src/internal/bytes.js';
import { derToP1363 } from '../../sdk/src/internal/ecdsa.js';
import { createSoftHsmTestToken, importTestKeyToToken, type SoftHsmTestToken } from './support/softhsm.js';
import { caseName, hex, jwkToRaw, loadWycheproof, wycheproofCases, type EcdhTest, type WycheproofGroup, type WycheproofJwk, type WycheproofTest } from '../../../test/support/vectors.js';

interface EcdsaTest extends WycheproofTest {
  readonly msg: string;
  readonly sig: string;
}
interface EcdsaGroup extends WycheproofGroup<EcdsaTest> {
  readonly publicKey: { readonly uncompressed: string };
}

const ecpoint = wycheproofCases(loadWycheproof<EcdhTest<string>>('ecdh_secp256r1_ecpoint_test.json'));
const webcrypto = wycheproofCases(loadWycheproof<EcdhTest<WycheproofJwk>>('ecdh_secp256r1_webcrypto_test.json'));
const p1363 = wycheproofCases(loadWycheproof<EcdsaTest, EcdsaGroup>('ecdsa_secp256r1_sha256_p1363_test.json'));
const der = wycheproofCases(loadWycheproof<EcdsaTest, EcdsaGroup>('ecdsa_secp256r1_sha256_test.json'));
const PINNED = { ecpoint: 355, webcrypto: 353, p1363: 262, der: 484 };
const executed = { ecpoint: 0, webcrypto: 0, p1363: 0, der: 0 };

let token: SoftHsmTestToken;
let backend: Pkcs11KeyBackend;
// Token objects are files: import each distinct private key once (30 + 26 of them).
const imported = new Map<string, Promise<KeyRef>>();

beforeAll(async () => {
  token = await createSoftHsmTestToken({ label: 'sigil-wycheproof' });
  backend = await Pkcs11KeyBackend.open(token.location);
});
afterAll(async () => {
  await backend?.close();
  await token?.remove();
  expect(executed.ecpoint).toBeGreaterThanOrEqual(PINNED.ecpoint);
  expect(executed.webcrypto).toBeGreaterThanOrEqual(PINNED.webcrypto);
  expect(executed.p1363).toBeGreaterThanOrEqual(PINNED.p1363);
  expect(executed.der).toBeGreaterThanOrEqual(PINNED.der);
});

function agreeKey(privateKey: Uint8Array): Promise<KeyRef> {
  const k = toHex(privateKey).replace(/^(00)+/, '');
  let ref = imported.get(k);
  if (ref === undefined) {
    ref = importTestKeyToToken(token, { privateKey, usage: 'agree', label: 'wycheproof' }).then(async ({ id }) => {
      const found = await backend.getKey(id);
      if (found === undefined) throw new Error(`imported key ${id} not found`);
      return found;
    });
    imported.set(k, ref);
  }
  return ref;
}

async function outcome(p: Promise<Uint8Array>): Promise<string> {
  try {
    return toHex(await p);
  } catch (e) {
    if (SigilError.is(e)) return e.code;
    throw e;
  }
}

const expected = (t: { result: string; shared: string }) => (t.result === 'valid' ? t.shared : 'E_BAD_PUBLIC_KEY');

describe('Wycheproof ECDH P-256 (ecpoint) through Pkcs11KeyBackend', () => {
  it('has the pinned number of cases', () => expect(ecpoint.length).toBeGreaterThanOrEqual(PINNED.ecpoint));
  for (const { test } of ecpoint) {
    it(caseName(test), async () => {
      const ref = await agreeKey(hex(test.private));
      expect(await outcome(backend.deriveSharedSecret(ref, hex(test.public)))).toBe(expected(test));
      executed.ecpoint++;
    });
  }
});

describe('Wycheproof ECDH P-256 (webcrypto JWK) through Pkcs11KeyBackend', () => {
  it('has the pinned number of cases', () => expect(webcrypto.length).toBeGreaterThanOrEqual(PINNED.webcrypto));
  for (const { test } of webcrypto) {
    it(caseName(test), async () => {
      const ref = await agreeKey(fromBase64Url(test.private.d!)!);
      const peer = jwkToRaw(test.public);
      const got = peer === undefined ? 'E_BAD_PUBLIC_KEY' : await outcome(backend.deriveSharedSecret(ref, peer));
      expect(got).toBe(expected(test));
      executed.webcrypto++;
    });
  }
});

describe('Wycheproof ECDSA P-256 SHA-256 P1363 through Pkcs11KeyBackend.verify', () => {
  it('has the pinned number of cases', () => expect(p1363.length).toBeGreaterThanOrEqual(PINNED.p1363));
  for (const { group, test } of p1363) {
    it(caseName(test), async () => {
      expect(await backend.verify(hex(group.publicKey.uncompressed), hex(test.msg), hex(test.sig))).toBe(test.result === 'valid');
      executed.p1363++;
    });
  }
});

describe('Wycheproof ECDSA P-256 SHA-256 DER through derToP1363 and Pkcs11KeyBackend.verify', () => {
  it('has the pinned number of cases', () => expect(der.length).toBeGreaterThanOrEqual(PINNED.der));
  for (const { group, test } of der) {
    it(caseName(test), async () => {
      const sig = derToP1363(hex(test.sig));
      const ok = sig !== undefined && (await backend.verify(hex(group.publicKey.uncompressed), hex(test.msg), sig));
      expect(ok).toBe(test.result === 'valid');
      executed.der++;
    });
  }
});
