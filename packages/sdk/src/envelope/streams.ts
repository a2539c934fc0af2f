// Streaming encryption and decryption as Web Streams TransformStreams (browsers and Node).
// Memory stays bounded by one chunk (plus the header): input is re-cut into chunkSize
// pieces, never concatenated; the decryptor releases a chunk only after it authenticated
// (docs/FORMAT.md §7).
import { CHUNK_HEADER_LENGTH, CHUNK_TAG_LENGTH, type ChunkOpener, type ChunkSealer } from '../internal/chunked-aead.js';
import { checkChunkIndex, checkEncryptOptions, prepareEnvelope, type EncryptOptions } from './encrypt.js';
import {
  checkChunkCount,
  checkDecryptOptions,
  openHeader,
  payloadFailure,
  truncated,
  type DecryptOptions,
  type EnvelopeParties,
} from './decrypt.js';
import { MAX_PREAMBLE_LENGTH, SIGNATURE_LENGTH } from './format.js';
import { readPreamble } from './header.js';

/**
 * A FIFO of byte segments. `take` returns a view into a segment when the bytes lie in one and
 * copies only across segment boundaries; `own` copies what must wait for the next write.
 */
class ByteQueue {
  #parts: Uint8Array[] = [];
  #head = 0;
  length = 0;

  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.#parts.push(bytes);
    this.length += bytes.length;
  }

  /** A copy of the first `n` bytes (or fewer if the queue is shorter), without removing them. */
  peek(n: number): Uint8Array {
    const out = new Uint8Array(Math.min(n, this.length));
    let o = 0;
    let head = this.#head;
    for (const part of this.#parts) {
      if (o === out.length) break;
      const piece = part.subarray(head, head + out.length - o);
      out.set(piece, o);
      o += piece.length;
      head = 0;
    }
    return out;
  }

  /**
   * Copies the queued bytes that still live in callers' buffers, so no view into a written
   * chunk outlives the write (a source may reuse its buffer once the write resolved). Each
   * input byte is copied at most once, and only if it had to wait for more input.
   */
  own(): void {
    for (let i = 0; i < this.#parts.length; i++) {
      const part = this.#parts[i] as Uint8Array;
      if (this.#owned.has(part)) continue;
      const copy = i === 0 ? part.slice(this.#head) : part.slice();
      if (i === 0) this.#head = 0;
      this.#parts[i] = copy;
      this.#owned.add(copy);
    }
  }

  readonly #owned = new WeakSet<Uint8Array>();

  /** Removes and returns the first `n` bytes; `n` must be <= length. */
  take(n: number): Uint8Array {
    const first = this.#parts[0];
    if (first !== undefined && first.length - this.#head >= n) {
      const view = first.subarray(this.#head, this.#head + n);
      this.#advance(n);
      return view;
    }
    const out = this.peek(n);
    this.#advance(n);
    return out;
  }

  #advance(n: number): void {
    this.length -= n;
    while (n > 0) {
      const first = this.#parts[0] as Uint8Array;
      const available = first.length - this.#head;
      if (available > n) {
        this.#head += n;
        return;
      }
      n -= available;
      this.#parts.shift();
      this.#head = 0;
    }
  }
}

/**
 * An encrypting TransformStream: plaintext bytes in, one format-v1 envelope out. The header
 * is written first, then one ciphertext chunk per `chunkSize` bytes of input, and the final
 * (short) chunk when the writable side closes.
 *
 * @throws (errors the stream) the codes of {@link encrypt}: `E_BAD_PUBLIC_KEY`, `E_LIMIT`,
 *   `E_KEY_USAGE`, backend errors; TypeError/RangeError on malformed options.
 *
 * @example
 * ```ts
 * await file.stream().pipeThrough(encryptStream({ to, from })).pipeTo(destination);
 * ```
 */
export function encryptStream(options: EncryptOptions): TransformStream<Uint8Array, Uint8Array> {
  checkEncryptOptions(options); // misuse throws here, not later as a stream error
  let sealer: ChunkSealer;
  let chunkSize = 0;
  let buffer: Uint8Array;
  let fill = 0;
  let index = 0;

  // Ciphertext and tag go out as two pieces: joining them would copy every byte once more,
  // a quarter of the throughput at 64 KiB (chunked-aead.ts, "CHUNK SIZE AND SPEED").
  const seal = async (chunk: Uint8Array, isFinal: boolean, controller: TransformStreamDefaultController<Uint8Array>): Promise<void> => {
    checkChunkIndex(index);
    index++;
    const { ciphertext, tag } = await sealer.sealDetached(chunk, isFinal);
    if (ciphertext.length > 0) controller.enqueue(ciphertext);
    controller.enqueue(tag);
  };

  return new TransformStream<Uint8Array, Uint8Array>({
    async start(controller) {
      const prepared = await prepareEnvelope(options);
      sealer = prepared.sealer;
      chunkSize = prepared.chunkSize;
      buffer = new Uint8Array(chunkSize);
      controller.enqueue(prepared.prefix);
    },
    async transform(input, controller) {
      if (!(input instanceof Uint8Array)) throw new TypeError(`encryptStream expected Uint8Array chunks, got ${typeof input}`);
      let o = 0;
      if (fill > 0) {
        const n = Math.min(chunkSize - fill, input.length);
        buffer.set(input.subarray(0, n), fill);
        fill += n;
        o = n;
        // A full chunk is never the final one (FORMAT.md §4), so it can go at once.
        if (fill === chunkSize) {
          await seal(buffer, false, controller);
          fill = 0;
        }
      }
      for (; input.length - o >= chunkSize; o += chunkSize) {
        await seal(input.subarray(o, o + chunkSize), false, controller);
      }
      if (o < input.length) {
        buffer.set(input.subarray(o), fill);
        fill += input.length - o;
      }
    },
    async flush(controller) {
      await seal(buffer.subarray(0, fill), true, controller);
      buffer.fill(0);
    },
  });
}

/**
 * The decrypting TransformStream returned by {@link decryptStream}, with the envelope's
 * parties as soon as the header has verified.
 */
export interface DecryptStream extends TransformStream<Uint8Array, Uint8Array> {
  /**
   * Resolves once the sender's signature, the recipient stanza and the payload commitment
   * verified (before the first plaintext byte); rejects with the stream's error otherwise.
   */
  readonly parties: Promise<EnvelopeParties>;
}

type State =
  | { readonly phase: 'preamble' }
  | { readonly phase: 'header'; readonly headerLength: number }
  | { readonly phase: 'chunks'; readonly chunks: ChunkReader };

/**
 * Cuts payload bytes into chunks (FORMAT.md §4) and opens them in order. A full-length chunk
 * is never final, so it is opened as soon as it is all here; one that lies whole in an input
 * piece is opened in place, the others are gathered in one reused buffer, so each byte is
 * copied at most once and nothing outlives the write that brought it.
 */
class ChunkReader {
  readonly #opener: ChunkOpener;
  readonly #full: number;
  readonly #buffer: Uint8Array;
  #fill = 0;
  #index = 0;

  constructor(opener: ChunkOpener, chunkSize: number) {
    this.#opener = opener;
    this.#full = chunkSize + CHUNK_TAG_LENGTH;
    this.#buffer = new Uint8Array(this.#full);
  }

  async feed(input: Uint8Array, controller: TransformStreamDefaultController<Uint8Array>): Promise<void> {
    let o = 0;
    if (this.#fill > 0) {
      const n = Math.min(this.#full - this.#fill, input.length);
      this.#buffer.set(input.subarray(0, n), this.#fill);
      this.#fill += n;
      o = n;
      if (this.#fill < this.#full) return;
      controller.enqueue(await this.#open(this.#buffer, false));
      this.#fill = 0;
    }
    for (; input.length - o >= this.#full; o += this.#full) {
      controller.enqueue(await this.#open(input.subarray(o, o + this.#full), false));
    }
    this.#buffer.set(input.subarray(o), 0);
    this.#fill = input.length - o;
  }

  /** At the end of input, what is left is the final chunk: 16 .. chunkSize + 15 bytes, or the stream was cut. */
  async finish(controller: TransformStreamDefaultController<Uint8Array>): Promise<void> {
    if (this.#fill < CHUNK_TAG_LENGTH) throw truncated();
    controller.enqueue(await this.#open(this.#buffer.subarray(0, this.#fill), true));
  }

  async #open(chunk: Uint8Array, isFinal: boolean): Promise<Uint8Array> {
    checkChunkCount(++this.#index);
    return this.#opener.open(chunk, isFinal).catch(payloadFailure);
  }
}

/**
 * A decrypting TransformStream: envelope bytes in, plaintext out. A chunk's plaintext is
 * released only after that chunk authenticated; nothing is released before the sender's
 * signature and the recipient stanza verified. If the input ends before the final chunk, the
 * stream errors with `E_TRUNCATED`; any bytes after the final chunk make it error too. After
 * an error the stream stays errored; the bytes released before it are whole authenticated
 * chunks, a prefix of the plaintext.
 *
 * @throws (errors the stream) the codes of {@link decrypt}.
 *
 * @example
 * ```ts
 * const decryptor = decryptStream({ keys });
 * const done = response.body!.pipeThrough(decryptor).pipeTo(output);
 * const { sender } = await decryptor.parties;
 * await done;
 * ```
 */
export function decryptStream(options: DecryptOptions): DecryptStream {
  const checked = checkDecryptOptions(options);
  const queue = new ByteQueue();
  let state: State = { phase: 'preamble' };
  let resolveParties: (p: EnvelopeParties) => void;
  let rejectParties: (e: unknown) => void;
  const parties = new Promise<EnvelopeParties>((resolve, reject) => {
    resolveParties = resolve;
    rejectParties = reject;
  });
  parties.catch(() => {}); // the stream reports the error; an unobserved `parties` must not crash the process

  /** Reads the header from the queue; once it is open, the rest of the input goes to the chunk reader. */
  const consume = async (controller: TransformStreamDefaultController<Uint8Array>): Promise<void> => {
    if (state.phase === 'preamble') {
      const preamble = readPreamble(queue.peek(MAX_PREAMBLE_LENGTH));
      if (preamble === undefined) return;
      state = { phase: 'header', headerLength: preamble.headerLength };
    }
    if (state.phase === 'header') {
      const { headerLength } = state;
      if (queue.length < headerLength + SIGNATURE_LENGTH + CHUNK_HEADER_LENGTH) return;
      // Owned copies: these bytes are used across awaits.
      const header = queue.take(headerLength).slice();
      const signature = queue.take(SIGNATURE_LENGTH).slice();
      const payloadHeader = queue.take(CHUNK_HEADER_LENGTH).slice();
      const opened = await openHeader(header, signature, payloadHeader, checked);
      state = { phase: 'chunks', chunks: new ChunkReader(opened.opener, opened.chunkSize) };
      resolveParties({ sender: opened.sender, recipient: opened.recipient });
      if (queue.length > 0) await state.chunks.feed(queue.take(queue.length), controller);
    }
  };

  const fail = (e: unknown): never => {
    rejectParties(e);
    throw e;
  };

  const stream = new TransformStream<Uint8Array, Uint8Array>({
    async transform(input, controller) {
      try {
        if (!(input instanceof Uint8Array)) throw new TypeError(`decryptStream expected Uint8Array chunks, got ${typeof input}`);
        if (state.phase === 'chunks') {
          await state.chunks.feed(input, controller);
        } else {
          queue.push(input);
          await consume(controller);
          queue.own();
        }
      } catch (e) {
        fail(e);
      }
    },
    async flush(controller) {
      try {
        if (state.phase !== 'chunks') throw truncated();
        await state.chunks.finish(controller);
      } catch (e) {
        fail(e);
      }
    },
  });
  return Object.assign(stream, { parties });
}
