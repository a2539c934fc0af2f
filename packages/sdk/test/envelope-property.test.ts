// Property: any byte string given to decrypt either opens a valid envelope or throws a
// SigilError: never another exception, never a hang. The stream decryptor likewise.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { SigilError, WebCryptoKeyBackend, decrypt, decryptStream, encrypt, type KeyRef } from '@sigil/sdk';
import { concat, pattern, runStream } from './envelope-support.js';

let keys: WebCryptoKeyBackend;
let signer: KeyRef;
let alice: KeyRef;
let valid: Uint8Array; // 3 chunks of 1 KiB and a short one, signed by the sender (one segment)
let segmented: Uint8Array; // the same plaintext in four segments of one chunk, signed by a message key
const plaintext = pattern(3 * 1024 + 77, 42);

beforeAll(async () => {
  keys = new WebCryptoKeyBackend();
  signer = await keys.generateKeyPair({ usage: 'sign', label: 'sender' });
  alice = await keys.generateKeyPair({ usage: 'agree', label: 'alice' });
  valid = await encrypt(plaintext, { to: [{ publicKey: alice.publicKey }], from: { backend: keys, ref: signer }, chunkSize: 1024 });
  segmented = await encrypt(plaintext, { to: [{ publicKey: alice.publicKey }], from: { backend: keys, ref: signer }, chunkSize: 1024, segmentSize: 1024 });
});

/** Opens `bytes` one-shot and streamed; returns the plaintext, or undefined after a SigilError. */
async function outcome(bytes: Uint8Array, pieces: number[]): Promise<Uint8Array | undefined> {
  let oneShot: Uint8Array | undefined;
  try {
    oneShot = (await decrypt(bytes, { keys })).plaintext;
  } catch (e) {
    if (!SigilError.is(e)) throw e;
  }
  const s = await runStream(decryptStream({ keys }), bytes, pieces);
  if (s.error !== undefined && !SigilError.is(s.error)) throw s.error;
  // Both paths agree on success or failure; a failing stream released only a prefix.
  expect(s.error === undefined).toBe(oneShot !== undefined);
  if (oneShot !== undefined) expect(s.output).toEqual(oneShot);
  return oneShot;
}

const MAGIC_V2 = Uint8Array.of(0x53, 0x49, 0x47, 0x49, 0x4c, 2);
const pieces = fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 5 });

describe('decrypt never throws anything but a SigilError', () => {
  it('on arbitrary bytes, bare or after the magic and version', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 4096 }), fc.boolean(), pieces, async (junk, framed, p) => {
        const bytes = framed ? concat([MAGIC_V2, junk]) : junk;
        expect(await outcome(bytes, p)).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  it('on valid preambles followed by arbitrary bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 6, max: 111 + 135 + 56 }), fc.uint8Array({ maxLength: 4096 }), pieces, async (keep, junk, p) => {
        expect(await outcome(concat([valid.subarray(0, keep), junk]), p)).toBeUndefined();
      }),
      { numRuns: 200 },
    );
  });

  it('on mutations of a valid envelope: it opens to the original plaintext or fails', async () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }) }),
      fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 40 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 4 }), pieces, fc.boolean(), async (mutations, p, keyed) => {
        const original = keyed ? segmented : valid;
        let bytes: Uint8Array = original.slice();
        for (const m of mutations) {
          const at = m.at % (bytes.length + 1);
          if (m.kind === 'set' && at < bytes.length) bytes[at] = m.value;
          else if (m.kind === 'cut') bytes = bytes.slice(0, at);
          else if (m.kind === 'insert') bytes = concat([bytes.subarray(0, at), m.bytes, bytes.subarray(at)]);
          else if (m.kind === 'delete') bytes = concat([bytes.subarray(0, at), bytes.subarray(at + m.n)]);
        }
        const result = await outcome(bytes, p);
        if (result !== undefined) {
          // Only an identity mutation (the same byte written back) may still open.
          expect(bytes).toEqual(original);
          expect(result).toEqual(plaintext);
        }
      }),
      { numRuns: 300 },
    );
  });
});
