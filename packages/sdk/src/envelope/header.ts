// The canonical binary header of format v2 (docs/FORMAT.md §3): fixed-width big-endian
// integers, fixed-length fields and one-byte length prefixes only, so every header has exactly
// one encoding and a decoder has nothing to be lenient about. The header states its own length
// in its first 12 bytes, so a streaming reader knows at once how much to buffer and copies each
// header byte once (FORMAT.md §3.1, §7). Decoders check every rule of §3 and §6 and throw the
// code FORMAT.md gives for it.
import { SigilError } from '../errors.js';
import { checkP256PublicKey } from '../internal/p256.js';
import {
  ENC_LENGTH,
  KEY_ID_LENGTH,
  MAGIC,
  MAX_ACCOUNT_ID_LENGTH,
  MAX_CREATED_AT,
  MAX_HEADER_LENGTH,
  MAX_RECIPIENTS,
  MESSAGE_ID_LENGTH,
  OFFSET_ACCOUNT_LENGTH,
  OFFSET_CHUNK_SIZE,
  OFFSET_COUNT,
  OFFSET_CREATED_AT,
  OFFSET_HEADER_LENGTH,
  OFFSET_MESSAGE_ID,
  OFFSET_SEGMENT_CHUNKS,
  OFFSET_SENDER,
  OFFSET_SIGNING,
  OFFSET_SUITE,
  OFFSET_VERSION,
  PREAMBLE_FIXED_LENGTH,
  PUBLIC_KEY_LENGTH,
  RECIPIENT_ACCOUNT,
  RECIPIENT_NONE,
  SIGNING_MESSAGE_KEY,
  SIGNING_SENDER,
  STANZA_FIXED_LENGTH,
  SUITE_ID,
  VERSION,
  WRAPPED_KEY_LENGTH,
  isValidAccountId,
  isValidChunkSize,
  isValidSegmentChunks,
  type SigningMode,
} from './format.js';

/** One recipient's entry (FORMAT.md §3.2). */
export interface RecipientStanza {
  /** The account the stanza is for (kind 0x01), bound into its HPKE info; undefined: none named (kind 0x00). */
  readonly accountId: string | undefined;
  /** keyIdOf(recipient public key), as 16 raw bytes. */
  readonly keyId: Uint8Array;
  readonly epoch: number;
  /** HPKE encapsulated key: the ephemeral public key, 65 bytes. */
  readonly enc: Uint8Array;
  /** HPKE ciphertext of the 32-byte content key (48 bytes with its tag). */
  readonly wrappedKey: Uint8Array;
}

/** The fields of a preamble (FORMAT.md §3.1), as an encoder gives them. */
export interface PreambleFields {
  readonly chunkSize: number;
  readonly segmentChunks: number;
  /** 16 random bytes. */
  readonly messageId: Uint8Array;
  /** The sender's clock at encryption, milliseconds since 1970-01-01T00:00:00Z, < 2^53. */
  readonly createdAt: number;
  readonly senderPublicKey: Uint8Array;
  /** The per-message signing key (signing 0x02), or undefined: the sender key signs (0x01). */
  readonly messageKey: Uint8Array | undefined;
  /** The account the sender claims to send for, signed with the header; undefined if none. */
  readonly senderAccountId: string | undefined;
}

/** What the fixed part of the preamble says: enough for a reader to know how much to buffer. */
export interface FixedPreamble {
  readonly headerLength: number;
  readonly chunkSize: number;
  readonly segmentChunks: number;
  readonly signing: SigningMode;
  readonly recipientCount: number;
  /** 111, + 65 with a message key, + the sender account id's length. */
  readonly preambleLength: number;
}

/** The decoded header (FORMAT.md §3.1-3.2). */
export interface EnvelopeHeader extends PreambleFields, FixedPreamble {
  readonly stanzas: readonly RecipientStanza[];
}

const formatError = (what: string): SigilError => new SigilError('E_FORMAT', `This is not a valid Sigil envelope: ${what}.`);
const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** FORMAT.md §3.2: the length of a stanza naming a recipient id of `idLength` bytes. */
export function stanzaLength(accountId: string | undefined): number {
  return STANZA_FIXED_LENGTH + (accountId?.length ?? 0);
}

/** FORMAT.md §3.1: the preamble's length for these fields. */
export function preambleLength(fields: Pick<PreambleFields, 'messageKey' | 'senderAccountId'>): number {
  return PREAMBLE_FIXED_LENGTH + (fields.messageKey === undefined ? 0 : PUBLIC_KEY_LENGTH) + (fields.senderAccountId?.length ?? 0);
}

/**
 * The preamble of a header (FORMAT.md §3.1) whose stanzas, all together, are `stanzasLength`
 * bytes. Account ids must already be checked with `isValidAccountId`.
 */
export function encodePreamble(fields: PreambleFields, recipientCount: number, stanzasLength: number): Uint8Array {
  const account = fields.senderAccountId === undefined ? new Uint8Array(0) : ascii(fields.senderAccountId);
  const out = new Uint8Array(preambleLength(fields));
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  out[OFFSET_VERSION] = VERSION;
  view.setUint16(OFFSET_SUITE, SUITE_ID);
  view.setUint32(OFFSET_HEADER_LENGTH, out.length + stanzasLength);
  view.setUint32(OFFSET_CHUNK_SIZE, fields.chunkSize);
  view.setUint16(OFFSET_SEGMENT_CHUNKS, fields.segmentChunks);
  out.set(fields.messageId, OFFSET_MESSAGE_ID);
  view.setBigUint64(OFFSET_CREATED_AT, BigInt(fields.createdAt));
  out.set(fields.senderPublicKey, OFFSET_SENDER);
  out[OFFSET_SIGNING] = fields.messageKey === undefined ? SIGNING_SENDER : SIGNING_MESSAGE_KEY;
  view.setUint16(OFFSET_COUNT, recipientCount);
  out[OFFSET_ACCOUNT_LENGTH] = account.length;
  let o = PREAMBLE_FIXED_LENGTH;
  if (fields.messageKey !== undefined) {
    out.set(fields.messageKey, o);
    o += PUBLIC_KEY_LENGTH;
  }
  out.set(account, o);
  return out;
}

/** The bytes of one stanza (FORMAT.md §3.2). */
export function encodeStanza(s: RecipientStanza): Uint8Array {
  const out = new Uint8Array(stanzaLength(s.accountId));
  writeStanza(out, 0, s);
  return out;
}

/** Writes a stanza at offset `o` of a header (FORMAT.md §3.2); returns the offset after it. */
export function writeStanza(header: Uint8Array, o: number, s: RecipientStanza): number {
  const id = s.accountId === undefined ? new Uint8Array(0) : ascii(s.accountId);
  header[o] = s.accountId === undefined ? RECIPIENT_NONE : RECIPIENT_ACCOUNT;
  header[o + 1] = id.length;
  header.set(id, o + 2);
  o += 2 + id.length;
  header.set(s.keyId, o);
  const e = o + KEY_ID_LENGTH; // epoch: u32, big-endian
  header[e] = s.epoch >>> 24;
  header[e + 1] = (s.epoch >>> 16) & 0xff;
  header[e + 2] = (s.epoch >>> 8) & 0xff;
  header[e + 3] = s.epoch & 0xff;
  header.set(s.enc, e + 4);
  header.set(s.wrappedKey, e + 4 + ENC_LENGTH);
  return e + 4 + ENC_LENGTH + WRAPPED_KEY_LENGTH;
}

/** A whole header from its preamble fields and stanzas (already in ascending key-id order). */
export function encodeHeader(fields: PreambleFields, stanzas: readonly RecipientStanza[]): Uint8Array {
  const stanzasLength = stanzas.reduce((n, s) => n + stanzaLength(s.accountId), 0);
  const preamble = encodePreamble(fields, stanzas.length, stanzasLength);
  const out = new Uint8Array(preamble.length + stanzasLength);
  out.set(preamble, 0);
  let o = preamble.length;
  for (const s of stanzas) o = writeStanza(out, o, s);
  return out;
}

/**
 * Reads the fixed part of the preamble from the first bytes of an envelope (FORMAT.md §3.1,
 * §6). Returns `undefined` while `bytes` is a correct but incomplete prefix of it: a stream
 * waits for more, a one-shot decoder reports `E_TRUNCATED`. The magic and version are checked
 * as soon as their bytes are there, so garbage fails on its first bytes.
 *
 * @throws SigilError E_FORMAT, E_UNSUPPORTED_VERSION, E_LIMIT, E_BAD_PUBLIC_KEY
 */
export function readFixedPreamble(bytes: Uint8Array): FixedPreamble | undefined {
  const magicPart = Math.min(bytes.length, MAGIC.length);
  for (let i = 0; i < magicPart; i++) {
    if (bytes[i] !== MAGIC[i]) throw formatError('it does not start with the magic bytes "SIGIL"');
  }
  if (bytes.length <= OFFSET_VERSION) return undefined;
  if (bytes[OFFSET_VERSION] !== VERSION) {
    // FORMAT.md §13: version 1 is refused, not read (no v1 envelope was ever released).
    throw new SigilError('E_UNSUPPORTED_VERSION', `Envelope format version ${bytes[OFFSET_VERSION]} is not supported by this SDK (it reads version ${VERSION}).`);
  }
  if (bytes.length < PREAMBLE_FIXED_LENGTH) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, PREAMBLE_FIXED_LENGTH);
  const suite = view.getUint16(OFFSET_SUITE);
  if (suite !== SUITE_ID) {
    throw new SigilError('E_UNSUPPORTED_VERSION', `Envelope suite 0x${suite.toString(16).padStart(4, '0')} is not supported (format v2 has suite 0x0001 only).`);
  }
  const headerLength = view.getUint32(OFFSET_HEADER_LENGTH);
  if (headerLength > MAX_HEADER_LENGTH) {
    throw new SigilError('E_LIMIT', `Envelope header of ${headerLength} bytes is over the limit of ${MAX_HEADER_LENGTH}.`);
  }
  const chunkSize = view.getUint32(OFFSET_CHUNK_SIZE);
  if (!isValidChunkSize(chunkSize)) {
    throw new SigilError('E_LIMIT', `Envelope chunk size ${chunkSize} is outside the limits (a power of two from 1 KiB to 16 MiB).`);
  }
  const segmentChunks = view.getUint16(OFFSET_SEGMENT_CHUNKS);
  if (!isValidSegmentChunks(segmentChunks, chunkSize)) {
    throw new SigilError('E_LIMIT', `Envelope segments of ${segmentChunks} chunks are outside the limits (1 or more, at most 16 MiB).`);
  }
  if (view.getBigUint64(OFFSET_CREATED_AT) > BigInt(MAX_CREATED_AT)) throw formatError('its creation time is not below 2^53');
  checkP256PublicKey(bytes.subarray(OFFSET_SENDER, OFFSET_SENDER + PUBLIC_KEY_LENGTH));
  const signing = bytes[OFFSET_SIGNING];
  if (signing !== SIGNING_SENDER && signing !== SIGNING_MESSAGE_KEY) throw formatError(`its signing mode 0x${signing?.toString(16)} is unknown`);
  const recipientCount = view.getUint16(OFFSET_COUNT);
  if (recipientCount === 0) throw formatError('it has no recipient');
  if (recipientCount > MAX_RECIPIENTS) {
    throw new SigilError('E_LIMIT', `Envelope has ${recipientCount} recipients; the limit is ${MAX_RECIPIENTS}.`);
  }
  const accountLength = bytes[OFFSET_ACCOUNT_LENGTH] as number;
  if (accountLength > MAX_ACCOUNT_ID_LENGTH) {
    throw formatError(`its sender account id is ${accountLength} bytes long (at most ${MAX_ACCOUNT_ID_LENGTH})`);
  }
  const preamble = PREAMBLE_FIXED_LENGTH + (signing === SIGNING_MESSAGE_KEY ? PUBLIC_KEY_LENGTH : 0) + accountLength;
  const least = preamble + recipientCount * STANZA_FIXED_LENGTH;
  const most = preamble + recipientCount * (STANZA_FIXED_LENGTH + MAX_ACCOUNT_ID_LENGTH);
  if (headerLength < least || headerLength > most) throw formatError(`its header length ${headerLength} does not fit ${recipientCount} stanzas`);
  return { headerLength, chunkSize, segmentChunks, signing, recipientCount, preambleLength: preamble };
}

/**
 * Decodes a complete header: `bytes` must be exactly its `header_length` long. Stanzas must be
 * in strictly ascending key-id order (FORMAT.md §3.2), which makes the encoding canonical and
 * rules out two stanzas for one key, and must end exactly at `header_length`.
 *
 * @throws SigilError E_FORMAT (and the codes of {@link readFixedPreamble})
 */
export function decodeHeader(bytes: Uint8Array): EnvelopeHeader {
  const fixed = readFixedPreamble(bytes);
  if (fixed === undefined || bytes.length !== fixed.headerLength) {
    throw new RangeError(`"header" expected the complete header, got length=${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let o = PREAMBLE_FIXED_LENGTH;
  let messageKey: Uint8Array | undefined;
  if (fixed.signing === SIGNING_MESSAGE_KEY) {
    messageKey = bytes.slice(o, o + PUBLIC_KEY_LENGTH);
    checkP256PublicKey(messageKey);
    o += PUBLIC_KEY_LENGTH;
  }
  const accountLength = bytes[OFFSET_ACCOUNT_LENGTH] as number;
  const senderAccountId = accountLength === 0 ? undefined : readAccountId(bytes, o, accountLength, 'sender account id');
  o += accountLength;

  const stanzas: RecipientStanza[] = [];
  let previous: Uint8Array | undefined;
  for (let i = 0; i < fixed.recipientCount; i++) {
    if (bytes.length - o < STANZA_FIXED_LENGTH) throw formatError('its stanzas run past its header length');
    const kind = bytes[o] as number;
    const idLength = bytes[o + 1] as number;
    if (kind === RECIPIENT_NONE ? idLength !== 0 : kind !== RECIPIENT_ACCOUNT || idLength === 0 || idLength > MAX_ACCOUNT_ID_LENGTH) {
      throw formatError(`a stanza has recipient kind 0x${kind.toString(16)} with an id of ${idLength} bytes`);
    }
    if (bytes.length - o < STANZA_FIXED_LENGTH + idLength) throw formatError('its stanzas run past its header length');
    const accountId = kind === RECIPIENT_NONE ? undefined : readAccountId(bytes, o + 2, idLength, 'recipient account id');
    o += 2 + idLength;
    const keyId = bytes.slice(o, o + KEY_ID_LENGTH);
    if (previous !== undefined && compareBytes(previous, keyId) >= 0) {
      throw formatError('its recipient stanzas are not in strictly ascending key-id order');
    }
    previous = keyId;
    const e = o + KEY_ID_LENGTH + 4;
    stanzas.push({
      accountId,
      keyId,
      epoch: view.getUint32(o + KEY_ID_LENGTH),
      enc: bytes.slice(e, e + ENC_LENGTH),
      wrappedKey: bytes.slice(e + ENC_LENGTH, e + ENC_LENGTH + WRAPPED_KEY_LENGTH),
    });
    o = e + ENC_LENGTH + WRAPPED_KEY_LENGTH;
  }
  if (o !== bytes.length) throw formatError('its stanzas end before its header length');
  return {
    ...fixed,
    messageId: bytes.slice(OFFSET_MESSAGE_ID, OFFSET_MESSAGE_ID + MESSAGE_ID_LENGTH),
    createdAt: Number(view.getBigUint64(OFFSET_CREATED_AT)),
    senderPublicKey: bytes.slice(OFFSET_SENDER, OFFSET_SENDER + PUBLIC_KEY_LENGTH),
    messageKey,
    senderAccountId,
    stanzas,
  };
}

function readAccountId(bytes: Uint8Array, o: number, length: number, what: string): string {
  const id = String.fromCharCode(...bytes.subarray(o, o + length));
  if (!isValidAccountId(id)) throw formatError(`its ${what} is not visible ASCII`);
  return id;
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
