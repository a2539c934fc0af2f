// C2SP chunked-encryption, instantiated as "Cobblestone-256": HKDF-SHA-512 and AES-256-GCM
// (https://c2sp.org/chunked-encryption). Key-committing, so an envelope cannot open to different
// plaintexts for different recipients; counter nonces, so chunks cannot be reordered or
// dropped; a short final chunk, so the stream cannot be truncated or extended.
//
// Ciphertext = header || chunk_0 || ... || chunk_n, where
//   header  = salt (24 bytes, random) || commitment (32 bytes)                    (56 bytes)
//   key || baseNonce || commitment = HKDF-Expand-SHA-512(prk = input key,
//       info = "c2sp.org/chunked-encryption@v1+AEAD_AES_256_GCM" || 0x00 || salt || context)
//   chunk_i = AES-256-GCM(key, nonce = baseNonce XOR be96(i), aad = empty, plaintext_i)
//
// HOW A READER TELLS THE FINAL CHUNK (spec, "Message chunking"): by its LENGTH, not by a flag.
// Every chunk except the last carries exactly `chunkSize` plaintext bytes, i.e. its ciphertext
// is exactly `chunkSize + 16` bytes. The last chunk carries 0 .. chunkSize-1 plaintext bytes
// (an empty final chunk follows a message whose length is a multiple of chunkSize; the empty
// message is one empty chunk), i.e. its ciphertext is 16 .. chunkSize+15 bytes. So a stream
// reader: after the header, while at least `chunkSize + 16` bytes are buffered, cut a chunk of
// exactly that size and open it with isFinal = false (a full chunk is never final, so no
// look-ahead is needed); at end of input, the remaining 16 .. chunkSize+15 bytes are the final
// chunk: open them with isFinal = true. End of input with 0 bytes buffered after full chunks,
// or 1..15 bytes, is a truncation (`E_TRUNCATED`). Bytes after the final chunk are an error.
// Chunk k starts at ciphertext offset 56 + k * (chunkSize + 16).
//
// CHUNK SIZE AND SPEED (scripts/bench/chunked-aead.ts, npm run bench chunked-aead; 2-core EPYC,
// Node 20, ratios to raw node:crypto AES-256-GCM in 64 KiB segments, median of interleaved
// rounds). The spec's 16 KiB cannot reach the 0.85x target on Node: node:crypto sets up one
// cipher per chunk, and raw AES-GCM itself in 16 KiB segments runs at only 0.70-0.75x of 64 KiB
// segments; the sealer/opener at 16 KiB measured 0.48-0.65x (seal) and 0.55-0.61x (open).
// The structure (commitment, counter nonces, short final chunk) is unchanged at any size, so a
// larger chunk is a parameter: at 64 KiB sealDetached/open measured 0.87-1.00x / 0.91-1.20x, at
// 256 KiB 1.02-1.13x both. Streams should use sealDetached (seal's copy of ciphertext and tag
// into one array costs 0.2-0.3x at 64 KiB). The Wycheproof vectors run at 16 KiB.

import { platform as defaultPlatform } from '#platform';
import { SigilError } from '../errors.js';
import { assertBytes, concatBytes, equalConstantTime } from './bytes.js';
import { hkdfExpand } from './platform/hkdf.js';
import type { AesGcmKey, CryptoPlatform } from './platform/types.js';

/** Length of the header: salt (24) || commitment (32). */
export const CHUNK_HEADER_LENGTH = 56;
/** Length of the random salt at the start of the header. */
export const CHUNK_SALT_LENGTH = 24;
/** Length of the key commitment after the salt. */
export const CHUNK_COMMITMENT_LENGTH = 32;
/** AES-256-GCM tag length: each encrypted chunk is its plaintext length + 16. */
export const CHUNK_TAG_LENGTH = 16;
/** Input key length (AES-256). */
export const CHUNK_KEY_LENGTH = 32;
/**
 * Cobblestone-256's own chunk size, 16 KiB of plaintext per full chunk (the Wycheproof vectors
 * use it). The envelope chooses its own default (envelope/format.ts DEFAULT_CHUNK_SIZE, FORMAT.md
 * §4) and always passes it: this value applies only to callers of this module that pass none.
 */
export const COBBLESTONE_CHUNK_SIZE = 16_384;
/**
 * Largest chunk size accepted as an option, bounded for memory; it is also the envelope's limit
 * (FORMAT.md §6), which envelope/format.ts takes from here.
 */
export const MAX_CHUNK_SIZE = 16 * 1024 * 1024;
/**
 * Cobblestone's limit on the number of chunks: the counter must stay below 2^38. The envelope
 * sets a lower one (envelope/format.ts MAX_CHUNK_COUNT, 2^32, FORMAT.md §6) and checks it itself.
 */
export const COBBLESTONE_MAX_CHUNK_COUNT = 2 ** 38;

export interface ChunkOptions {
  /**
   * Plaintext bytes per full chunk; default {@link COBBLESTONE_CHUNK_SIZE} (the spec's value). Any other
   * value is a Sigil parameter outside Cobblestone-256 proper: it must be recorded in (and
   * authenticated with) the envelope header, since the reader needs it to cut chunks.
   * An integer in 1 .. {@link MAX_CHUNK_SIZE}.
   */
  readonly chunkSize?: number | undefined;
  /** @internal The crypto seam to use; tests pass the WebCrypto one to cover both. */
  readonly platform?: CryptoPlatform | undefined;
}

export interface ChunkSealerOptions extends ChunkOptions {
  /**
   * The 24-byte salt. For deterministic test vectors ONLY: a salt must never repeat under one
   * input key. Absent, it comes from the platform's CSPRNG (the spec's SHOULD).
   */
  readonly salt?: Uint8Array | undefined;
}

/** Encrypts one message chunk by chunk, in order. Not reusable after the final chunk. */
export interface ChunkSealer {
  /** The 56-byte header (salt || commitment) to write before the first chunk. */
  readonly header: Uint8Array;
  /** Plaintext bytes per full chunk. */
  readonly chunkSize: number;
  /**
   * Encrypts the next chunk; returns its ciphertext (`chunk.length + 16` bytes).
   * A non-final chunk must be exactly `chunkSize` bytes; the final chunk must be shorter
   * (0 .. chunkSize-1 bytes; pass an empty final chunk when the message length is a multiple
   * of chunkSize). Calls must not overlap (await each one).
   * @throws RangeError on a wrong chunk length, a call after the final chunk, or 2^38 chunks.
   */
  seal(chunk: Uint8Array, isFinal: boolean): Promise<Uint8Array>;
  /**
   * {@link ChunkSealer.seal} with the chunk's ciphertext and tag returned apart, not copied
   * into one array: the encrypted chunk is `ciphertext || tag`. For streams, which can emit the
   * two pieces in order; it saves a copy that costs ~25% of throughput at 64 KiB on Node.
   * Same rules and errors as `seal`.
   */
  sealDetached(chunk: Uint8Array, isFinal: boolean): Promise<{ ciphertext: Uint8Array; tag: Uint8Array }>;
}

/** Decrypts one message chunk by chunk, in order. */
export interface ChunkOpener {
  /** Plaintext bytes per full chunk. */
  readonly chunkSize: number;
  /**
   * Authenticates and decrypts the next chunk; returns its plaintext only if it authenticated.
   * A non-final chunk must be exactly `chunkSize + 16` bytes; the final one 16 .. chunkSize+15
   * bytes (see the file comment for how a reader cuts them). After any failure the opener stays
   * failed: every later call throws.
   * @throws SigilError `E_AUTH_FAILED` if the tag does not verify (tampered, reordered,
   *   duplicated chunk, wrong final flag).
   * @throws SigilError `E_TRUNCATED` if a final chunk is shorter than the tag.
   * @throws SigilError `E_FORMAT` if a non-final chunk has the wrong length or a chunk
   *   comes after the final one.
   */
  open(chunk: Uint8Array, isFinal: boolean): Promise<Uint8Array>;
}

const NONCE_LENGTH = 12;
const EMPTY = new Uint8Array(0);
// HKDF-Expand info prefix: "c2sp.org/chunked-encryption@v1+" || aead || 0x00 (spec, "Key derivation").
const INFO_PREFIX = new TextEncoder().encode('c2sp.org/chunked-encryption@v1+AEAD_AES_256_GCM\0');

function checkKey(key: Uint8Array): void {
  assertBytes('key', key, CHUNK_KEY_LENGTH);
}

function checkChunkSize(options: ChunkOptions): number {
  const chunkSize = options.chunkSize ?? COBBLESTONE_CHUNK_SIZE;
  if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) {
    throw new RangeError(`"chunkSize" expected an integer in 1..${MAX_CHUNK_SIZE}, got ${chunkSize}`);
  }
  return chunkSize;
}

/** What the spec's HKDF-Expand derives for one message (exported for the vector tests). */
export interface ChunkKeys {
  readonly aeadKey: Uint8Array;
  readonly baseNonce: Uint8Array;
  readonly commitment: Uint8Array;
}

/** key || base nonce || commitment = HKDF-Expand-SHA-512(input key, info) (spec, "Key derivation"). */
export async function deriveChunkKeys(
  key: Uint8Array,
  salt: Uint8Array,
  context: Uint8Array,
  platform: CryptoPlatform = defaultPlatform,
): Promise<ChunkKeys> {
  const okm = await hkdfExpand(
    platform,
    'SHA-512',
    key,
    concatBytes(INFO_PREFIX, salt, context),
    CHUNK_KEY_LENGTH + NONCE_LENGTH + CHUNK_COMMITMENT_LENGTH,
  );
  return {
    aeadKey: okm.subarray(0, CHUNK_KEY_LENGTH),
    baseNonce: okm.subarray(CHUNK_KEY_LENGTH, CHUNK_KEY_LENGTH + NONCE_LENGTH),
    commitment: okm.subarray(CHUNK_KEY_LENGTH + NONCE_LENGTH),
  };
}

/** base nonce XOR the chunk number as a big-endian integer (spec, "AEAD usage"); counter < 2^38. */
function chunkNonce(baseNonce: Uint8Array, counter: number): Uint8Array {
  const nonce = baseNonce.slice();
  for (let i = NONCE_LENGTH - 1, c = counter; c > 0; i--, c = Math.floor(c / 256)) nonce[i]! ^= c % 256;
  return nonce;
}

class Sealer implements ChunkSealer {
  readonly header: Uint8Array;
  readonly chunkSize: number;
  readonly #aead: AesGcmKey;
  readonly #baseNonce: Uint8Array;
  #counter = 0;
  #done = false;

  constructor(header: Uint8Array, chunkSize: number, aead: AesGcmKey, baseNonce: Uint8Array) {
    this.header = header;
    this.chunkSize = chunkSize;
    this.#aead = aead;
    this.#baseNonce = baseNonce;
  }

  async seal(chunk: Uint8Array, isFinal: boolean): Promise<Uint8Array> {
    const nonce = this.#next(chunk, isFinal);
    return this.#aead.seal(nonce, chunk, EMPTY);
  }

  async sealDetached(chunk: Uint8Array, isFinal: boolean): Promise<{ ciphertext: Uint8Array; tag: Uint8Array }> {
    const nonce = this.#next(chunk, isFinal);
    return this.#aead.sealDetached(nonce, chunk, EMPTY);
  }

  /** Checks the chunk against the chunking rule and takes the next nonce. */
  #next(chunk: Uint8Array, isFinal: boolean): Uint8Array {
    assertBytes('chunk', chunk);
    if (this.#done) throw new RangeError('seal() called after the final chunk');
    if (isFinal ? chunk.length >= this.chunkSize : chunk.length !== this.chunkSize) {
      throw new RangeError(
        isFinal
          ? `the final chunk must be shorter than chunkSize=${this.chunkSize}, got length=${chunk.length}`
          : `a non-final chunk must be exactly chunkSize=${this.chunkSize} bytes, got length=${chunk.length}`,
      );
    }
    if (this.#counter >= COBBLESTONE_MAX_CHUNK_COUNT - 1 && !isFinal) throw new RangeError('message too long: 2^38 chunks');
    // State changes before any await, so even overlapping calls never reuse a nonce.
    const nonce = chunkNonce(this.#baseNonce, this.#counter++);
    if (isFinal) this.#done = true;
    return nonce;
  }
}

class Opener implements ChunkOpener {
  readonly chunkSize: number;
  readonly #aead: AesGcmKey;
  readonly #baseNonce: Uint8Array;
  #counter = 0;
  #done = false;
  #failure: SigilError | undefined;

  constructor(chunkSize: number, aead: AesGcmKey, baseNonce: Uint8Array) {
    this.chunkSize = chunkSize;
    this.#aead = aead;
    this.#baseNonce = baseNonce;
  }

  #fail(error: SigilError): never {
    this.#failure = error;
    throw error;
  }

  async open(chunk: Uint8Array, isFinal: boolean): Promise<Uint8Array> {
    assertBytes('chunk', chunk);
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#done) this.#fail(new SigilError('E_FORMAT', 'Data after the final chunk.'));
    const full = this.chunkSize + CHUNK_TAG_LENGTH;
    if (isFinal) {
      // The final chunk is short: 0 .. chunkSize-1 plaintext bytes. Anything else at the end
      // of the input means the message was cut (spec, "Message chunking").
      if (chunk.length < CHUNK_TAG_LENGTH || chunk.length >= full) {
        this.#fail(new SigilError('E_TRUNCATED', 'The encrypted payload is truncated.'));
      }
    } else if (chunk.length !== full) {
      this.#fail(new SigilError('E_FORMAT', `A non-final chunk must be ${full} bytes.`));
    }
    if (this.#counter >= COBBLESTONE_MAX_CHUNK_COUNT) this.#fail(new SigilError('E_LIMIT', 'More than 2^38 chunks.'));
    const nonce = chunkNonce(this.#baseNonce, this.#counter++);
    if (isFinal) this.#done = true;
    try {
      return await this.#aead.open(nonce, chunk, EMPTY);
    } catch (e) {
      this.#fail(SigilError.is(e) ? e : new SigilError('E_AUTH_FAILED', 'Decryption failed.', { cause: e }));
    }
  }
}

/**
 * Starts a Cobblestone-256 encryption: derives key, base nonce and commitment from `key`, a
 * fresh salt and `context` (bind the envelope header or its hash here).
 *
 * @param key - 32-byte uniformly random input key (e.g. the envelope's content key).
 * @param context - application context (may be empty); the opener must pass the same bytes.
 * @throws RangeError if `key` is not 32 bytes, `salt` not 24, or `chunkSize` is out of range.
 */
export async function createChunkSealer(
  key: Uint8Array,
  context: Uint8Array,
  options: ChunkSealerOptions = {},
): Promise<ChunkSealer> {
  checkKey(key);
  assertBytes('context', context);
  const chunkSize = checkChunkSize(options);
  const platform = options.platform ?? defaultPlatform;
  const salt = options.salt ?? platform.randomBytes(CHUNK_SALT_LENGTH);
  assertBytes('salt', salt, CHUNK_SALT_LENGTH);
  const keys = await deriveChunkKeys(key, salt, context, platform);
  const header = concatBytes(salt, keys.commitment);
  return new Sealer(header, chunkSize, await platform.aesGcm(keys.aeadKey), keys.baseNonce);
}

/**
 * Starts a Cobblestone-256 decryption: checks the header's commitment (in constant time)
 * before any chunk can be opened.
 *
 * @param header - the first 56 bytes of the ciphertext.
 * @throws SigilError `E_TRUNCATED` if `header` is shorter than 56 bytes.
 * @throws SigilError `E_AUTH_FAILED` if the commitment does not match (wrong key or context,
 *   tampered salt or commitment).
 * @throws RangeError if `key` is not 32 bytes, `header` longer than 56 bytes, or `chunkSize`
 *   is out of range.
 */
export async function createChunkOpener(
  key: Uint8Array,
  context: Uint8Array,
  header: Uint8Array,
  options: ChunkOptions = {},
): Promise<ChunkOpener> {
  checkKey(key);
  assertBytes('context', context);
  assertBytes('header', header);
  const chunkSize = checkChunkSize(options);
  if (header.length < CHUNK_HEADER_LENGTH) throw new SigilError('E_TRUNCATED', 'The encrypted payload is truncated.');
  if (header.length > CHUNK_HEADER_LENGTH) {
    throw new RangeError(`"header" expected Uint8Array of length ${CHUNK_HEADER_LENGTH}, got length=${header.length}`);
  }
  const platform = options.platform ?? defaultPlatform;
  const keys = await deriveChunkKeys(key, header.subarray(0, CHUNK_SALT_LENGTH), context, platform);
  // Spec: "implementations MUST check the commitment matches the derived value before continuing".
  if (!equalConstantTime(keys.commitment, header.subarray(CHUNK_SALT_LENGTH))) {
    throw new SigilError('E_AUTH_FAILED', 'Decryption failed.');
  }
  return new Opener(chunkSize, await platform.aesGcm(keys.aeadKey), keys.baseNonce);
}

/**
 * One-shot encryption of a whole message: header || chunks.
 * @throws RangeError as {@link createChunkSealer}.
 */
export async function encryptChunked(
  key: Uint8Array,
  context: Uint8Array,
  plaintext: Uint8Array,
  options: ChunkSealerOptions = {},
): Promise<Uint8Array> {
  assertBytes('plaintext', plaintext);
  const sealer = await createChunkSealer(key, context, options);
  const size = sealer.chunkSize;
  const fullChunks = Math.floor(plaintext.length / size);
  const out = new Uint8Array(CHUNK_HEADER_LENGTH + plaintext.length + (fullChunks + 1) * CHUNK_TAG_LENGTH);
  out.set(sealer.header, 0);
  let offset = CHUNK_HEADER_LENGTH;
  for (let i = 0; i <= fullChunks; i++) {
    const isFinal = i === fullChunks;
    const chunk = plaintext.subarray(i * size, isFinal ? plaintext.length : (i + 1) * size);
    const sealed = await sealer.seal(chunk, isFinal);
    out.set(sealed, offset);
    offset += sealed.length;
  }
  return out;
}

/**
 * One-shot decryption of a whole message; returns the plaintext only if every chunk
 * authenticated and the final chunk was present and last.
 * @throws SigilError `E_AUTH_FAILED`, `E_TRUNCATED`, `E_FORMAT` as {@link createChunkOpener} and
 *   {@link ChunkOpener.open}.
 */
export async function decryptChunked(
  key: Uint8Array,
  context: Uint8Array,
  ciphertext: Uint8Array,
  options: ChunkOptions = {},
): Promise<Uint8Array> {
  assertBytes('ciphertext', ciphertext);
  const opener = await createChunkOpener(key, context, ciphertext.subarray(0, CHUNK_HEADER_LENGTH), options);
  const full = opener.chunkSize + CHUNK_TAG_LENGTH;
  const parts: Uint8Array[] = [];
  let offset = CHUNK_HEADER_LENGTH;
  // The reader rule of the file comment: full-size chunks are never final; what is left at the
  // end (possibly nothing, which is a truncation) is the final chunk.
  while (ciphertext.length - offset >= full) {
    parts.push(await opener.open(ciphertext.subarray(offset, offset + full), false));
    offset += full;
  }
  parts.push(await opener.open(ciphertext.subarray(offset), true));
  return concatBytes(...parts);
}
