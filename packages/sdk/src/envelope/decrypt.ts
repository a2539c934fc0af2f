// Envelope decryption (docs/FORMAT.md §7): the one-shot `decrypt` and the header opening it
// shares with `decryptStream`. Order matters and is the spec's: parse, check the sender's
// signature, find and open our stanza, check the payload's key commitment, then each chunk.
import { SigilError } from '../errors.js';
import type { DecryptionKeys, KeyRef } from '../backend/key-backend.js';
import { assertBytes, copyBytes, equalConstantTime, toHex } from '../internal/bytes.js';
import { openBase } from '../internal/hpke.js';
import { CHUNK_HEADER_LENGTH, CHUNK_TAG_LENGTH, createChunkOpener, type ChunkOpener } from '../internal/chunked-aead.js';
import { checkedKeyIdBytes, payloadContext, stanzaAad, stanzaInfo, verifyHeaderSignature } from './binding.js';
import { CONTENT_KEY_LENGTH, MAX_CHUNK_COUNT, SIGNATURE_LENGTH } from './format.js';
import { decodeHeader, readPreamble } from './header.js';

export interface DecryptOptions {
  /**
   * Where the recipient's private agreement keys are: one backend or several (any `KeyBackend`,
   * or anything with `getKey` and `deriveSharedSecret`: decryption needs nothing else). For each
   * stanza, in order, each is asked `getKey(stanza key id)`; the first agree key found is used.
   */
  readonly keys: DecryptionKeys | readonly DecryptionKeys[];
  /**
   * The sender's signing public key (65 bytes) if the caller knows who must have sent it; any
   * other sender gives `E_BAD_SIGNATURE`. The directory layer passes the device key it
   * resolved, with proofs, for the account the message claims to come from.
   */
  readonly expectedSender?: Uint8Array | undefined;
}

/** Who sent an envelope and which of the caller's keys opened it; known before any plaintext. */
export interface EnvelopeParties {
  /**
   * The signing key that signed the header (its signature verified), and the account the
   * sender claims, under that signature (FORMAT.md §3.1). At this layer the claim is only the
   * signer's word: the directory layer checks that the key is a device of that account.
   */
  readonly sender: { readonly keyId: string; readonly publicKey: Uint8Array; readonly accountId: string | undefined };
  /** The recipient stanza that was opened. */
  readonly recipient: { readonly keyId: string; readonly epoch: number };
}

export interface DecryptResult extends EnvelopeParties {
  readonly plaintext: Uint8Array;
}

/** FORMAT.md §8: one message for every payload failure, whatever the code, so it is no oracle. */
export const PAYLOAD_FAILURE_MESSAGE =
  'The envelope payload did not authenticate (altered, truncated or damaged); no plaintext was released.';

/** Re-throws a payload failure with the constant message (the code and cause are kept). */
export function payloadFailure(e: unknown): never {
  if (SigilError.is(e, 'E_AUTH_FAILED', 'E_TRUNCATED', 'E_FORMAT')) {
    throw new SigilError(e.code, PAYLOAD_FAILURE_MESSAGE, { cause: e });
  }
  throw e;
}

export function truncated(): SigilError {
  return new SigilError('E_TRUNCATED', 'The envelope ended before its final chunk: it was truncated.');
}

export interface CheckedDecryptOptions {
  readonly backends: readonly DecryptionKeys[];
  readonly expectedSender: Uint8Array | undefined;
}

export function checkDecryptOptions(options: DecryptOptions): CheckedDecryptOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('"options" expected { keys }');
  const backends: readonly DecryptionKeys[] = Array.isArray(options.keys) ? options.keys : [options.keys as DecryptionKeys];
  if (backends.length === 0) throw new RangeError('"keys" expected at least one KeyBackend');
  for (const [i, b] of backends.entries()) {
    if (typeof b !== 'object' || b === null || typeof b.getKey !== 'function' || typeof b.deriveSharedSecret !== 'function') {
      throw new TypeError(`"keys${Array.isArray(options.keys) ? `[${i}]` : ''}" expected a KeyBackend (getKey and deriveSharedSecret)`);
    }
  }
  let expectedSender: Uint8Array | undefined;
  if (options.expectedSender !== undefined) {
    assertBytes('expectedSender', options.expectedSender, 65);
    expectedSender = copyBytes(options.expectedSender);
  }
  return { backends, expectedSender };
}

/** The result of opening a header: the parties and a payload opener whose commitment checked. */
export interface OpenedHeader extends EnvelopeParties {
  readonly opener: ChunkOpener;
  readonly chunkSize: number;
}

/**
 * FORMAT.md §7 steps 2-6, on owned copies of the header, signature and Cobblestone header.
 * @throws SigilError E_FORMAT, E_UNSUPPORTED_VERSION, E_LIMIT, E_BAD_PUBLIC_KEY, E_BAD_SIGNATURE, E_NOT_RECIPIENT, E_AUTH_FAILED
 */
export async function openHeader(
  headerBytes: Uint8Array,
  signature: Uint8Array,
  payloadHeader: Uint8Array,
  options: CheckedDecryptOptions,
): Promise<OpenedHeader> {
  const header = decodeHeader(headerBytes);
  if (options.expectedSender !== undefined && !equalConstantTime(options.expectedSender, header.senderPublicKey)) {
    throw new SigilError('E_BAD_SIGNATURE', 'The envelope is signed by a key other than the expected sender.');
  }
  // "Check every signature before using what it covers": nothing in the stanzas is touched before this.
  await verifyHeaderSignature(header.senderPublicKey, headerBytes, signature);

  let found: { stanza: (typeof header.stanzas)[number]; backend: DecryptionKeys; ref: KeyRef } | undefined;
  search: for (const stanza of header.stanzas) {
    const id = toHex(stanza.keyId);
    for (const backend of options.backends) {
      const ref = await backend.getKey(id);
      if (ref !== undefined && ref.usage === 'agree') {
        found = { stanza, backend, ref };
        break search;
      }
    }
  }
  if (found === undefined) {
    throw new SigilError('E_NOT_RECIPIENT', 'None of the given keys is a recipient of this envelope.');
  }
  const { stanza, backend, ref } = found;
  const info = stanzaInfo(headerBytes.subarray(0, header.preambleLength));
  const contentKey = await openBase({ backend, ref }, stanza.enc, info, stanzaAad(stanza.keyId, stanza.epoch), stanza.wrappedKey);
  try {
    if (contentKey.length !== CONTENT_KEY_LENGTH) {
      throw new SigilError('E_AUTH_FAILED', PAYLOAD_FAILURE_MESSAGE);
    }
    const context = await payloadContext(headerBytes, signature);
    const opener = await createChunkOpener(contentKey, context, payloadHeader, { chunkSize: header.chunkSize }).catch(payloadFailure);
    return {
      opener,
      chunkSize: header.chunkSize,
      sender: {
        keyId: toHex(await checkedKeyIdBytes(header.senderPublicKey)), // validated by readPreamble
        publicKey: header.senderPublicKey,
        accountId: header.senderAccountId,
      },
      recipient: { keyId: toHex(stanza.keyId), epoch: stanza.epoch },
    };
  } finally {
    contentKey.fill(0);
  }
}

/** FORMAT.md §6: a payload holds at most 2^32 chunks. */
export function checkChunkCount(count: number): void {
  if (count > MAX_CHUNK_COUNT) {
    throw new SigilError('E_LIMIT', 'The envelope payload has more than 2^32 chunks, beyond the format limit.');
  }
}

/**
 * Decrypts a format-v1 envelope with one of the caller's keys. Returns the plaintext only
 * after the sender's signature, the recipient stanza, the payload's key commitment and every
 * chunk have verified; on any failure no plaintext is returned (docs/FORMAT.md §7).
 *
 * @param envelope - the envelope bytes; copied before any await.
 * @throws SigilError `E_FORMAT` not an envelope, or a non-canonical header (FORMAT.md §3).
 * @throws SigilError `E_UNSUPPORTED_VERSION` a version or suite this SDK does not read.
 * @throws SigilError `E_LIMIT` a limit of FORMAT.md §6 exceeded (recipients, chunk size, chunk count).
 * @throws SigilError `E_BAD_PUBLIC_KEY` the sender key or the stanza's `enc` is not a valid P-256 point.
 * @throws SigilError `E_BAD_SIGNATURE` the header signature does not verify, or the sender is not `expectedSender`.
 * @throws SigilError `E_NOT_RECIPIENT` none of `keys` holds a recipient key of this envelope.
 * @throws SigilError `E_AUTH_FAILED` the stanza, the commitment or a chunk did not authenticate
 *   (tampered, dropped, reordered or duplicated chunks, or bytes after the final chunk).
 * @throws SigilError `E_TRUNCATED` the envelope ends before its final chunk.
 * @throws SigilError `E_KEY_*` / `E_HSM*` from a backend that fails.
 *
 * @example
 * ```ts
 * const { plaintext, sender } = await decrypt(envelope, { keys: myBackend });
 * console.log(`from ${sender.keyId}:`, new TextDecoder().decode(plaintext));
 * ```
 */
export async function decrypt(envelope: Uint8Array, options: DecryptOptions): Promise<DecryptResult> {
  assertBytes('envelope', envelope);
  const checked = checkDecryptOptions(options);
  const bytes = copyBytes(envelope);

  const preamble = readPreamble(bytes);
  if (preamble === undefined) throw truncated();
  const payloadStart = preamble.headerLength + SIGNATURE_LENGTH + CHUNK_HEADER_LENGTH;
  if (bytes.length < payloadStart) throw truncated();

  // Cobblestone layout: full chunks of chunkSize + 16 bytes, then one final chunk of 16 ..
  // chunkSize + 15 bytes. Nothing else is a complete payload.
  const cs = preamble.chunkSize;
  const chunksLength = bytes.length - payloadStart;
  const full = Math.floor(chunksLength / (cs + CHUNK_TAG_LENGTH));
  const rest = chunksLength - full * (cs + CHUNK_TAG_LENGTH);
  checkChunkCount(full + 1);

  const headerEnd = preamble.headerLength;
  const opened = await openHeader(
    bytes.subarray(0, headerEnd),
    bytes.subarray(headerEnd, headerEnd + SIGNATURE_LENGTH),
    bytes.subarray(headerEnd + SIGNATURE_LENGTH, payloadStart),
    checked,
  );
  if (rest < CHUNK_TAG_LENGTH) throw truncated();

  const plaintext = new Uint8Array(full * cs + rest - CHUNK_TAG_LENGTH);
  try {
    let o = payloadStart;
    for (let i = 0; i <= full; i++) {
      const end = i < full ? o + cs + CHUNK_TAG_LENGTH : bytes.length;
      const chunk = await opened.opener.open(bytes.subarray(o, end), i === full);
      plaintext.set(chunk, i * cs);
      o = end;
    }
  } catch (e) {
    plaintext.fill(0);
    payloadFailure(e);
  }
  return { plaintext, sender: opened.sender, recipient: opened.recipient };
}
