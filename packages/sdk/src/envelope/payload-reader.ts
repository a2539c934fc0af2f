// Reads a signing-0x02 payload (docs/FORMAT.md §4.1, §7 step 7): cuts the bytes after
// salt || commitment into chunks and segment signatures, opens each chunk, hashes its
// ciphertext, and releases a segment's plaintext only once the segment's signature verified.
// The one-shot `decrypt` feeds it everything at once, `decryptStream` piece by piece; both
// cut the same way, so both give the same answer and the same code.
//
// How a reader cuts (FORMAT.md §4.1): inside a segment, a full chunk is `chunk_size + 16`
// bytes; the final chunk (16 .. chunk_size + 15 bytes) is followed only by the last signature
// (64 bytes), so the final chunk and what follows it are at most `chunk_size + 79` bytes. With
// at least `chunk_size + 16 + 64` bytes ahead the next chunk is therefore a full one, and a
// segment's last full chunk and its signature suffice to release it; after `segment_chunks`
// full chunks the next 64 bytes are that segment's signature. What is left at the end of input
// (80 .. chunk_size + 79 bytes) is the final chunk and its signature.
import { SigilError } from '../errors.js';
import { CHUNK_TAG_LENGTH, type ChunkOpener } from '../internal/chunked-aead.js';
import { SegmentDigest, segmentSignatureInput, verifySignature } from './binding.js';
import { MAX_CHUNK_COUNT, SIGNATURE_LENGTH } from './format.js';

/** FORMAT.md §8: one message for every payload failure, whatever the code, so it is no oracle. */
export const PAYLOAD_FAILURE_MESSAGE =
  'The envelope payload did not authenticate (altered, truncated or damaged); no plaintext was released.';

/** Re-throws a payload failure with the constant message (the code and cause are kept). */
export function payloadFailure(e: unknown): never {
  if (SigilError.is(e, 'E_AUTH_FAILED', 'E_TRUNCATED', 'E_FORMAT')) {
    throw new SigilError(e.code, PAYLOAD_FAILURE_MESSAGE, { cause: e });
  }
  throw e;
}

export function truncated(): SigilError {
  return new SigilError('E_TRUNCATED', 'The envelope ended before its final segment: it was truncated.');
}

/** FORMAT.md §6: a payload holds at most 2^32 chunks. */
export function checkChunkCount(count: number): void {
  if (count > MAX_CHUNK_COUNT) {
    throw new SigilError('E_LIMIT', 'The envelope payload has more than 2^32 chunks, beyond the format limit.');
  }
}

/** The bytes of the smallest final piece of a segment: an empty final chunk (its tag) and the signature. */
const LEAST_FINAL = CHUNK_TAG_LENGTH + SIGNATURE_LENGTH;

export interface PayloadReaderOptions {
  readonly opener: ChunkOpener;
  readonly chunkSize: number;
  readonly segmentChunks: number;
  /** The key that signs segments: the message key of the header. */
  readonly segmentKey: Uint8Array;
  readonly headerDigest: Uint8Array;
  readonly payloadHeader: Uint8Array;
  /** Receives each chunk's plaintext, in order, once its segment's signature verified. */
  readonly release: (plaintext: Uint8Array) => void;
}

export class PayloadReader {
  readonly #o: PayloadReaderOptions;
  readonly #full: number;
  readonly #digest: SegmentDigest;
  /** Bytes carried over between writes: less than one step's worth (a chunk and a signature's worth ahead). */
  readonly #carry: Uint8Array;
  #fill = 0;
  #pending: Uint8Array[] = [];
  #segment = 0;
  #chunks = 0;

  constructor(options: PayloadReaderOptions) {
    this.#o = options;
    this.#full = options.chunkSize + CHUNK_TAG_LENGTH;
    this.#digest = new SegmentDigest(options.segmentChunks);
    this.#carry = new Uint8Array(this.#full + SIGNATURE_LENGTH);
  }

  /** Bytes needed ahead to take the next step: a full chunk and what must follow it, or a signature. */
  #need(): number {
    return this.#digest.count < this.#o.segmentChunks ? this.#full + SIGNATURE_LENGTH : SIGNATURE_LENGTH;
  }

  /** Takes the next step from `bytes` (at least #need() long); returns the bytes used. */
  async #step(bytes: Uint8Array): Promise<number> {
    if (this.#digest.count < this.#o.segmentChunks) {
      await this.#chunk(bytes.subarray(0, this.#full), false);
      return this.#full;
    }
    await this.#signature(bytes.subarray(0, SIGNATURE_LENGTH), false);
    return SIGNATURE_LENGTH;
  }

  async #chunk(chunk: Uint8Array, isFinal: boolean): Promise<void> {
    checkChunkCount(++this.#chunks);
    const plaintext = await this.#o.opener.open(chunk, isFinal).catch(payloadFailure);
    const cut = chunk.length - CHUNK_TAG_LENGTH;
    await this.#digest.add(chunk.subarray(0, cut), chunk.subarray(cut));
    this.#pending.push(plaintext);
  }

  async #signature(signature: Uint8Array, isFinal: boolean): Promise<void> {
    const o = this.#o;
    const input = segmentSignatureInput(o.headerDigest, o.payloadHeader, this.#segment++, isFinal, await this.#digest.finish());
    await verifySignature(o.segmentKey, input, signature, 'segment');
    const released = this.#pending;
    this.#pending = [];
    for (const p of released) o.release(p);
  }

  /** Takes every step the bytes so far allow; keeps (copies) the rest, less than one step's worth. */
  async feed(input: Uint8Array): Promise<void> {
    let o = 0;
    while (this.#fill > 0) {
      const need = this.#need();
      const n = Math.max(0, Math.min(need - this.#fill, input.length - o)); // 0 when the carry already holds a step
      this.#carry.set(input.subarray(o, o + n), this.#fill);
      this.#fill += n;
      o += n;
      if (this.#fill < need) return;
      const used = await this.#step(this.#carry);
      this.#carry.copyWithin(0, used, this.#fill); // at most a signature's worth (64 bytes)
      this.#fill -= used;
    }
    // In place: a step whose bytes lie whole in this input reads them there, uncopied.
    while (input.length - o >= this.#need()) o += await this.#step(input.subarray(o));
    this.#carry.set(input.subarray(o), 0);
    this.#fill = input.length - o;
  }

  /** At the end of input: what is left is the final chunk and the last signature, or the payload was cut. */
  async finish(): Promise<void> {
    if (this.#digest.count === this.#o.segmentChunks || this.#fill < LEAST_FINAL) throw truncated();
    const end = this.#fill - SIGNATURE_LENGTH;
    await this.#chunk(this.#carry.subarray(0, end), true);
    await this.#signature(this.#carry.slice(end, this.#fill), true);
  }
}
