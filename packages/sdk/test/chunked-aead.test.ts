// Cobblestone-256 behaviour beyond the Wycheproof vectors: round trips at every interesting
// length and several chunk sizes, every tampered byte rejected, truncation at and between
// chunk boundaries, dropped/reordered/duplicated chunks, trailing data, wrong key or context,
// and the sealer's and opener's misuse errors.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SigilError } from '@sigil/sdk';
import {
  CHUNK_HEADER_LENGTH,
  CHUNK_TAG_LENGTH,
  COBBLESTONE_CHUNK_SIZE,
  MAX_CHUNK_SIZE,
  createChunkOpener,
  createChunkSealer,
  decryptChunked,
  encryptChunked,
} from '../src/internal/chunked-aead.js';
import { concatBytes } from '../src/internal/bytes.js';

const key = crypto.getRandomValues(new Uint8Array(32));
const ctx = new TextEncoder().encode('envelope header hash');

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (SigilError.is(e)) return e.code;
    throw e;
  }
  throw new Error('expected a SigilError, got success');
}

function random(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65_536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65_536)));
  return out;
}

/** Splits a ciphertext into header and chunk ciphertexts, by the reader rule. */
function split(ct: Uint8Array, chunkSize: number): { header: Uint8Array; chunks: Uint8Array[] } {
  const full = chunkSize + CHUNK_TAG_LENGTH;
  const chunks: Uint8Array[] = [];
  let o = CHUNK_HEADER_LENGTH;
  while (ct.length - o >= full) {
    chunks.push(ct.subarray(o, o + full));
    o += full;
  }
  chunks.push(ct.subarray(o));
  return { header: ct.subarray(0, CHUNK_HEADER_LENGTH), chunks };
}

describe('Cobblestone-256 round trips', () => {
  const S = COBBLESTONE_CHUNK_SIZE;
  for (const length of [0, 1, S - 1, S, S + 1, 2 * S, 3 * S + 5]) {
    it(`${length} bytes at the default 16 KiB chunk: expected size, one short final chunk, decrypts`, async () => {
      const pt = random(length);
      const ct = await encryptChunked(key, ctx, pt);
      const fullChunks = Math.floor(length / S);
      expect(ct.length).toBe(CHUNK_HEADER_LENGTH + length + (fullChunks + 1) * CHUNK_TAG_LENGTH);
      const { chunks } = split(ct, S);
      expect(chunks.length).toBe(fullChunks + 1);
      expect(chunks.at(-1)!.length).toBe((length % S) + CHUNK_TAG_LENGTH);
      expect(await decryptChunked(key, ctx, ct)).toEqual(pt);
    });
  }

  for (const chunkSize of [1, 1000, 65_536, 262_144]) {
    it(`chunkSize ${chunkSize} round-trips and must be given to the opener`, async () => {
      const pt = random(3 * chunkSize + 7);
      const ct = await encryptChunked(key, ctx, pt, { chunkSize });
      expect(await decryptChunked(key, ctx, ct, { chunkSize })).toEqual(pt);
      if (chunkSize !== COBBLESTONE_CHUNK_SIZE) await expect(decryptChunked(key, ctx, ct)).rejects.toBeInstanceOf(SigilError);
    });
  }

  it('a fresh salt per message: same key, context and plaintext give different ciphertexts', async () => {
    const pt = random(100);
    expect(await encryptChunked(key, ctx, pt)).not.toEqual(await encryptChunked(key, ctx, pt));
  });

  it('property: any plaintext and chunk size round-trips', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 1, max: 64 }), async (pt, chunkSize) => {
        const ct = await encryptChunked(key, ctx, pt, { chunkSize });
        expect(await decryptChunked(key, ctx, ct, { chunkSize })).toEqual(pt);
      }),
      { numRuns: 100 },
    );
  });
});

describe('Cobblestone-256 rejects', () => {
  const chunkSize = 64;
  const pt = random(3 * chunkSize + 10);

  it('every single-byte change anywhere (header, bodies, tags) with E_AUTH_FAILED', async () => {
    const ct = await encryptChunked(key, ctx, pt, { chunkSize });
    for (let i = 0; i < ct.length; i++) {
      const bad = Uint8Array.from(ct);
      bad[i]! ^= 0x80;
      expect(await code(decryptChunked(key, ctx, bad, { chunkSize }))).toBe('E_AUTH_FAILED');
    }
  });

  it('truncation at every length: E_TRUNCATED at header or chunk boundaries, a typed error elsewhere', async () => {
    const ct = await encryptChunked(key, ctx, pt, { chunkSize });
    const full = chunkSize + CHUNK_TAG_LENGTH;
    for (let n = 0; n < ct.length; n++) {
      const c = await code(decryptChunked(key, ctx, ct.subarray(0, n), { chunkSize }));
      const atBoundary = n < CHUNK_HEADER_LENGTH || (n - CHUNK_HEADER_LENGTH) % full < CHUNK_TAG_LENGTH;
      if (atBoundary) expect(c).toBe('E_TRUNCATED');
      else expect(['E_AUTH_FAILED', 'E_TRUNCATED']).toContain(c);
    }
  });

  it('a dropped, reordered or duplicated chunk, and trailing data', async () => {
    const ct = await encryptChunked(key, ctx, pt, { chunkSize });
    const { header, chunks } = split(ct, chunkSize);
    const [c0, c1, c2, last] = chunks as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
    for (const order of [
      [c0, c2, last], // dropped
      [c1, c0, c2, last], // reordered
      [c0, c0, c1, c2, last], // duplicated
      [c0, c1, c2], // final chunk dropped: the message ends on a full chunk
      [c0, c1, c2, last, last], // a chunk after the final one
    ]) {
      expect(['E_AUTH_FAILED', 'E_TRUNCATED']).toContain(await code(decryptChunked(key, ctx, concatBytes(header, ...order), { chunkSize })));
    }
    expect(await code(decryptChunked(key, ctx, concatBytes(ct, Uint8Array.of(0)), { chunkSize }))).toBe('E_AUTH_FAILED');
  });

  it('a wrong key or context at the commitment, before any chunk', async () => {
    const ct = await encryptChunked(key, ctx, pt, { chunkSize });
    const header = ct.subarray(0, CHUNK_HEADER_LENGTH);
    expect(await code(createChunkOpener(random(32), ctx, header, { chunkSize }))).toBe('E_AUTH_FAILED');
    expect(await code(createChunkOpener(key, new TextEncoder().encode('other'), header, { chunkSize }))).toBe('E_AUTH_FAILED');
    expect(await code(createChunkOpener(key, ctx, header.subarray(0, 55), { chunkSize }))).toBe('E_TRUNCATED');
  });

  it('the streaming opener: wrong final flag, wrong chunk lengths, data after the final chunk', async () => {
    const ct = await encryptChunked(key, ctx, pt, { chunkSize });
    const { header, chunks } = split(ct, chunkSize);
    const open = () => createChunkOpener(key, ctx, header, { chunkSize });
    // A full chunk presented as final means the message was cut there.
    expect(await code((await open()).open(chunks[0]!, true))).toBe('E_TRUNCATED');
    // The short final chunk presented as non-final has the wrong length.
    const o = await open();
    for (const c of chunks.slice(0, 3)) await o.open(c, false);
    expect(await code(o.open(chunks[3]!, false))).toBe('E_FORMAT');
    expect(await code(o.open(chunks[3]!, true))).toBe('E_FORMAT'); // and it stays failed
    // After the final chunk, nothing more.
    const done = await open();
    for (const c of chunks.slice(0, 3)) await done.open(c, false);
    await done.open(chunks[3]!, true);
    expect(await code(done.open(chunks[3]!, true))).toBe('E_FORMAT');
    // An empty final chunk with no tag is a truncation.
    expect(await code((await open()).open(new Uint8Array(0), true))).toBe('E_TRUNCATED');
  });
});

describe('Cobblestone-256 misuse', () => {
  it('sealer: wrong chunk lengths and calls after the final chunk are RangeErrors', async () => {
    const sealer = await createChunkSealer(key, ctx, { chunkSize: 16 });
    expect(sealer.header.length).toBe(CHUNK_HEADER_LENGTH);
    await expect(sealer.seal(new Uint8Array(15), false)).rejects.toBeInstanceOf(RangeError);
    await expect(sealer.seal(new Uint8Array(16), true)).rejects.toBeInstanceOf(RangeError);
    await sealer.seal(new Uint8Array(16), false);
    await sealer.seal(new Uint8Array(3), true);
    await expect(sealer.seal(new Uint8Array(0), true)).rejects.toBeInstanceOf(RangeError);
  });

  it('key, salt and chunkSize are checked', async () => {
    await expect(createChunkSealer(new Uint8Array(31), ctx)).rejects.toBeInstanceOf(RangeError);
    await expect(createChunkSealer(new Uint8Array(33), ctx)).rejects.toBeInstanceOf(RangeError);
    await expect(createChunkSealer(key, ctx, { salt: new Uint8Array(23) })).rejects.toBeInstanceOf(RangeError);
    for (const chunkSize of [0, -1, 1.5, MAX_CHUNK_SIZE + 1, Number.NaN]) {
      await expect(createChunkSealer(key, ctx, { chunkSize })).rejects.toBeInstanceOf(RangeError);
    }
    await expect(createChunkOpener(key, ctx, new Uint8Array(57))).rejects.toBeInstanceOf(RangeError);
    await expect(createChunkSealer('k' as unknown as Uint8Array, ctx)).rejects.toBeInstanceOf(TypeError);
  });

  it('sealDetached gives the same bytes as seal, and follows the same rules', async () => {
    const salt = random(24);
    const pt = random(2 * 64 + 9);
    const a = await createChunkSealer(key, ctx, { chunkSize: 64, salt });
    const b = await createChunkSealer(key, ctx, { chunkSize: 64, salt });
    for (const [i, last] of [[0, false], [1, false], [2, true]] as const) {
      const chunk = pt.subarray(i * 64, last ? pt.length : (i + 1) * 64);
      const whole = await a.seal(chunk, last);
      const { ciphertext, tag } = await b.sealDetached(chunk, last);
      expect(ciphertext.length).toBe(chunk.length);
      expect(tag.length).toBe(CHUNK_TAG_LENGTH);
      expect(concatBytes(ciphertext, tag)).toEqual(whole);
    }
    await expect(b.sealDetached(new Uint8Array(0), true)).rejects.toBeInstanceOf(RangeError);
    const c = await createChunkSealer(key, ctx, { chunkSize: 64 });
    await expect(c.sealDetached(new Uint8Array(63), false)).rejects.toBeInstanceOf(RangeError);
  });

  it('a given salt makes encryption deterministic (for vector generation)', async () => {
    const salt = random(24);
    const pt = random(100);
    expect(await encryptChunked(key, ctx, pt, { salt })).toEqual(await encryptChunked(key, ctx, pt, { salt }));
  });
});
