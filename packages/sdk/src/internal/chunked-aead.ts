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
/** The spec's chunk size, 16 KiB of plaintext per full chunk (the Wycheproof vectors use it). */
export const DEFAULT_CHUNK_SIZE = 16_384;
/** Largest chunk size accepted as an option (a parameter of the envelope, bounded for memory). */
export const MAX_CHUNK_SIZE = 16 * 1024 * 1024;
/** The spec's limit on the number of chunks: the counter must stay below 2^38. */
export const MAX_CHUNK_COUNT = 2 ** 38;

export interface ChunkOptions {
  /**
   * Plaintext bytes per full chunk; default {@link DEFAULT_CHUNK_SIZE} (the spec's value). Any other
   * value is a Sigil parameter outside Cobblestone-256 proper: it must be recorded in (and
   * authenticated with) the envelope header, since the reader needs it to cut chunks.
   * An integer in 1 .. {@link MAX_CHUNK_SIZE}.
   */
  readonly chunkSize?: number | undefined;
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

/**
 * Starts a Cobblestone-256 encryption: derives key, base nonce and commitment from `key`, a
 * fresh salt and `context` (bind the envelope header or its hash here).
 *
 * @param key - 32-byte uniformly random input key (e.g. the envelope's content key).
 * @param context - application context (may be empty); the opener must pass the same bytes.
 * @throws RangeError if `key` is not 32 bytes or `chunkSize` is out of range.
 */
export async function createChunkSealer(
  key: Uint8Array,
  context: Uint8Array,
  options: ChunkSealerOptions = {},
): Promise<ChunkSealer> {
  void key, context, options;
  throw new Error('not implemented');
}

/**
 * Starts a Cobblestone-256 decryption: checks the header's commitment (in constant time)
 * before any chunk can be opened.
 *
 * @param header - the first 56 bytes of the ciphertext.
 * @throws SigilError `E_TRUNCATED` if `header` is shorter than 56 bytes.
 * @throws SigilError `E_AUTH_FAILED` if the commitment does not match (wrong key or context,
 *   tampered salt or commitment).
 * @throws RangeError if `key` is not 32 bytes or `chunkSize` is out of range.
 */
export async function createChunkOpener(
  key: Uint8Array,
  context: Uint8Array,
  header: Uint8Array,
  options: ChunkOptions = {},
): Promise<ChunkOpener> {
  void key, context, header, options;
  throw new Error('not implemented');
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
  void key, context, plaintext, options;
  throw new Error('not implemented');
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
  void key, context, ciphertext, options;
  throw new Error('not implemented');
}
