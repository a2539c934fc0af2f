// Envelope decryption (docs/FORMAT.md §7): the one-shot `decrypt` and the header opening it
// shares with `decryptStream`. Order matters and is the spec's: parse, check the signature that
// covers the header, find and open our stanza, check the payload's key commitment, then check
// each segment's signature before its plaintext is released.
import { SigilError } from '../errors.js';
import type { DecryptionKeys, KeyBackend, KeyRef } from '../backend/key-backend.js';
import { assertBytes, concatBytes, copyBytes, equalConstantTime, toHex } from '../internal/bytes.js';
import { openBase } from '../internal/hpke.js';
import { CHUNK_HEADER_LENGTH, CHUNK_TAG_LENGTH, createChunkOpener, type ChunkOpener } from '../internal/chunked-aead.js';
import { SegmentDigest, checkedKeyIdBytes, headerSignatureInput, payloadContext, segmentSignatureInput, sha256, stanzaAad, stanzaInfo, verifySignature } from './binding.js';
import { CONTENT_KEY_LENGTH, SIGNATURE_LENGTH, SIGNING_MESSAGE_KEY } from './format.js';
import { decodeHeader, readFixedPreamble, type EnvelopeHeader, type RecipientStanza } from './header.js';
import { PAYLOAD_FAILURE_MESSAGE, PayloadReader, checkChunkCount, payloadFailure, truncated } from './payload-reader.js';

export { PAYLOAD_FAILURE_MESSAGE, payloadFailure, truncated, checkChunkCount };

export interface DecryptOptions {
  /**
   * Where the recipient's private agreement keys are: one key source or several (any
   * `KeyBackend`, or anything with `getKey` and `deriveSharedSecret`). A source that has
   * `listKeys` (every `KeyBackend`) is asked once, `listKeys({ usage: 'agree' })`, and its
   * answer MUST include every agreement key its `getKey` would return: one token search per
   * envelope, whatever the number of stanzas. A source without it is asked `getKey(key id)`
   * for each candidate stanza. The first source, in the order given, that holds the key of a
   * candidate stanza opens it (the first such stanza in header order).
   */
  readonly keys: DecryptionKeys | readonly DecryptionKeys[];
  /**
   * The sender's signing public key (65 bytes) if the caller knows who must have sent it; any
   * other sender gives `E_BAD_SIGNATURE`. The directory layer passes the device key it
   * resolved, with proofs, for the account the message claims to come from.
   */
  readonly expectedSender?: Uint8Array | undefined;
  /**
   * The account the caller reads for. Only stanzas that name it are candidates (FORMAT.md
   * §3.2): an envelope that does not name it is `E_NOT_RECIPIENT`, even if one of `keys`
   * opens a stanza that names another account (an envelope sealed "to Mallory" with Bob's key).
   */
  readonly recipientAccountId?: string | undefined;
}

/** One recipient as the signed header lists it (FORMAT.md §3.2). */
export interface EnvelopeRecipientEntry {
  readonly keyId: string;
  readonly epoch: number;
  /** The account the stanza names, bound into its HPKE info; undefined if it names none. */
  readonly accountId: string | undefined;
}

/**
 * Who sent an envelope, to whom, when, and which of the caller's keys opened it; all of it
 * under the sender's signature, known before any plaintext.
 */
export interface EnvelopeParties {
  /**
   * The signing key whose signature covers the header and the ciphertext, and the account the
   * sender claims under that signature (FORMAT.md §3.1). At this layer the claim is only the
   * signer's word: the directory layer checks that the key is a device of that account.
   */
  readonly sender: { readonly keyId: string; readonly publicKey: Uint8Array; readonly accountId: string | undefined };
  /** The recipient stanza that was opened. */
  readonly recipient: EnvelopeRecipientEntry;
  /**
   * FORMAT.md §3.1: the message's random id (32 hex characters) and the sender's clock when it
   * was made (ms since the Unix epoch; the sender's word, not a trusted time), and every
   * recipient the header lists. The account layer refuses an id it has seen (a replay) and
   * checks that the recipients name its account.
   */
  readonly message: { readonly id: string; readonly createdAt: number; readonly recipients: readonly EnvelopeRecipientEntry[] };
}

export interface DecryptResult extends EnvelopeParties {
  readonly plaintext: Uint8Array;
}

export interface CheckedDecryptOptions {
  readonly sources: readonly DecryptionKeys[];
  readonly expectedSender: Uint8Array | undefined;
  readonly recipientAccountId: string | undefined;
}

export function checkDecryptOptions(options: DecryptOptions): CheckedDecryptOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('"options" expected { keys }');
  const sources: readonly DecryptionKeys[] = Array.isArray(options.keys) ? options.keys : [options.keys as DecryptionKeys];
  if (sources.length === 0) throw new RangeError('"keys" expected at least one KeyBackend');
  for (const [i, b] of sources.entries()) {
    if (typeof b !== 'object' || b === null || typeof b.getKey !== 'function' || typeof b.deriveSharedSecret !== 'function') {
      throw new TypeError(`"keys${Array.isArray(options.keys) ? `[${i}]` : ''}" expected a KeyBackend (getKey and deriveSharedSecret)`);
    }
  }
  let expectedSender: Uint8Array | undefined;
  if (options.expectedSender !== undefined) {
    assertBytes('expectedSender', options.expectedSender, 65);
    expectedSender = copyBytes(options.expectedSender);
  }
  const recipientAccountId = options.recipientAccountId;
  if (recipientAccountId !== undefined && typeof recipientAccountId !== 'string') {
    throw new TypeError(`"recipientAccountId" expected string, got ${typeof recipientAccountId}`);
  }
  return { sources, expectedSender, recipientAccountId };
}

/** FORMAT.md §7 step 2: an expected sender is compared before any signature is checked. */
export function checkExpectedSender(header: EnvelopeHeader, options: CheckedDecryptOptions): void {
  if (options.expectedSender !== undefined && !equalConstantTime(options.expectedSender, header.senderPublicKey)) {
    throw new SigilError('E_BAD_SIGNATURE', 'The envelope is signed by a key other than the expected sender.');
  }
}

/** FORMAT.md §7 step 3 (signing 0x02): the sender's signature over the header. */
export async function verifyHeaderSignature(header: EnvelopeHeader, headerBytes: Uint8Array, signature: Uint8Array): Promise<void> {
  await verifySignature(header.senderPublicKey, headerSignatureInput(headerBytes), signature, 'header');
}

type Listing = DecryptionKeys & Partial<Pick<KeyBackend, 'listKeys'>>;

/**
 * FORMAT.md §7 step 4: the stanza to open and the key that opens it. A source that can list
 * its keys is asked once for all of them, then matched against the stanzas locally, so that a
 * PKCS#11 token is searched once per envelope, not once per stanza.
 */
async function findStanza(header: EnvelopeHeader, options: CheckedDecryptOptions): Promise<{ stanza: RecipientStanza; source: DecryptionKeys; ref: KeyRef }> {
  const wanted = options.recipientAccountId;
  const candidates = wanted === undefined ? header.stanzas : header.stanzas.filter((s) => s.accountId === wanted);
  if (candidates.length === 0) {
    throw new SigilError('E_NOT_RECIPIENT', `The envelope is not addressed to ${wanted}: no stanza names that account.`, { detail: 'not-addressed' });
  }
  for (const source of options.sources) {
    const list = (source as Listing).listKeys;
    if (typeof list === 'function') {
      const agree = new Map<string, KeyRef>();
      for (const ref of await list.call(source, { usage: 'agree' })) if (ref.usage === 'agree') agree.set(ref.id, ref);
      for (const stanza of candidates) {
        const ref = agree.get(toHex(stanza.keyId));
        if (ref !== undefined) return { stanza, source, ref };
      }
    } else {
      for (const stanza of candidates) {
        const ref = await source.getKey(toHex(stanza.keyId));
        if (ref !== undefined && ref.usage === 'agree') return { stanza, source, ref };
      }
    }
  }
  throw new SigilError('E_NOT_RECIPIENT', 'None of the given keys is a recipient of this envelope.');
}

const entry = (s: RecipientStanza): EnvelopeRecipientEntry => ({ keyId: toHex(s.keyId), epoch: s.epoch, accountId: s.accountId });

/** The result of opening a header: the parties and a payload opener whose commitment checked. */
export interface OpenedHeader {
  readonly parties: EnvelopeParties;
  readonly opener: ChunkOpener;
}

/**
 * FORMAT.md §7 steps 4-5, once the signature over the header has verified: finds and opens our
 * stanza, checks the payload's key commitment.
 * @throws SigilError E_NOT_RECIPIENT, E_BAD_PUBLIC_KEY, E_AUTH_FAILED, backend codes
 */
export async function openStanza(header: EnvelopeHeader, headerBytes: Uint8Array, payloadHeader: Uint8Array, options: CheckedDecryptOptions): Promise<OpenedHeader> {
  const { stanza, source, ref } = await findStanza(header, options);
  const info = stanzaInfo(headerBytes.subarray(0, header.preambleLength), stanza.accountId);
  const contentKey = await openBase({ backend: source, ref }, stanza.enc, info, stanzaAad(stanza.keyId, stanza.epoch), stanza.wrappedKey);
  try {
    if (contentKey.length !== CONTENT_KEY_LENGTH) throw new SigilError('E_AUTH_FAILED', PAYLOAD_FAILURE_MESSAGE);
    const opener = await createChunkOpener(contentKey, await payloadContext(headerBytes), payloadHeader, { chunkSize: header.chunkSize }).catch(payloadFailure);
    return {
      opener,
      parties: {
        sender: {
          keyId: toHex(await checkedKeyIdBytes(header.senderPublicKey)), // validated by readFixedPreamble
          publicKey: header.senderPublicKey,
          accountId: header.senderAccountId,
        },
        recipient: entry(stanza),
        message: { id: toHex(header.messageId), createdAt: header.createdAt, recipients: header.stanzas.map(entry) },
      },
    };
  } finally {
    contentKey.fill(0);
  }
}

/** FORMAT.md §4.1: the longest payload of a sender-signed (0x01) envelope: one segment. */
export function maxWholePayloadLength(header: EnvelopeHeader): number {
  const full = header.chunkSize + CHUNK_TAG_LENGTH;
  return CHUNK_HEADER_LENGTH + (header.segmentChunks - 1) * full + (full - 1) + SIGNATURE_LENGTH;
}

/**
 * FORMAT.md §7 for signing 0x01: the payload is one segment whose signature, by the sender,
 * covers the header too. It is checked first; then the stanza is opened and the chunks.
 * `payload` is everything after the header.
 */
export async function decryptWhole(header: EnvelopeHeader, headerBytes: Uint8Array, payload: Uint8Array, options: CheckedDecryptOptions): Promise<DecryptResult> {
  if (payload.length < CHUNK_HEADER_LENGTH + CHUNK_TAG_LENGTH + SIGNATURE_LENGTH) throw truncated();
  if (payload.length > maxWholePayloadLength(header)) {
    throw new SigilError('E_FORMAT', 'This is not a valid Sigil envelope: a sender-signed payload holds one segment, and this one is longer.');
  }
  const payloadHeader = payload.subarray(0, CHUNK_HEADER_LENGTH);
  const chunks = payload.subarray(CHUNK_HEADER_LENGTH, payload.length - SIGNATURE_LENGTH);
  const cs = header.chunkSize;
  const fullLength = cs + CHUNK_TAG_LENGTH;
  const full = Math.floor(chunks.length / fullLength);
  const rest = chunks.length - full * fullLength;
  if (rest < CHUNK_TAG_LENGTH) throw truncated();
  const cut = (i: number): Uint8Array => chunks.subarray(i * fullLength, i < full ? (i + 1) * fullLength : chunks.length);

  const digest = new SegmentDigest(header.segmentChunks);
  for (let i = 0; i <= full; i++) {
    const c = cut(i);
    await digest.add(c.subarray(0, c.length - CHUNK_TAG_LENGTH), c.subarray(c.length - CHUNK_TAG_LENGTH));
  }
  const input = segmentSignatureInput(await sha256(headerBytes), payloadHeader, 0, true, await digest.finish());
  await verifySignature(header.senderPublicKey, input, payload.subarray(payload.length - SIGNATURE_LENGTH), 'sender');

  const { opener, parties } = await openStanza(header, headerBytes, payloadHeader, options);
  const plaintext = new Uint8Array(full * cs + rest - CHUNK_TAG_LENGTH);
  try {
    for (let i = 0; i <= full; i++) plaintext.set(await opener.open(cut(i), i === full), i * cs);
  } catch (e) {
    plaintext.fill(0);
    payloadFailure(e);
  }
  return { plaintext, ...parties };
}

/**
 * Decrypts a format-v2 envelope with one of the caller's keys. Returns the plaintext only
 * after the signatures that cover the header and every segment of the ciphertext, the
 * recipient stanza, the payload's key commitment and every chunk have verified; on any failure
 * no plaintext is returned (docs/FORMAT.md §7). Every plaintext byte returned is the sender's:
 * another recipient, who also holds the content key, cannot make a payload that verifies.
 *
 * @param envelope - the envelope bytes; copied before any await.
 * @throws SigilError `E_FORMAT` not an envelope, or a non-canonical header (FORMAT.md §3).
 * @throws SigilError `E_UNSUPPORTED_VERSION` a version (v1 included) or suite this SDK does not read.
 * @throws SigilError `E_LIMIT` a limit of FORMAT.md §6 exceeded (recipients, chunk or segment size, chunk count).
 * @throws SigilError `E_BAD_PUBLIC_KEY` the sender key, message key or the stanza's `enc` is not a valid P-256 point.
 * @throws SigilError `E_BAD_SIGNATURE` a signature does not verify (the header, a segment, or a
 *   payload another recipient re-made), or the sender is not `expectedSender`.
 * @throws SigilError `E_NOT_RECIPIENT` none of `keys` holds a recipient key of this envelope,
 *   or no stanza names `recipientAccountId` (`detail: 'not-addressed'`).
 * @throws SigilError `E_AUTH_FAILED` the stanza, the commitment or a chunk did not authenticate
 *   (tampered, dropped, reordered or duplicated chunks, or bytes after the final chunk).
 * @throws SigilError `E_TRUNCATED` the envelope ends before its final segment.
 * @throws SigilError `E_KEY_*` / `E_HSM*` from a backend that fails.
 *
 * @example
 * ```ts
 * const { plaintext, sender, message } = await decrypt(envelope, { keys: myBackend, recipientAccountId: 'bob@example.com' });
 * console.log(`from ${sender.keyId} at ${new Date(message.createdAt).toISOString()}:`, new TextDecoder().decode(plaintext));
 * ```
 */
export async function decrypt(envelope: Uint8Array, options: DecryptOptions): Promise<DecryptResult> {
  assertBytes('envelope', envelope);
  const checked = checkDecryptOptions(options);
  const bytes = copyBytes(envelope);

  const fixed = readFixedPreamble(bytes);
  if (fixed === undefined || bytes.length < fixed.headerLength) throw truncated();
  const headerBytes = bytes.subarray(0, fixed.headerLength);
  const header = decodeHeader(headerBytes);
  checkExpectedSender(header, checked);
  if (header.signing !== SIGNING_MESSAGE_KEY) return decryptWhole(header, headerBytes, bytes.subarray(fixed.headerLength), checked);

  const h = fixed.headerLength;
  const payloadStart = h + SIGNATURE_LENGTH + CHUNK_HEADER_LENGTH;
  if (bytes.length < payloadStart) throw truncated();
  await verifyHeaderSignature(header, headerBytes, bytes.subarray(h, h + SIGNATURE_LENGTH));
  const payloadHeader = bytes.subarray(h + SIGNATURE_LENGTH, payloadStart);
  const { opener, parties } = await openStanza(header, headerBytes, payloadHeader, checked);
  const pieces: Uint8Array[] = [];
  const reader = new PayloadReader({
    opener,
    chunkSize: header.chunkSize,
    segmentChunks: header.segmentChunks,
    segmentKey: header.messageKey as Uint8Array,
    headerDigest: await sha256(headerBytes),
    payloadHeader,
    release: (p) => pieces.push(p),
  });
  try {
    await reader.feed(bytes.subarray(payloadStart));
    await reader.finish();
  } catch (e) {
    for (const p of pieces) p.fill(0);
    throw e;
  }
  return { plaintext: concatBytes(...pieces), ...parties };
}
