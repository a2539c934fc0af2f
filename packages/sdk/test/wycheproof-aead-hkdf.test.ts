// Wycheproof AES-GCM (every AES-256 / 96-bit IV / 128-bit tag case: the only parameters the
// seam offers; other key, IV and tag sizes are outside Sigil's suite) and HKDF-SHA-256 (every
// case), through both implementations of the platform seam.
import { afterAll, describe, expect, it } from 'vitest';
import { SigilError } from '@sigil/sdk';
import { concatBytes, toHex } from '../src/internal/bytes.js';
import { hkdf } from '../src/internal/platform/hkdf.js';
import { platform as nodePlatform } from '../src/internal/platform/node.js';
import { platform as webPlatform } from '../src/internal/platform/web.js';
import { caseName, hex, loadWycheproof, wycheproofCases, type WycheproofGroup, type WycheproofTest } from '../../../test/support/vectors.js';

interface AeadTest extends WycheproofTest {
  readonly key: string;
  readonly iv: string;
  readonly aad: string;
  readonly msg: string;
  readonly ct: string;
  readonly tag: string;
}
interface AeadGroup extends WycheproofGroup<AeadTest> {
  readonly keySize: number;
  readonly ivSize: number;
  readonly tagSize: number;
}
interface HkdfTest extends WycheproofTest {
  readonly ikm: string;
  readonly salt: string;
  readonly info: string;
  readonly size: number;
  readonly okm: string;
}

const aes = wycheproofCases(loadWycheproof<AeadTest, AeadGroup>('aes_gcm_test.json')).filter(
  ({ group }) => group.keySize === 256 && group.ivSize === 96 && group.tagSize === 128,
);
const hkdfCases = wycheproofCases(loadWycheproof<HkdfTest>('hkdf_sha256_test.json'));
const PINNED = { aes: 66, hkdf: 86 };
const executed = { aes: 0, hkdf: 0 };

describe.each([
  { name: 'node:crypto', platform: nodePlatform },
  { name: 'WebCrypto', platform: webPlatform },
])('Wycheproof on the $name platform', ({ platform }) => {
  describe('AES-256-GCM (96-bit IV, 128-bit tag)', () => {
    it('has the pinned number of cases', () => expect(aes.length).toBeGreaterThanOrEqual(PINNED.aes));
    for (const { test } of aes) {
      it(caseName(test), async () => {
        const key = await platform.aesGcm(hex(test.key));
        const sealed = concatBytes(hex(test.ct), hex(test.tag));
        if (test.result === 'valid') {
          expect(toHex(await key.seal(hex(test.iv), hex(test.msg), hex(test.aad)))).toBe(toHex(sealed));
          expect(toHex(await key.open(hex(test.iv), sealed, hex(test.aad)))).toBe(test.msg);
        } else {
          // Invalid cases are modified tags (and the like): opening must fail with no plaintext.
          const error = await key.open(hex(test.iv), sealed, hex(test.aad)).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(SigilError.is(error, 'E_AUTH_FAILED')).toBe(true);
        }
        executed.aes++;
      });
    }
  });

  describe('HKDF-SHA-256', () => {
    it('has the pinned number of cases', () => expect(hkdfCases.length).toBeGreaterThanOrEqual(PINNED.hkdf));
    for (const { test } of hkdfCases) {
      it(caseName(test), async () => {
        const run = hkdf(platform, 'SHA-256', hex(test.ikm), hex(test.salt), hex(test.info), test.size);
        if (test.result === 'valid') expect(toHex(await run)).toBe(test.okm);
        else await expect(run).rejects.toBeInstanceOf(RangeError); // size > 255 * HashLen
        executed.hkdf++;
      });
    }
  });
});

afterAll(() => {
  expect(executed.aes).toBeGreaterThanOrEqual(2 * PINNED.aes);
  expect(executed.hkdf).toBeGreaterThanOrEqual(2 * PINNED.hkdf);
});
