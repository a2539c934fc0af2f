// Constants of envelope format v1. Every number here is specified in docs/FORMAT.md; the
// section is cited next to each group. Changing any of them is a new format version.
import { MAX_CHUNK_SIZE } from '../internal/chunked-aead.js';

/** FORMAT.md §3.1: the five ASCII bytes "SIGIL" that start every envelope. */
export const MAGIC: Uint8Array = Uint8Array.of(0x53, 0x49, 0x47, 0x49, 0x4c);
/** FORMAT.md §3.1: the one version this code reads and writes. */
export const VERSION = 1;
/** FORMAT.md §2: suite 0x0001 = HPKE(P-256, HKDF-SHA256, AES-256-GCM), ECDSA P-256/SHA-256, Cobblestone-256. */
export const SUITE_ID = 0x0001;

/**
 * FORMAT.md §3.1: magic (5) || version (1) || suite (2) || chunk size (4) || sender key (65) ||
 * count (2) || sender account length (1): the fixed part of the preamble. The sender account
 * id (0 to 128 bytes) follows it, so a preamble is 80 to 208 bytes.
 */
export const PREAMBLE_FIXED_LENGTH = 80;
/** Offsets inside the preamble (FORMAT.md §3.1). */
export const OFFSET_VERSION = 5;
export const OFFSET_SUITE = 6;
export const OFFSET_CHUNK_SIZE = 8;
export const OFFSET_SENDER = 12;
export const OFFSET_COUNT = 77;
export const OFFSET_ACCOUNT_LENGTH = 79;
/** FORMAT.md §3.1: the longest sender account id, as for the directory's account ids (STATEMENTS.md). */
export const MAX_ACCOUNT_ID_LENGTH = 128;
/** The longest preamble: the fixed part and the longest account id. */
export const MAX_PREAMBLE_LENGTH = PREAMBLE_FIXED_LENGTH + MAX_ACCOUNT_ID_LENGTH;

/** FORMAT.md §3.2: key id (16) || epoch (4) || enc (65) || wrapped content key (32 + 16). */
export const STANZA_LENGTH = 133;
export const KEY_ID_LENGTH = 16;
export const ENC_LENGTH = 65;
export const CONTENT_KEY_LENGTH = 32;
export const WRAPPED_KEY_LENGTH = 48;

/** FORMAT.md §3.3: IEEE P1363 r || s. */
export const SIGNATURE_LENGTH = 64;

/** FORMAT.md §6: limits. */
export const MAX_RECIPIENTS = 4096;
export const MIN_CHUNK_SIZE = 1024;
/** FORMAT.md §6: at most 16 MiB per chunk, the bound of the chunked AEAD itself (one value, kept there). */
export { MAX_CHUNK_SIZE };
/** FORMAT.md §4: the payload's plaintext chunk size when the caller does not choose one. */
export const DEFAULT_CHUNK_SIZE = 64 * 1024;
/** FORMAT.md §6: at most 2^32 chunks per payload (Cobblestone allows 2^38; it says SHOULD NOT go below 2^32). */
export const MAX_CHUNK_COUNT = 2 ** 32;
/** The largest header a decoder ever buffers: the longest preamble and MAX_RECIPIENTS stanzas. */
export const MAX_HEADER_LENGTH = MAX_PREAMBLE_LENGTH + MAX_RECIPIENTS * STANZA_LENGTH;

/**
 * FORMAT.md §3.1: an account id is 1 to 128 visible ASCII characters (0x21-0x7e), the charset of
 * the directory's account ids (STATEMENTS.md §3), so every id has one byte encoding.
 */
export function isValidAccountId(id: string): boolean {
  return id.length >= 1 && id.length <= MAX_ACCOUNT_ID_LENGTH && /^[\x21-\x7e]+$/.test(id);
}

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** FORMAT.md §5.1: prefix of the signed message. */
export const LABEL_HEADER_SIGNATURE: Uint8Array = ascii('sigil/v1 header-signature\0');
/** FORMAT.md §5.2: prefix of the HPKE info of every recipient stanza. */
export const LABEL_CONTENT_KEY: Uint8Array = ascii('sigil/v1 content-key\0');
/** FORMAT.md §5.3: HKDF-Extract salt that gives the payload's Cobblestone context. */
export const LABEL_PAYLOAD: Uint8Array = ascii('sigil/v1 payload\0');

/** FORMAT.md §3.1: chunk sizes are powers of two from 1 KiB to 16 MiB. */
export function isValidChunkSize(n: number): boolean {
  return Number.isInteger(n) && n >= MIN_CHUNK_SIZE && n <= MAX_CHUNK_SIZE && (n & (n - 1)) === 0;
}

/**
 * The documented limits of format v1 (docs/FORMAT.md §6). Exceeding one gives `E_LIMIT`
 * (when encrypting too many recipients, or when decoding), or a RangeError for a bad option.
 */
export const ENVELOPE_LIMITS: {
  readonly maxRecipients: number;
  readonly maxHeaderLength: number;
  readonly minChunkSize: number;
  readonly maxChunkSize: number;
  readonly defaultChunkSize: number;
  readonly maxChunkCount: number;
} = Object.freeze({
  maxRecipients: MAX_RECIPIENTS,
  maxHeaderLength: MAX_HEADER_LENGTH,
  minChunkSize: MIN_CHUNK_SIZE,
  maxChunkSize: MAX_CHUNK_SIZE,
  defaultChunkSize: DEFAULT_CHUNK_SIZE,
  maxChunkCount: MAX_CHUNK_COUNT,
});
