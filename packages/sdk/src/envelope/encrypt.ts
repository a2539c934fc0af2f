// Envelope encryption (docs/FORMAT.md §3-5): the one-shot `encrypt`, and the header
// preparation and segment signing it shares with `encryptStream`.
import { SigilError } from '../errors.js';
import type { KeyBackend, KeyRef } from '../backend/key-backend.js';
import { assertBytes, concatBytes, copyBytes, toHex } from '../internal/bytes.js';
import { checkP256PublicKey } from '../internal/p256.js';
import { sealBaseChecked } from '../internal/hpke.js';
import { CHUNK_TAG_LENGTH, createChunkSealer, type ChunkSealer } from '../internal/chunked-aead.js';
import {
  SegmentDigest,
  checkSenderPublicKey,
  checkedKeyIdBytes,
  headerSignatureInput,
  payloadContext,
  randomBytes,
  segmentSignatureInput,
  sha256,
  stanzaAad,
  stanzaInfo,
  toLowS,
} from './binding.js';
import {
  CONTENT_KEY_LENGTH,
  DEFAULT_CHUNK_SIZE,
  MAX_CHUNK_COUNT,
  MAX_CREATED_AT,
  MAX_RECIPIENTS,
  MESSAGE_ID_LENGTH,
  SIGNATURE_LENGTH,
  defaultSegmentChunks,
  isValidAccountId,
  isValidChunkSize,
  isValidSegmentChunks,
} from './format.js';
import { compareBytes, encodePreamble, stanzaLength, writeStanza, type PreambleFields } from './header.js';
import { generateMessageKey, insecureMessageKeyFromScalar, type MessageKey, type SegmentSigner } from './message-key.js';

/** A recipient of an envelope: one public agreement key (an account's or a group's key of one epoch). */
export interface EnvelopeRecipient {
  /** P-256 public key, 65 bytes uncompressed. */
  readonly publicKey: Uint8Array;
  /** The key's epoch (a u32; default 0). Recorded in the stanza so the recipient finds the right key. */
  readonly epoch?: number | undefined;
  /** `keyIdOf(publicKey)`; optional, and if given it must match. */
  readonly id?: string | undefined;
  /**
   * The account this key belongs to (1 to 128 visible ASCII characters). Written into the
   * stanza, bound into its HPKE info and listed in the signed header (FORMAT.md §3.2, §5.2), so
   * that the recipient can check the envelope was addressed to it. Callers acting for accounts
   * MUST give it; a bare key (the CLI) has none.
   */
  readonly accountId?: string | undefined;
}

/** The sender: a signing key in a backend, and optionally the account it sends for. */
export interface EnvelopeSender {
  readonly backend: KeyBackend;
  readonly ref: KeyRef;
  /**
   * The sender's account id (1 to 128 visible ASCII characters), written into the signed header
   * (FORMAT.md §3.1) so that a recipient can check the key against that account's devices, and
   * a valid signature cannot be passed off as coming from another account.
   */
  readonly accountId?: string | undefined;
}

export interface EncryptOptions {
  /** One to 4096 recipients (FORMAT.md §6); duplicates of the same key and epoch count once. */
  readonly to: readonly EnvelopeRecipient[];
  /** The sender's signing key: it signs once per message (FORMAT.md §5). */
  readonly from: EnvelopeSender;
  /**
   * Plaintext bytes per payload chunk: a power of two from 1 KiB to 16 MiB, default 64 KiB
   * (FORMAT.md §4). Larger chunks cost memory in the streaming decryptor, smaller ones speed.
   */
  readonly chunkSize?: number | undefined;
  /**
   * Plaintext bytes per signed segment (FORMAT.md §4.1): a multiple of `chunkSize`, at most
   * 16 MiB and 65535 chunks; default 1 MiB (or one chunk if chunks are larger). A streaming
   * reader holds back up to one segment before its signature verifies.
   */
  readonly segmentSize?: number | undefined;
}

/**
 * TEST-ONLY seam: a source of "random" bytes for the content key, message id, message key,
 * HPKE ephemeral keys and payload salt, and a clock, so the vector script can make
 * deterministic envelopes. Anything but a CSPRNG here destroys confidentiality; production
 * code never passes it.
 */
export type InsecureRandom = (length: number) => Uint8Array;

interface Seams {
  readonly random: InsecureRandom | undefined;
  readonly now: () => number;
}

/**
 * Seals chunks and signs each segment as it completes (FORMAT.md §4.1, §5.4): every chunk's
 * ciphertext is hashed as it leaves, and the segment's signature follows its last chunk.
 */
export class SegmentWriter {
  readonly #sealer: ChunkSealer;
  readonly #signer: SegmentSigner;
  readonly #headerDigest: Uint8Array;
  readonly #payloadHeader: Uint8Array;
  readonly #segmentChunks: number;
  readonly #digest: SegmentDigest;
  readonly #single: boolean;
  #segment = 0;
  #chunks = 0;

  constructor(sealer: ChunkSealer, signer: SegmentSigner, headerDigest: Uint8Array, payloadHeader: Uint8Array, segmentChunks: number, single: boolean) {
    this.#sealer = sealer;
    this.#signer = signer;
    this.#headerDigest = headerDigest;
    this.#payloadHeader = payloadHeader;
    this.#segmentChunks = segmentChunks;
    this.#digest = new SegmentDigest(segmentChunks);
    this.#single = single;
  }

  /** Seals the next chunk; returns the pieces to write in order: ciphertext, tag, and a segment signature after a segment's last chunk. */
  async seal(chunk: Uint8Array, isFinal: boolean): Promise<Uint8Array[]> {
    checkChunkIndex(this.#chunks++);
    const { ciphertext, tag } = await this.#sealer.sealDetached(chunk, isFinal);
    await this.#digest.add(ciphertext, tag);
    const pieces = ciphertext.length > 0 ? [ciphertext, tag] : [tag];
    if (isFinal || this.#digest.count === this.#segmentChunks) {
      // Signing 0x01 has exactly one segment (FORMAT.md §4.1): the encoder chose it for a message that fits.
      if (this.#single && !isFinal) throw new RangeError('a sender-signed envelope holds one segment');
      const input = segmentSignatureInput(this.#headerDigest, this.#payloadHeader, this.#segment++, isFinal, await this.#digest.finish());
      pieces.push(await this.#signer.sign(input));
    }
    return pieces;
  }
}

/** What both encryption paths need once the header is made. */
export interface PreparedEnvelope {
  /** header || header signature (signing 0x02) || salt || commitment: everything before the first chunk. */
  readonly prefix: Uint8Array;
  readonly writer: SegmentWriter;
  readonly chunkSize: number;
  readonly segmentChunks: number;
}

interface CheckedRecipient {
  readonly publicKey: Uint8Array;
  readonly keyId: Uint8Array;
  readonly epoch: number;
  readonly accountId: string | undefined;
}

async function checkRecipients(to: unknown): Promise<CheckedRecipient[]> {
  if (!Array.isArray(to)) throw new TypeError(`"to" expected an array of recipients, got ${typeof to}`);
  if (to.length === 0) throw new RangeError('"to" expected at least one recipient');
  const byId = new Map<string, CheckedRecipient>();
  for (let i = 0; i < to.length; i++) {
    const r = to[i] as EnvelopeRecipient | null | undefined;
    if (typeof r !== 'object' || r === null) throw new TypeError(`"to[${i}]" expected an object`);
    assertBytes(`to[${i}].publicKey`, r.publicKey);
    const publicKey = copyBytes(r.publicKey);
    const epoch = r.epoch ?? 0;
    if (!Number.isInteger(epoch) || epoch < 0 || epoch > 0xffffffff) {
      throw new RangeError(`"to[${i}].epoch" expected an integer in 0..2^32-1, got ${String(epoch)}`);
    }
    const accountId = r.accountId;
    if (accountId !== undefined && (typeof accountId !== 'string' || !isValidAccountId(accountId))) {
      throw new RangeError(`"to[${i}].accountId" expected 1 to 128 visible ASCII characters (0x21-0x7e)`);
    }
    // The one validation of this key in this encryption (E_BAD_PUBLIC_KEY): the stanza's seal
    // below trusts it (sealBaseChecked) rather than validating each key a second time.
    checkP256PublicKey(publicKey);
    const keyId = await checkedKeyIdBytes(publicKey);
    const id = toHex(keyId);
    if (r.id !== undefined && r.id !== id) {
      throw new TypeError(`"to[${i}].id" is ${String(r.id)} but keyIdOf(publicKey) is ${id}`);
    }
    const seen = byId.get(id);
    if (seen !== undefined) {
      // The same key twice is harmless; the same key with two epochs or accounts is a caller bug.
      if (seen.epoch !== epoch) throw new TypeError(`"to[${i}]" repeats key ${id} with a different epoch`);
      if (seen.accountId !== accountId) throw new TypeError(`"to[${i}]" repeats key ${id} with a different account`);
      continue;
    }
    byId.set(id, { publicKey, keyId, epoch, accountId });
    if (byId.size > MAX_RECIPIENTS) {
      throw new SigilError('E_LIMIT', `An envelope has at most ${MAX_RECIPIENTS} distinct recipients; got more. Send to a group instead.`);
    }
  }
  // FORMAT.md §3.2: stanzas in ascending key-id order, the canonical order.
  return [...byId.values()].sort((a, b) => compareBytes(a.keyId, b.keyId));
}

function checkSender(from: unknown): EnvelopeSender {
  if (typeof from !== 'object' || from === null) throw new TypeError('"from" expected { backend, ref }');
  const { backend, ref, accountId } = from as EnvelopeSender;
  if (accountId !== undefined && (typeof accountId !== 'string' || !isValidAccountId(accountId))) {
    throw new RangeError('"from.accountId" expected 1 to 128 visible ASCII characters (0x21-0x7e)');
  }
  if (typeof backend !== 'object' || backend === null || typeof backend.sign !== 'function') {
    throw new TypeError('"from.backend" expected a KeyBackend');
  }
  if (typeof ref !== 'object' || ref === null) throw new TypeError('"from.ref" expected a KeyRef');
  assertBytes('from.ref.publicKey', ref.publicKey, 65);
  checkSenderPublicKey(ref.publicKey);
  if (ref.usage !== 'sign') {
    throw new SigilError('E_KEY_USAGE', `Key ${ref.id} is an ${String(ref.usage)} key; the sender of an envelope signs with a sign key.`);
  }
  return { backend, ref, accountId };
}

/** The synchronous part of option checking (the recipients' key ids need an await). */
export function checkEncryptOptions(options: EncryptOptions): { chunkSize: number; segmentChunks: number; from: EnvelopeSender } {
  if (typeof options !== 'object' || options === null) throw new TypeError('"options" expected { to, from }');
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!isValidChunkSize(chunkSize)) {
    throw new RangeError(`"chunkSize" expected a power of two from 1024 to 16777216, got ${String(chunkSize)}`);
  }
  const segmentChunks = options.segmentSize === undefined ? defaultSegmentChunks(chunkSize) : options.segmentSize / chunkSize;
  if (!isValidSegmentChunks(segmentChunks, chunkSize)) {
    throw new RangeError(`"segmentSize" expected a multiple of chunkSize, at most 16 MiB and 65535 chunks, got ${String(options.segmentSize)}`);
  }
  if (!Array.isArray(options.to)) throw new TypeError(`"to" expected an array of recipients, got ${typeof options.to}`);
  if (options.to.length === 0) throw new RangeError('"to" expected at least one recipient');
  return { chunkSize, segmentChunks, from: checkSender(options.from) };
}

/** The sender's signature through its backend, checked against the KeyBackend contract and put in low-S form (FORMAT.md §3.3). */
async function senderSignature(from: EnvelopeSender, message: Uint8Array): Promise<Uint8Array> {
  const signature = await from.backend.sign(from.ref, message);
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_LENGTH) {
    throw new TypeError(`The sender's backend returned a signature of ${String((signature as Uint8Array | undefined)?.length)} bytes; the KeyBackend contract is 64 (IEEE P1363).`);
  }
  return toLowS(signature);
}

/**
 * Validates options, makes the header (signed at once with a message key, signing 0x02, or by
 * the segment signature at the end, signing 0x01) and starts the payload (FORMAT.md §3-5).
 */
export async function prepareEnvelope(options: EncryptOptions, withMessageKey: boolean, seams: Seams = { random: undefined, now: Date.now }): Promise<PreparedEnvelope> {
  const { chunkSize, segmentChunks, from } = checkEncryptOptions(options);
  const recipients = await checkRecipients(options.to);
  const insecure = seams.random;
  const random = insecure ?? randomBytes;
  const createdAt = seams.now();
  if (!Number.isInteger(createdAt) || createdAt < 0 || createdAt > MAX_CREATED_AT) throw new RangeError(`the clock gave ${createdAt}`);

  const contentKey = random(CONTENT_KEY_LENGTH);
  try {
    const messageId = random(MESSAGE_ID_LENGTH);
    let messageKey: MessageKey | undefined;
    if (withMessageKey) messageKey = insecure === undefined ? await generateMessageKey() : insecureMessageKeyFromScalar(insecure(32));
    const fields: PreambleFields = {
      chunkSize,
      segmentChunks,
      messageId,
      createdAt,
      senderPublicKey: copyBytes(from.ref.publicKey),
      messageKey: messageKey?.publicKey,
      senderAccountId: from.accountId,
    };
    const stanzasLength = recipients.reduce((n, r) => n + stanzaLength(r.accountId), 0);
    const preamble = encodePreamble(fields, recipients.length, stanzasLength);
    // Each stanza goes into the header as soon as it is sealed: with hundreds of recipients,
    // holding every sealed stanza until the end is what the GC would pay for.
    const header = new Uint8Array(preamble.length + stanzasLength);
    header.set(preamble, 0);
    let o = preamble.length;
    for (const r of recipients) {
      const sealed = await sealBaseChecked(
        r.publicKey, // validated in checkRecipients, and an owned copy
        stanzaInfo(preamble, r.accountId),
        stanzaAad(r.keyId, r.epoch),
        contentKey,
        insecure === undefined ? {} : { ephemeralIkm: insecure(32) },
      );
      o = writeStanza(header, o, { accountId: r.accountId, keyId: r.keyId, epoch: r.epoch, enc: sealed.enc, wrappedKey: sealed.ciphertext });
    }
    const headerSignature = messageKey === undefined ? new Uint8Array(0) : await senderSignature(from, headerSignatureInput(header));
    const sealer = await createChunkSealer(
      contentKey,
      await payloadContext(header),
      insecure === undefined ? { chunkSize } : { chunkSize, salt: insecure(24) },
    );
    const signer: SegmentSigner = messageKey ?? { sign: (m) => senderSignature(from, m) };
    const writer = new SegmentWriter(sealer, signer, await sha256(header), sealer.header, segmentChunks, messageKey === undefined);
    return { prefix: concatBytes(header, headerSignature, sealer.header), writer, chunkSize, segmentChunks };
  } finally {
    contentKey.fill(0);
  }
}

/** FORMAT.md §6: the chunk counter must stay below 2^32. */
export function checkChunkIndex(index: number): void {
  if (index >= MAX_CHUNK_COUNT) {
    throw new SigilError('E_LIMIT', `A payload has at most 2^32 chunks; use a larger chunk size or split the message.`);
  }
}

/**
 * Encrypts `plaintext` to every recipient in `to`, signed by `from`, as one format-v2
 * envelope (docs/FORMAT.md). Each recipient gets one stanza naming its account; any one of
 * them can decrypt, all of them get the same plaintext (the payload is key-committing), and
 * none of them can pass off another plaintext as the sender's: the sender's key signs a digest
 * of the ciphertext (FORMAT.md §5.4). A message shorter than one segment (1 MiB by default) is
 * signed by `from` alone, once; a longer one through a per-message key that `from` signs once.
 *
 * @param plaintext - the message; copied before any await.
 * @returns the envelope bytes.
 * @throws SigilError `E_BAD_PUBLIC_KEY` if a recipient key is not an uncompressed P-256 point.
 * @throws SigilError `E_LIMIT` with more than 4096 distinct recipients.
 * @throws SigilError `E_KEY_USAGE` / `E_KEY_NOT_FOUND` (from the backend) if `from.ref` is not a signing key of `from.backend`.
 * @throws TypeError / RangeError on malformed options (no recipient, a bad epoch, account id,
 *   chunk or segment size, an `id` that does not match its key).
 *
 * @example
 * ```ts
 * const keys = new WebCryptoKeyBackend();
 * const signer = await keys.generateKeyPair({ usage: 'sign', label: 'me' });
 * const envelope = await encrypt(new TextEncoder().encode('hi'), {
 *   to: [{ publicKey: bobPublicKey, epoch: 3, accountId: 'bob@example.com' }],
 *   from: { backend: keys, ref: signer, accountId: 'alice@example.com' },
 * });
 * ```
 */
export async function encrypt(plaintext: Uint8Array, options: EncryptOptions): Promise<Uint8Array> {
  assertBytes('plaintext', plaintext);
  return encryptInternal(copyBytes(plaintext), options, { random: undefined, now: Date.now });
}

/**
 * `encrypt` with the test-only randomness and clock seams (see {@link InsecureRandom}). Not
 * exported from the package: packages/sdk/scripts/gen-envelope-vectors.ts imports it to make reproducible
 * vectors.
 */
export async function insecureEncryptWithRandom(
  plaintext: Uint8Array,
  options: EncryptOptions,
  insecureRandom: InsecureRandom,
  createdAt: number,
): Promise<Uint8Array> {
  assertBytes('plaintext', plaintext);
  return encryptInternal(copyBytes(plaintext), options, { random: insecureRandom, now: () => createdAt });
}

async function encryptInternal(plaintext: Uint8Array, options: EncryptOptions, seams: Seams): Promise<Uint8Array> {
  const { chunkSize, segmentChunks } = checkEncryptOptions(options);
  // FORMAT.md §4.1: one segment (a plaintext shorter than a segment) is signed by the sender
  // itself; more go through a message key, so that a stream reader never holds more than one.
  const { prefix, writer } = await prepareEnvelope(options, plaintext.length >= segmentChunks * chunkSize, seams);
  // FORMAT.md §4: full chunks of chunkSize, then one final chunk shorter than chunkSize
  // (empty when the length is a multiple of chunkSize).
  const full = Math.floor(plaintext.length / chunkSize);
  checkChunkIndex(full);
  const segments = Math.ceil((full + 1) / segmentChunks);
  const out = new Uint8Array(prefix.length + plaintext.length + (full + 1) * CHUNK_TAG_LENGTH + segments * SIGNATURE_LENGTH);
  out.set(prefix, 0);
  let o = prefix.length;
  for (let i = 0; i <= full; i++) {
    const start = i * chunkSize;
    for (const piece of await writer.seal(plaintext.subarray(start, i < full ? start + chunkSize : plaintext.length), i === full)) {
      out.set(piece, o);
      o += piece.length;
    }
  }
  return out;
}
