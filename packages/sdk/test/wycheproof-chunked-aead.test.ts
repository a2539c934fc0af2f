// All 35 Wycheproof c2sp_chunked_encryption (Cobblestone-256) vectors, one-shot and through the
// streaming opener, on both platform seams. Rules: wycheproof doc/c2sp_chunked_encryption.md.
// - valid: decrypts to msgLength bytes with SHA-512 msgSha512; the derived aeadKey and
//   baseNonce match; re-encrypting with the vector's salt reproduces ct byte for byte.
// - invalid: one-shot decryption throws a typed error and returns nothing; HeaderFailure cases
//   fail in createChunkOpener, before any chunk; PartialPlaintext cases: the streaming opener
//   releases exactly the authenticated prefix (msgLength, msgSha512), then fails, and keeps failing.
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { SigilError } from '@sigil/sdk';
import {
  CHUNK_HEADER_LENGTH,
  CHUNK_SALT_LENGTH,
  CHUNK_TAG_LENGTH,
  COBBLESTONE_CHUNK_SIZE,
  createChunkOpener,
  decryptChunked,
  deriveChunkKeys,
  encryptChunked,
} from '../src/internal/chunked-aead.js';
import { concatBytes, toHex } from '../src/internal/bytes.js';
import { platform as nodePlatform } from '../src/internal/platform/node.js';
import { platform as webPlatform } from '../src/internal/platform/web.js';
import { caseName, hex, inflateHex, loadWycheproof, wycheproofCases, type WycheproofTest } from '../../../test/support/vectors.js';

interface ChunkedTest extends WycheproofTest {
  readonly key: string;
  readonly ctx: string;
  readonly ct: string;
  readonly aeadKey?: string;
  readonly baseNonce?: string;
  readonly msgLength?: number;
  readonly msgSha512?: string;
}

const file = loadWycheproof<ChunkedTest>('c2sp_chunked_encryption_aes_256_gcm_test.json');
const cases = wycheproofCases(file);
const PINNED_CASES = 35;
let executed = 0;

const sha512 = (b: Uint8Array) => createHash('sha512').update(b).digest('hex');

/** Feeds a ciphertext to the streaming opener as a stream reader would; collects what it releases. */
async function streamOpen(key: Uint8Array, ctx: Uint8Array, ct: Uint8Array, platform: typeof nodePlatform) {
  const released: Uint8Array[] = [];
  let error: unknown;
  try {
    const opener = await createChunkOpener(key, ctx, ct.subarray(0, CHUNK_HEADER_LENGTH), { platform });
    const full = COBBLESTONE_CHUNK_SIZE + CHUNK_TAG_LENGTH;
    let offset = CHUNK_HEADER_LENGTH;
    while (ct.length - offset >= full) {
      released.push(await opener.open(ct.subarray(offset, offset + full), false));
      offset += full;
    }
    released.push(await opener.open(ct.subarray(offset), true));
  } catch (e) {
    error = e;
  }
  return { released: concatBytes(...released), error };
}

describe.each([
  { name: 'node:crypto', platform: nodePlatform },
  { name: 'WebCrypto', platform: webPlatform },
])('Wycheproof Cobblestone-256 on the $name platform', ({ platform }) => {
  it('has the pinned number of cases', () => {
    expect(file.numberOfTests).toBe(PINNED_CASES);
    expect(cases.length).toBeGreaterThanOrEqual(PINNED_CASES);
    for (const { group } of cases) expect([group['aead'], group['sha']]).toEqual(['AEAD_AES_256_GCM', 'SHA-512']);
  });

  for (const { test } of cases) {
    it(caseName(test), async () => {
      const key = hex(test.key);
      const ctx = hex(test.ctx);
      const ct = inflateHex(test.ct);

      if (test.aeadKey !== undefined && test.baseNonce !== undefined) {
        const keys = await deriveChunkKeys(key, ct.subarray(0, CHUNK_SALT_LENGTH), ctx, platform);
        expect(toHex(keys.aeadKey)).toBe(test.aeadKey);
        expect(toHex(keys.baseNonce)).toBe(test.baseNonce);
      }

      if (test.result === 'valid') {
        const pt = await decryptChunked(key, ctx, ct, { platform });
        expect(pt.length).toBe(test.msgLength);
        expect(sha512(pt)).toBe(test.msgSha512);
        const again = await encryptChunked(key, ctx, pt, { platform, salt: ct.subarray(0, CHUNK_SALT_LENGTH) });
        expect(toHex(again)).toBe(toHex(ct));
        const streamed = await streamOpen(key, ctx, ct, platform);
        expect(streamed.error).toBeUndefined();
        expect(sha512(streamed.released)).toBe(test.msgSha512);
      } else {
        expect(test.result).toBe('invalid');
        // One-shot: a typed failure and nothing returned. A wrong key size is caller misuse.
        const oneShot = decryptChunked(key, ctx, ct, { platform });
        if (test.flags.includes('InvalidKeySize')) await expect(oneShot).rejects.toBeInstanceOf(RangeError);
        else await expect(oneShot).rejects.toBeInstanceOf(SigilError);

        if (test.flags.includes('HeaderFailure')) {
          // Rejected at the header, before any chunk is decrypted.
          const header = ct.subarray(0, CHUNK_HEADER_LENGTH);
          await expect(createChunkOpener(key, ctx, header, { platform })).rejects.toThrow();
        }

        const streamed = await streamOpen(key, ctx, ct, platform);
        expect(streamed.error).toBeDefined();
        if (test.flags.includes('PartialPlaintext')) {
          // What a streaming opener may release: exactly the authenticated prefix.
          expect(streamed.released.length).toBe(test.msgLength);
          expect(sha512(streamed.released)).toBe(test.msgSha512);
        } else {
          expect(streamed.released.length).toBe(0);
        }
      }
      executed++;
    });
  }
});

describe('the streaming opener keeps failing', () => {
  it('after an authentication failure every later open throws the same code', async () => {
    const t = cases.find(({ test }) => test.tcId === 13)!.test; // second chunk corrupted
    const ct = inflateHex(t.ct);
    const opener = await createChunkOpener(hex(t.key), hex(t.ctx), ct.subarray(0, CHUNK_HEADER_LENGTH));
    const full = COBBLESTONE_CHUNK_SIZE + CHUNK_TAG_LENGTH;
    await opener.open(ct.subarray(56, 56 + full), false);
    const second = ct.subarray(56 + full, 56 + 2 * full);
    await expect(opener.open(second, false)).rejects.toMatchObject({ code: 'E_AUTH_FAILED' });
    await expect(opener.open(ct.subarray(56 + 2 * full), true)).rejects.toMatchObject({ code: 'E_AUTH_FAILED' });
  });
});

afterAll(() => {
  expect(executed).toBeGreaterThanOrEqual(2 * PINNED_CASES);
});
