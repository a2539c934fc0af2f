// Envelope encryption (docs/FORMAT.md §3-5): the one-shot `encrypt` and the header
// preparation it shares with `encryptStream`.
import { SigilError } from '../errors.js';
import type { KeyBackend, KeyRef } from '../backend/key-backend.js';
import { assertBytes, concatBytes, copyBytes, toHex } from '../internal/bytes.js';
import { checkP256PublicKey } from '../internal/p256.js';
import { sealBaseChecked } from '../internal/hpke.js';
import { createChunkSealer, type ChunkSealer } from '../internal/chunked-aead.js';
import { checkSenderPublicKey, checkedKeyIdBytes, payloadContext, randomBytes, signatureInput, stanzaAad, stanzaInfo } from './binding.js';
import { CONTENT_KEY_LENGTH, DEFAULT_CHUNK_SIZE, MAX_CHUNK_COUNT, MAX_RECIPIENTS, SIGNATURE_LENGTH, STANZA_LENGTH, isValidAccountId, isValidChunkSize } from './format.js';
import { compareBytes, encodePreamble, writeStanza } from './header.js';

/** A recipient of an envelope: one public agreement key (an account's or a group's key of one epoch). */
export interface EnvelopeRecipient {
  /** P-256 public key, 65 bytes uncompressed. */
  readonly publicKey: Uint8Array;
  /** The key's epoch (a u32; default 0). Recorded in the stanza so the recipient finds the right key. */
  readonly epoch?: number | undefined;
  /** `keyIdOf(publicKey)`; optional, and if given it must match. */
  readonly id?: string | undefined;
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
  /** The sender's signing key: it signs the header. */
  readonly from: EnvelopeSender;
  /**
   * Plaintext bytes per payload chunk: a power of two from 1 KiB to 16 MiB, default 64 KiB
   * (FORMAT.md §4). Larger chunks cost memory in the streaming decryptor, smaller ones speed.
   */
  readonly chunkSize?: number | undefined;
}

/**
 * TEST-ONLY seam: a source of "random" bytes for the content key, the HPKE ephemeral keys and
 * the payload salt, so the vector script can make deterministic envelopes. Anything but a
 * CSPRNG here destroys confidentiality; production code never passes it.
 */
export type InsecureRandom = (length: number) => Uint8Array;

/** What both encryption paths need once the header is made: its bytes and the payload sealer. */
export interface PreparedEnvelope {
  /** header || signature || Cobblestone header: everything before the first chunk. */
  readonly prefix: Uint8Array;
  readonly sealer: ChunkSealer;
  readonly chunkSize: number;
}

interface CheckedRecipient {
  readonly publicKey: Uint8Array;
  readonly keyId: Uint8Array;
  readonly epoch: number;
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
      // The same key twice is harmless; the same key with two epochs is a caller bug.
      if (seen.epoch !== epoch) throw new TypeError(`"to[${i}]" repeats key ${id} with a different epoch`);
      continue;
    }
    byId.set(id, { publicKey, keyId, epoch });
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
export function checkEncryptOptions(options: EncryptOptions): { chunkSize: number; from: EnvelopeSender } {
  if (typeof options !== 'object' || options === null) throw new TypeError('"options" expected { to, from }');
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!isValidChunkSize(chunkSize)) {
    throw new RangeError(`"chunkSize" expected a power of two from 1024 to 16777216, got ${String(chunkSize)}`);
  }
  if (!Array.isArray(options.to)) throw new TypeError(`"to" expected an array of recipients, got ${typeof options.to}`);
  if (options.to.length === 0) throw new RangeError('"to" expected at least one recipient');
  return { chunkSize, from: checkSender(options.from) };
}

/** Validates options, makes and signs the header, and starts the payload (FORMAT.md §3-5). */
export async function prepareEnvelope(options: EncryptOptions, insecureRandom?: InsecureRandom): Promise<PreparedEnvelope> {
  const { chunkSize, from } = checkEncryptOptions(options);
  const recipients = await checkRecipients(options.to);
  const random = insecureRandom ?? randomBytes;

  const contentKey = random(CONTENT_KEY_LENGTH);
  try {
    const preamble = encodePreamble(chunkSize, copyBytes(from.ref.publicKey), recipients.length, from.accountId);
    const info = stanzaInfo(preamble);
    // Each stanza goes into the header as soon as it is sealed: with hundreds of recipients,
    // holding every sealed stanza until the end is what the GC would pay for.
    const header = new Uint8Array(preamble.length + recipients.length * STANZA_LENGTH);
    header.set(preamble, 0);
    for (let i = 0; i < recipients.length; i++) {
      const r = recipients[i] as CheckedRecipient;
      const sealed = await sealBaseChecked(
        r.publicKey, // validated in checkRecipients, and an owned copy
        info,
        stanzaAad(r.keyId, r.epoch),
        contentKey,
        insecureRandom === undefined ? {} : { ephemeralIkm: insecureRandom(32) },
      );
      writeStanza(header, preamble.length, i, { keyId: r.keyId, epoch: r.epoch, enc: sealed.enc, wrappedKey: sealed.ciphertext });
    }
    const signature = await from.backend.sign(from.ref, signatureInput(header));
    if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_LENGTH) {
      throw new TypeError(`The sender's backend returned a signature of ${String((signature as Uint8Array | undefined)?.length)} bytes; the KeyBackend contract is 64 (IEEE P1363).`);
    }
    const context = await payloadContext(header, signature);
    const sealer = await createChunkSealer(
      contentKey,
      context,
      insecureRandom === undefined ? { chunkSize } : { chunkSize, salt: insecureRandom(24) },
    );
    return { prefix: concatBytes(header, signature, sealer.header), sealer, chunkSize };
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
 * Encrypts `plaintext` to every recipient in `to`, signed by `from`, as one format-v1
 * envelope (docs/FORMAT.md). Each recipient gets one stanza; any one of them can decrypt,
 * and all of them get the same plaintext (the payload is key-committing).
 *
 * @param plaintext - the message; copied before any await.
 * @returns the envelope bytes.
 * @throws SigilError `E_BAD_PUBLIC_KEY` if a recipient key is not an uncompressed P-256 point.
 * @throws SigilError `E_LIMIT` with more than 4096 distinct recipients.
 * @throws SigilError `E_KEY_USAGE` / `E_KEY_NOT_FOUND` (from the backend) if `from.ref` is not a signing key of `from.backend`.
 * @throws TypeError / RangeError on malformed options (no recipient, a bad epoch or chunk size, an `id` that does not match its key).
 *
 * @example
 * ```ts
 * const keys = new WebCryptoKeyBackend();
 * const signer = await keys.generateKeyPair({ usage: 'sign', label: 'me' });
 * const envelope = await encrypt(new TextEncoder().encode('hi'), {
 *   to: [{ publicKey: alicePublicKey, epoch: 3 }],
 *   from: { backend: keys, ref: signer },
 * });
 * ```
 */
export async function encrypt(plaintext: Uint8Array, options: EncryptOptions): Promise<Uint8Array> {
  assertBytes('plaintext', plaintext);
  return encryptInternal(copyBytes(plaintext), options, undefined);
}

/**
 * `encrypt` with the test-only randomness seam (see {@link InsecureRandom}). Not exported from
 * the package: scripts/gen-envelope-vectors.ts imports it to make reproducible vectors.
 */
export async function insecureEncryptWithRandom(
  plaintext: Uint8Array,
  options: EncryptOptions,
  insecureRandom: InsecureRandom,
): Promise<Uint8Array> {
  assertBytes('plaintext', plaintext);
  return encryptInternal(copyBytes(plaintext), options, insecureRandom);
}

async function encryptInternal(plaintext: Uint8Array, options: EncryptOptions, insecureRandom: InsecureRandom | undefined): Promise<Uint8Array> {
  const { prefix, sealer, chunkSize } = await prepareEnvelope(options, insecureRandom);
  // FORMAT.md §4: full chunks of chunkSize, then one final chunk shorter than chunkSize
  // (empty when the length is a multiple of chunkSize).
  const full = Math.floor(plaintext.length / chunkSize);
  checkChunkIndex(full);
  const rest = plaintext.length - full * chunkSize;
  const out = new Uint8Array(prefix.length + full * (chunkSize + 16) + rest + 16);
  out.set(prefix, 0);
  let o = prefix.length;
  for (let i = 0; i <= full; i++) {
    const start = i * chunkSize;
    const { ciphertext, tag } = await sealer.sealDetached(plaintext.subarray(start, i < full ? start + chunkSize : plaintext.length), i === full);
    out.set(ciphertext, o);
    out.set(tag, o + ciphertext.length);
    o += ciphertext.length + tag.length;
  }
  return out;
}
