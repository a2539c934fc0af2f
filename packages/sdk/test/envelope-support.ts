// Helpers shared by the envelope tests (not a test file itself).
import { expect } from 'vitest';
import { SigilError, type SigilErrorCode } from '@sigil/sdk';

/** Concatenates byte arrays (test side; the SDK never concatenates a whole message). */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Deterministic filler bytes, so a failing size is reproducible. */
export function pattern(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/**
 * Writes `input` into a TransformStream cut at the given piece sizes (cycled), reads
 * everything out, and reports the chunks released and the error, if any.
 */
export async function runStream(
  stream: TransformStream<Uint8Array, Uint8Array>,
  input: Uint8Array,
  pieces: readonly number[] = [input.length || 1],
): Promise<{ chunks: Uint8Array[]; output: Uint8Array; error: unknown }> {
  const chunks: Uint8Array[] = [];
  let error: unknown;
  const reading = (async () => {
    const reader = stream.readable.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        chunks.push(value);
      }
    } catch (e) {
      error = e;
    }
  })();
  const writer = stream.writable.getWriter();
  try {
    let o = 0;
    for (let i = 0; o < input.length; i++) {
      const n = Math.max(1, pieces[i % pieces.length] as number);
      await writer.write(input.subarray(o, o + n));
      o += n;
    }
    await writer.close();
  } catch (e) {
    error ??= e;
  }
  await reading;
  return { chunks, output: concat(chunks), error };
}

/** Asserts `e` is a SigilError with one of `codes`. */
export function expectSigilError(e: unknown, ...codes: SigilErrorCode[]): void {
  if (!SigilError.is(e)) {
    throw new Error(`expected a SigilError (${codes.join('|')}), got ${String(e)}`, { cause: e });
  }
  if (codes.length > 0) expect(codes).toContain(e.code);
}

/** Runs `f` and returns what it threw (failing if it did not throw). */
export async function caught(f: () => Promise<unknown>): Promise<unknown> {
  try {
    await f();
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection, got success');
}
