// The header of an envelope read on its own, for a relay that must refuse bytes that are not an
// envelope (the directory's mailbox) without holding any key: FORMAT.md §3.1-3.2 and the limits
// of §6, checked exactly as `decrypt` checks them, and nothing decrypted or verified.
import { SigilError } from '../errors.js';
import { decodeHeader, readFixedPreamble, type EnvelopeHeader } from './header.js';

export type { EnvelopeHeader };

/**
 * Parses the header (preamble and recipient stanzas, FORMAT.md §3.1-3.2) at the start of
 * `envelope`. It proves the bytes are shaped like an envelope, not that the envelope is
 * authentic: the signature (§3.3) and the payload are neither read nor checked.
 *
 * @throws SigilError `E_FORMAT` (not a canonical header), `E_UNSUPPORTED_VERSION`, `E_LIMIT`,
 *   `E_BAD_PUBLIC_KEY` (the sender key), `E_TRUNCATED` (the bytes end inside the header).
 * @throws TypeError if `envelope` is not a Uint8Array.
 * @example
 * ```ts
 * const { stanzas } = parseEnvelopeHeader(envelope); // one stanza per recipient
 * ```
 */
export function parseEnvelopeHeader(envelope: Uint8Array): EnvelopeHeader {
  if (!(envelope instanceof Uint8Array)) throw new TypeError(`"envelope" expected Uint8Array, got ${typeof envelope}`);
  const preamble = readFixedPreamble(envelope);
  if (preamble === undefined || envelope.length < preamble.headerLength) {
    throw new SigilError('E_TRUNCATED', 'The envelope ends inside its header: it was truncated.');
  }
  return decodeHeader(envelope.subarray(0, preamble.headerLength));
}
