// Streaming encryption and decryption as Web Streams TransformStreams (browsers and Node).
// Memory stays bounded by one segment (plus the header): input is re-cut into chunks, never
// concatenated; the decryptor releases a segment's plaintext only after the segment's
// signature verified (docs/FORMAT.md §7).
import { CHUNK_HEADER_LENGTH } from '../internal/chunked-aead.js';
import { concatBytes } from '../internal/bytes.js';
import { SigilError } from '../errors.js';
import { checkEncryptOptions, prepareEnvelope, type EncryptOptions, type SegmentWriter } from './encrypt.js';
import {
  checkDecryptOptions,
  checkExpectedSender,
  decryptWhole,
  maxWholePayloadLength,
  openStanza,
  truncated,
  verifyHeaderSignature,
  type DecryptOptions,
  type EnvelopeParties,
} from './decrypt.js';
import { sha256 } from './binding.js';
import { SIGNATURE_LENGTH, SIGNING_MESSAGE_KEY } from './format.js';
import { decodeHeader, type EnvelopeHeader } from './header.js';
import { HeadReader } from './head-reader.js';
import { PayloadReader } from './payload-reader.js';

/**
 * An encrypting TransformStream: plaintext bytes in, one format-v2 envelope out. The header
 * (signed once by the sender, naming a fresh per-message key) is written first, then one
 * ciphertext chunk per `chunkSize` bytes of input, a segment signature by the message key after
 * every `segmentSize` bytes, and the final chunk and last signature when the writable side
 * closes (FORMAT.md §4.1).
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
  let writer: SegmentWriter;
  let chunkSize = 0;
  let buffer: Uint8Array;
  let fill = 0;

  // Ciphertext, tag and signature go out as separate pieces: joining them would copy every
  // byte once more, a quarter of the throughput at 64 KiB (chunked-aead.ts, "CHUNK SIZE AND SPEED").
  const seal = async (chunk: Uint8Array, isFinal: boolean, controller: TransformStreamDefaultController<Uint8Array>): Promise<void> => {
    for (const piece of await writer.seal(chunk, isFinal)) controller.enqueue(piece);
  };

  return new TransformStream<Uint8Array, Uint8Array>({
    async start(controller) {
      const prepared = await prepareEnvelope(options, true);
      writer = prepared.writer;
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
 * parties as soon as the signature over the header has verified.
 */
export interface DecryptStream extends TransformStream<Uint8Array, Uint8Array> {
  /**
   * Resolves once the signature over the header, the recipient stanza and the payload
   * commitment verified, before the first plaintext byte (for a sender-signed envelope, whose
   * one signature comes last, at the end of input); rejects with the stream's error otherwise.
   */
  readonly parties: Promise<EnvelopeParties>;
}

/** A sender-signed (0x01) envelope is one segment, signed at its end: it is held whole, bounded by that segment. */
interface Whole {
  readonly header: EnvelopeHeader;
  readonly headerBytes: Uint8Array;
  readonly limit: number;
  readonly pieces: Uint8Array[];
  length: number;
}

type State =
  | { readonly phase: 'head'; readonly reader: HeadReader }
  | { readonly phase: 'segments'; readonly reader: PayloadReader }
  | { readonly phase: 'whole'; readonly whole: Whole };

/**
 * A decrypting TransformStream: envelope bytes in, plaintext out. Plaintext is released only
 * once the signature of its segment verified, so every byte released is the sender's (FORMAT.md
 * §7, §11): with a message key, segment by segment (1 MiB by default); for a sender-signed
 * envelope, all at once at the end. If the input ends before the final segment, the stream
 * errors with `E_TRUNCATED`; any bytes after it make it error too. After an error the stream
 * stays errored; what it released before is a prefix of whole verified segments.
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
  let state: State = { phase: 'head', reader: new HeadReader() };
  let resolveParties: (p: EnvelopeParties) => void;
  let rejectParties: (e: unknown) => void;
  const parties = new Promise<EnvelopeParties>((resolve, reject) => {
    resolveParties = resolve;
    rejectParties = reject;
  });
  parties.catch(() => {}); // the stream reports the error; an unobserved `parties` must not crash the process

  const collect = (whole: Whole, input: Uint8Array): void => {
    if (input.length === 0) return;
    whole.length += input.length;
    if (whole.length > whole.limit) {
      throw new SigilError('E_FORMAT', 'This is not a valid Sigil envelope: a sender-signed payload holds one segment, and this one is longer.');
    }
    whole.pieces.push(input.slice()); // owned: the source may reuse its buffer
  };

  /** Once the head is in: verify what covers it, then hand the rest to the payload reader. */
  const start = async (head: HeadReader, rest: Uint8Array, controller: TransformStreamDefaultController<Uint8Array>): Promise<void> => {
    const bytes = head.head as Uint8Array;
    const h = head.preamble!.headerLength;
    const headerBytes = bytes.subarray(0, h);
    const header = decodeHeader(headerBytes);
    checkExpectedSender(header, checked);
    if (header.signing !== SIGNING_MESSAGE_KEY) {
      const whole: Whole = { header, headerBytes, limit: maxWholePayloadLength(header), pieces: [], length: 0 };
      state = { phase: 'whole', whole };
      collect(whole, rest);
      return;
    }
    await verifyHeaderSignature(header, headerBytes, bytes.subarray(h, h + SIGNATURE_LENGTH));
    const payloadHeader = bytes.subarray(h + SIGNATURE_LENGTH, h + SIGNATURE_LENGTH + CHUNK_HEADER_LENGTH);
    const opened = await openStanza(header, headerBytes, payloadHeader, checked);
    const reader = new PayloadReader({
      opener: opened.opener,
      chunkSize: header.chunkSize,
      segmentChunks: header.segmentChunks,
      segmentKey: header.messageKey as Uint8Array,
      headerDigest: await sha256(headerBytes),
      payloadHeader,
      release: (p) => controller.enqueue(p),
    });
    state = { phase: 'segments', reader };
    resolveParties(opened.parties);
    if (rest.length > 0) await reader.feed(rest);
  };

  const fail = (e: unknown): never => {
    rejectParties(e);
    throw e;
  };

  const stream = new TransformStream<Uint8Array, Uint8Array>({
    async transform(input, controller) {
      try {
        if (!(input instanceof Uint8Array)) throw new TypeError(`decryptStream expected Uint8Array chunks, got ${typeof input}`);
        if (state.phase === 'segments') await state.reader.feed(input);
        else if (state.phase === 'whole') collect(state.whole, input);
        else {
          const rest = state.reader.push(input);
          if (rest !== undefined) await start(state.reader, rest, controller);
        }
      } catch (e) {
        fail(e);
      }
    },
    async flush(controller) {
      try {
        if (state.phase === 'head') throw truncated();
        if (state.phase === 'segments') {
          await state.reader.finish();
          return;
        }
        const { header, headerBytes, pieces } = state.whole;
        const { plaintext, ...opened } = await decryptWhole(header, headerBytes, concatBytes(...pieces), checked);
        resolveParties(opened);
        const cs = header.chunkSize;
        for (let o = 0; o < plaintext.length; o += cs) controller.enqueue(plaintext.subarray(o, Math.min(plaintext.length, o + cs)));
      } catch (e) {
        fail(e);
      }
    },
  });
  return Object.assign(stream, { parties });
}
