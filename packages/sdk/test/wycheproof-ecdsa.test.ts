// Wycheproof ECDSA P-256 / SHA-256, every case of the P1363 file through verifyP1363 and of the
// DER file through verifyDer (internal/ecdsa.ts), on both platform seams: valid verifies,
// invalid does not (these files have no "acceptable" cases). The public keys are imported from
// publicKey.uncompressed (the 10 newest P1363 groups have no JWK).
import { afterAll, describe, expect, it } from 'vitest';
import { verifyDer, verifyP1363 } from '../src/internal/ecdsa.js';
import { platform as nodePlatform } from '../src/internal/platform/node.js';
import { platform as webPlatform } from '../src/internal/platform/web.js';
import { caseName, hex, loadWycheproof, wycheproofCases, type WycheproofGroup, type WycheproofTest } from '../../../test/support/vectors.js';

interface EcdsaTest extends WycheproofTest {
  readonly msg: string;
  readonly sig: string;
}
interface EcdsaGroup extends WycheproofGroup<EcdsaTest> {
  readonly publicKey: { readonly curve: string; readonly uncompressed: string };
  readonly sha: string;
}

const p1363 = wycheproofCases(loadWycheproof<EcdsaTest, EcdsaGroup>('ecdsa_secp256r1_sha256_p1363_test.json'));
const der = wycheproofCases(loadWycheproof<EcdsaTest, EcdsaGroup>('ecdsa_secp256r1_sha256_test.json'));
const PINNED = { p1363: 262, der: 484 };
const executed = { p1363: 0, der: 0 };

describe.each([
  { name: 'node:crypto', platform: nodePlatform },
  { name: 'WebCrypto', platform: webPlatform },
])('Wycheproof ECDSA P-256 SHA-256 on the $name platform', ({ platform }) => {
  it('has the pinned number of cases, all P-256 / SHA-256, none "acceptable"', () => {
    expect(p1363.length).toBeGreaterThanOrEqual(PINNED.p1363);
    expect(der.length).toBeGreaterThanOrEqual(PINNED.der);
    for (const { group, test } of [...p1363, ...der]) {
      expect([group.publicKey.curve, group.sha]).toEqual(['secp256r1', 'SHA-256']);
      expect(test.result).not.toBe('acceptable');
    }
  });

  describe('P1363 (r || s) via verifyP1363', () => {
    for (const { group, test } of p1363) {
      it(caseName(test), async () => {
        expect(await verifyP1363(hex(group.publicKey.uncompressed), hex(test.msg), hex(test.sig), platform)).toBe(test.result === 'valid');
        executed.p1363++;
      });
    }
  });

  describe('DER via verifyDer', () => {
    for (const { group, test } of der) {
      it(caseName(test), async () => {
        expect(await verifyDer(hex(group.publicKey.uncompressed), hex(test.msg), hex(test.sig), platform)).toBe(test.result === 'valid');
        executed.der++;
      });
    }
  });
});

afterAll(() => {
  expect(executed.p1363).toBeGreaterThanOrEqual(2 * PINNED.p1363);
  expect(executed.der).toBeGreaterThanOrEqual(2 * PINNED.der);
});
