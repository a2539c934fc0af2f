// Constants of envelope format v2. Every number here is specified in docs/FORMAT.md; the
// section is cited next to each group. Changing any of them is a new format version.
import { MAX_CHUNK_SIZE } from '../internal/chunked-aead.js';

/** FORMAT.md §3.1: the five ASCII bytes "SIGIL" that start every envelope. */
export const MAGIC: Uint8Array = Uint8Array.of(0x53, 0x49, 0x47, 0x49, 0x4c);
/** FORMAT.md §3.1: the one version this code reads and writes (v1 is refused, FORMAT.md §13). */
export const VERSION = 2;
/** FORMAT.md §2: suite 0x0001 = HPKE(P-256, HKDF-SHA256, AES-256-GCM), ECDSA P-256/SHA-256, Cobblestone-256. */
export const SUITE_ID = 0x0001;

/** FORMAT.md §3.1: who signs the payload's segments. */
export const SIGNING_SENDER = 0x01;
/** FORMAT.md §3.1: a per-message key, signed once by the sender in the header signature. */
export const SIGNING_MESSAGE_KEY = 0x02;
export type SigningMode = typeof SIGNING_SENDER | typeof SIGNING_MESSAGE_KEY;

/** FORMAT.md §3.2: recipient kinds. 0x02 (group) is reserved for a later revision. */
export const RECIPIENT_NONE = 0x00;
export const RECIPIENT_ACCOUNT = 0x01;

/** Offsets inside the fixed part of the preamble (FORMAT.md §3.1). */
export const OFFSET_VERSION = 5;
export const OFFSET_SUITE = 6;
export const OFFSET_HEADER_LENGTH = 8;
export const OFFSET_CHUNK_SIZE = 12;
export const OFFSET_SEGMENT_CHUNKS = 16;
export const OFFSET_MESSAGE_ID = 18;
export const OFFSET_CREATED_AT = 34;
export const OFFSET_SENDER = 42;
export const OFFSET_SIGNING = 107;
export const OFFSET_COUNT = 108;
export const OFFSET_ACCOUNT_LENGTH = 110;
/** FORMAT.md §3.1: the fixed part of the preamble, 111 bytes; the message key (0 or 65) and the sender account id (0-128) follow. */
export const PREAMBLE_FIXED_LENGTH = 111;

export const MESSAGE_ID_LENGTH = 16;
export const PUBLIC_KEY_LENGTH = 65;
/** FORMAT.md §3.1: the longest account id, as for the directory's account ids (STATEMENTS.md). */
export const MAX_ACCOUNT_ID_LENGTH = 128;
/** The longest preamble: a message key and the longest account id. */
export const MAX_PREAMBLE_LENGTH = PREAMBLE_FIXED_LENGTH + PUBLIC_KEY_LENGTH + MAX_ACCOUNT_ID_LENGTH;

/** FORMAT.md §3.2: kind (1) || id length (1) || id (r) || key id (16) || epoch (4) || enc (65) || wrapped content key (32 + 16). */
export const STANZA_FIXED_LENGTH = 135;
export const KEY_ID_LENGTH = 16;
/** Nenc of the suite's KEM (RFC 9180 §7.1: DHKEM(P-256) 65). A hybrid suite changes this number, not the framing (FORMAT.md §12). */
export const ENC_LENGTH = 65;
export const CONTENT_KEY_LENGTH = 32;
export const WRAPPED_KEY_LENGTH = 48;

/** FORMAT.md §3.3: IEEE P1363 r || s, low-S. */
export const SIGNATURE_LENGTH = 64;
/** FORMAT.md §5.4: SHA-256 output. */
export const DIGEST_LENGTH = 32;

/** FORMAT.md §6: limits. */
export const MAX_RECIPIENTS = 4096;
export const MIN_CHUNK_SIZE = 1024;
/** FORMAT.md §6: at most 16 MiB per chunk, the bound of the chunked AEAD itself (one value, kept there). */
export { MAX_CHUNK_SIZE };
/** FORMAT.md §4: the payload's plaintext chunk size when the caller does not choose one. */
export const DEFAULT_CHUNK_SIZE = 64 * 1024;
/** FORMAT.md §6: at most 2^32 chunks per payload (Cobblestone allows 2^38; it says SHOULD NOT go below 2^32). */
export const MAX_CHUNK_COUNT = 2 ** 32;
/** FORMAT.md §6: a segment holds at most 16 MiB of plaintext: what a streaming reader holds back before its signature. */
export const MAX_SEGMENT_SIZE = 16 * 1024 * 1024;
/** FORMAT.md §4.1: the plaintext per signed segment when the caller does not choose: 1 MiB (or one chunk, if larger). */
export const DEFAULT_SEGMENT_SIZE = 1024 * 1024;
/** The largest header a decoder ever buffers: the longest preamble and MAX_RECIPIENTS of the longest stanzas. */
export const MAX_HEADER_LENGTH = MAX_PREAMBLE_LENGTH + MAX_RECIPIENTS * (STANZA_FIXED_LENGTH + MAX_ACCOUNT_ID_LENGTH);
/** FORMAT.md §3.1: created_at is below 2^53 ms, so every value is exact in a JavaScript number. */
export const MAX_CREATED_AT = Number.MAX_SAFE_INTEGER;

/**
 * FORMAT.md §3.1: an account id is 1 to 128 visible ASCII characters (0x21-0x7e), the charset of
 * the directory's account ids (STATEMENTS.md §3), so every id has one byte encoding.
 */
export function isValidAccountId(id: string): boolean {
  return id.length >= 1 && id.length <= MAX_ACCOUNT_ID_LENGTH && /^[\x21-\x7e]+$/.test(id);
}

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** FORMAT.md §5.1: prefix of the header signature (signing 0x02). */
export const LABEL_HEADER_SIGNATURE: Uint8Array = ascii('sigil/v2 header-signature\0');
/** FORMAT.md §5.4: prefix of every segment signature. */
export const LABEL_SEGMENT_SIGNATURE: Uint8Array = ascii('sigil/v2 segment-signature\0');
/** FORMAT.md §5.2: prefix of the HPKE info of every recipient stanza. */
export const LABEL_CONTENT_KEY: Uint8Array = ascii('sigil/v2 content-key\0');
/** FORMAT.md §5.3: HKDF-Extract salt that gives the payload's Cobblestone context. */
export const LABEL_PAYLOAD: Uint8Array = ascii('sigil/v2 payload\0');

/** FORMAT.md §3.1: chunk sizes are powers of two from 1 KiB to 16 MiB. */
export function isValidChunkSize(n: number): boolean {
  return Number.isInteger(n) && n >= MIN_CHUNK_SIZE && n <= MAX_CHUNK_SIZE && (n & (n - 1)) === 0;
}

/** FORMAT.md §3.1: 1 to 65535 chunks per segment, at most 16 MiB of plaintext. */
export function isValidSegmentChunks(n: number, chunkSize: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= 0xffff && n * chunkSize <= MAX_SEGMENT_SIZE;
}

/** FORMAT.md §4.1: the default segment: 1 MiB of plaintext, or one chunk if chunks are larger. */
export function defaultSegmentChunks(chunkSize: number): number {
  return Math.max(1, Math.floor(DEFAULT_SEGMENT_SIZE / chunkSize));
}

/**
 * The documented limits of format v2 (docs/FORMAT.md §6). Exceeding one gives `E_LIMIT`
 * (when encrypting too many recipients, or when decoding), or a RangeError for a bad option.
 */
export const ENVELOPE_LIMITS: {
  readonly maxRecipients: number;
  readonly maxHeaderLength: number;
  readonly minChunkSize: number;
  readonly maxChunkSize: number;
  readonly defaultChunkSize: number;
  readonly maxChunkCount: number;
  readonly maxSegmentSize: number;
  readonly defaultSegmentSize: number;
} = Object.freeze({
  maxRecipients: MAX_RECIPIENTS,
  maxHeaderLength: MAX_HEADER_LENGTH,
  minChunkSize: MIN_CHUNK_SIZE,
  maxChunkSize: MAX_CHUNK_SIZE,
  defaultChunkSize: DEFAULT_CHUNK_SIZE,
  maxChunkCount: MAX_CHUNK_COUNT,
  maxSegmentSize: MAX_SEGMENT_SIZE,
  defaultSegmentSize: DEFAULT_SEGMENT_SIZE,
});
