// The canonical binary header of format v1 (docs/FORMAT.md §3): fixed-width big-endian
// integers and fixed-length fields only, so every header has exactly one encoding and a
// decoder has nothing to be lenient about. Decoders check every rule of §3 and §6 and throw
// the code FORMAT.md gives for it.
import { SigilError } from '../errors.js';
import { checkP256PublicKey } from '../internal/p256.js';
import {
  ENC_LENGTH,
  KEY_ID_LENGTH,
  MAGIC,
  MAX_RECIPIENTS,
  MAX_ACCOUNT_ID_LENGTH,
  OFFSET_ACCOUNT_LENGTH,
  OFFSET_CHUNK_SIZE,
  OFFSET_COUNT,
  OFFSET_SENDER,
  OFFSET_SUITE,
  OFFSET_VERSION,
  PREAMBLE_FIXED_LENGTH,
  STANZA_LENGTH,
  SUITE_ID,
  VERSION,
  WRAPPED_KEY_LENGTH,
  isValidAccountId,
  isValidChunkSize,
} from './format.js';

/** One recipient's entry (FORMAT.md §3.2). */
export interface RecipientStanza {
  /** keyIdOf(recipient public key), as 16 raw bytes. */
  readonly keyId: Uint8Array;
  readonly epoch: number;
  /** HPKE encapsulated key: the ephemeral public key, 65 bytes. */
  readonly enc: Uint8Array;
  /** HPKE ciphertext of the 32-byte content key (48 bytes with its tag). */
  readonly wrappedKey: Uint8Array;
}

/** The decoded header (FORMAT.md §3.1-3.2). */
export interface EnvelopeHeader {
  readonly chunkSize: number;
  readonly senderPublicKey: Uint8Array;
  /** The account the sender claims to send for, signed with the header; undefined if none. */
  readonly senderAccountId: string | undefined;
  /** Length of the preamble (FORMAT.md §3.1), the part every stanza's HPKE info binds. */
  readonly preambleLength: number;
  readonly stanzas: readonly RecipientStanza[];
}

/** What the preamble says about the rest: enough for a stream to know how much to buffer. */
export interface Preamble {
  readonly chunkSize: number;
  readonly senderPublicKey: Uint8Array;
  readonly senderAccountId: string | undefined;
  readonly recipientCount: number;
  /** Length of the preamble itself: 80 + the account id's length. */
  readonly preambleLength: number;
  /** Length of the whole header (preamble and stanzas), without the signature. */
  readonly headerLength: number;
}

const formatError = (what: string): SigilError =>
  new SigilError('E_FORMAT', `This is not a valid Sigil envelope: ${what}.`);

/**
 * The preamble of a header (FORMAT.md §3.1). `senderAccountId` must already be checked with
 * `isValidAccountId` (or be undefined: no account claimed).
 */
export function encodePreamble(
  chunkSize: number,
  senderPublicKey: Uint8Array,
  recipientCount: number,
  senderAccountId: string | undefined,
): Uint8Array {
  const account = senderAccountId === undefined ? new Uint8Array(0) : Uint8Array.from(senderAccountId, (c) => c.charCodeAt(0));
  const out = new Uint8Array(PREAMBLE_FIXED_LENGTH + account.length);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  out[OFFSET_VERSION] = VERSION;
  view.setUint16(OFFSET_SUITE, SUITE_ID);
  view.setUint32(OFFSET_CHUNK_SIZE, chunkSize);
  out.set(senderPublicKey, OFFSET_SENDER);
  view.setUint16(OFFSET_COUNT, recipientCount);
  out[OFFSET_ACCOUNT_LENGTH] = account.length;
  out.set(account, PREAMBLE_FIXED_LENGTH);
  return out;
}

/** Appends the stanzas to a preamble; stanzas must already be in ascending key-id order. */
export function encodeHeader(preamble: Uint8Array, stanzas: readonly RecipientStanza[]): Uint8Array {
  const out = new Uint8Array(preamble.length + stanzas.length * STANZA_LENGTH);
  out.set(preamble, 0);
  for (let i = 0; i < stanzas.length; i++) writeStanza(out, preamble.length, i, stanzas[i] as RecipientStanza);
  return out;
}

/**
 * Writes stanza number `index` into a header whose preamble is `preambleLength` bytes long
 * (FORMAT.md §3.2), so that an encryptor can fill the header as it seals, holding no stanza.
 */
export function writeStanza(header: Uint8Array, preambleLength: number, index: number, s: RecipientStanza): void {
  const o = preambleLength + index * STANZA_LENGTH;
  header.set(s.keyId, o);
  const e = o + KEY_ID_LENGTH; // epoch: u32, big-endian
  header[e] = s.epoch >>> 24;
  header[e + 1] = (s.epoch >>> 16) & 0xff;
  header[e + 2] = (s.epoch >>> 8) & 0xff;
  header[e + 3] = s.epoch & 0xff;
  header.set(s.enc, o + KEY_ID_LENGTH + 4);
  header.set(s.wrappedKey, o + KEY_ID_LENGTH + 4 + ENC_LENGTH);
}

/**
 * Reads the preamble from the first bytes of an envelope (FORMAT.md §3.1, §6).
 * Returns `undefined` while `bytes` is a correct but incomplete prefix: a stream waits for
 * more, a one-shot decoder reports `E_TRUNCATED`. The magic and version are checked as soon
 * as their bytes are there, so garbage fails on its first bytes.
 *
 * @throws SigilError E_FORMAT, E_UNSUPPORTED_VERSION, E_LIMIT, E_BAD_PUBLIC_KEY
 */
export function readPreamble(bytes: Uint8Array): Preamble | undefined {
  const magicPart = Math.min(bytes.length, MAGIC.length);
  for (let i = 0; i < magicPart; i++) {
    if (bytes[i] !== MAGIC[i]) throw formatError('it does not start with the magic bytes "SIGIL"');
  }
  if (bytes.length <= OFFSET_VERSION) return undefined;
  if (bytes[OFFSET_VERSION] !== VERSION) {
    throw new SigilError('E_UNSUPPORTED_VERSION', `Envelope format version ${bytes[OFFSET_VERSION]} is not supported by this SDK (it reads version ${VERSION}).`);
  }
  if (bytes.length < PREAMBLE_FIXED_LENGTH) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, PREAMBLE_FIXED_LENGTH);
  const suite = view.getUint16(OFFSET_SUITE);
  if (suite !== SUITE_ID) {
    throw new SigilError('E_UNSUPPORTED_VERSION', `Envelope suite 0x${suite.toString(16).padStart(4, '0')} is not supported (format v1 has suite 0x0001 only).`);
  }
  const chunkSize = view.getUint32(OFFSET_CHUNK_SIZE);
  if (!isValidChunkSize(chunkSize)) {
    throw new SigilError('E_LIMIT', `Envelope chunk size ${chunkSize} is outside the limits (a power of two from 1 KiB to 16 MiB).`);
  }
  const senderPublicKey = bytes.slice(OFFSET_SENDER, OFFSET_SENDER + 65);
  checkP256PublicKey(senderPublicKey);
  const recipientCount = view.getUint16(OFFSET_COUNT);
  if (recipientCount === 0) throw formatError('it has no recipient');
  if (recipientCount > MAX_RECIPIENTS) {
    throw new SigilError('E_LIMIT', `Envelope has ${recipientCount} recipients; the limit is ${MAX_RECIPIENTS}.`);
  }
  const accountLength = bytes[OFFSET_ACCOUNT_LENGTH] as number;
  if (accountLength > MAX_ACCOUNT_ID_LENGTH) {
    throw formatError(`its sender account id is ${accountLength} bytes long (at most ${MAX_ACCOUNT_ID_LENGTH})`);
  }
  const preambleLength = PREAMBLE_FIXED_LENGTH + accountLength;
  if (bytes.length < preambleLength) return undefined;
  let senderAccountId: string | undefined;
  if (accountLength > 0) {
    senderAccountId = String.fromCharCode(...bytes.subarray(PREAMBLE_FIXED_LENGTH, preambleLength));
    if (!isValidAccountId(senderAccountId)) throw formatError('its sender account id is not visible ASCII');
  }
  return {
    chunkSize,
    senderPublicKey,
    senderAccountId,
    recipientCount,
    preambleLength,
    headerLength: preambleLength + recipientCount * STANZA_LENGTH,
  };
}

/**
 * Decodes a complete header: `bytes` must be exactly `preamble.headerLength` long.
 * Stanzas must be in strictly ascending key-id order (FORMAT.md §3.2): this makes the
 * encoding canonical and rules out two stanzas for one key.
 *
 * @throws SigilError E_FORMAT (and the codes of {@link readPreamble})
 */
export function decodeHeader(bytes: Uint8Array): EnvelopeHeader {
  const preamble = readPreamble(bytes);
  if (preamble === undefined || bytes.length !== preamble.headerLength) {
    throw new RangeError(`"header" expected the complete header, got length=${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stanzas: RecipientStanza[] = [];
  let previous: Uint8Array | undefined;
  for (let o = preamble.preambleLength; o < bytes.length; o += STANZA_LENGTH) {
    const keyId = bytes.slice(o, o + KEY_ID_LENGTH);
    if (previous !== undefined && compareBytes(previous, keyId) >= 0) {
      throw formatError('its recipient stanzas are not in strictly ascending key-id order');
    }
    previous = keyId;
    const e = o + KEY_ID_LENGTH + 4;
    stanzas.push({
      keyId,
      epoch: view.getUint32(o + KEY_ID_LENGTH),
      enc: bytes.slice(e, e + ENC_LENGTH),
      wrappedKey: bytes.slice(e + ENC_LENGTH, e + ENC_LENGTH + WRAPPED_KEY_LENGTH),
    });
  }
  return {
    chunkSize: preamble.chunkSize,
    senderPublicKey: preamble.senderPublicKey,
    senderAccountId: preamble.senderAccountId,
    preambleLength: preamble.preambleLength,
    stanzas,
  };
}

/** Lexicographic order of equal-length byte strings (public data: key ids). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}
