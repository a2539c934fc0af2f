// The text form of public keys for the CLI (docs/FORMAT.md §10):
//   sigil-recipient-v1:<base64url of the 65-byte point>   (agreement key, to encrypt to)
//   sigil-signer-v1:<base64url of the 65-byte point>      (signing key, to check a sender)
import { checkP256PublicKey } from '@sigil/sdk/backend';
import { SigilError } from '@sigil/sdk/errors';
import { UsageError } from './usage-error.js';

export const RECIPIENT_PREFIX = 'sigil-recipient-v1:';
export const SIGNER_PREFIX = 'sigil-signer-v1:';

export type KeyKind = 'recipient' | 'signer';

const PREFIX: Record<KeyKind, string> = { recipient: RECIPIENT_PREFIX, signer: SIGNER_PREFIX };

/** FORMAT.md §10: the text form of a validated public key. */
export function formatKey(kind: KeyKind, publicKey: Uint8Array): string {
  checkP256PublicKey(publicKey);
  return PREFIX[kind] + Buffer.from(publicKey).toString('base64url');
}

/** Whether `text` looks like a key of this kind (prefix only). */
export function isKeyText(kind: KeyKind, text: string): boolean {
  return text.startsWith(PREFIX[kind]);
}

/**
 * Parses one key (FORMAT.md §10). A wrong prefix or encoding is a usage error (exit 2); a
 * well-formed string that is not a point on P-256 is `E_BAD_PUBLIC_KEY` (exit 1).
 */
export function parseKey(kind: KeyKind, text: string): Uint8Array {
  const prefix = PREFIX[kind];
  if (!text.startsWith(prefix)) throw new UsageError(`expected a key starting with "${prefix}", got "${text.slice(0, 24)}..."`);
  const bytes = fromBase64Url(text.slice(prefix.length));
  if (bytes === undefined || bytes.length !== 65) {
    throw new SigilError('E_BAD_PUBLIC_KEY', `"${text.slice(0, 24)}..." is not a 65-byte public key in base64url.`);
  }
  checkP256PublicKey(bytes);
  return bytes;
}

/**
 * Parses a keys file: one key per line; empty lines and `#` comments ignored. Signer lines are
 * skipped when reading recipients (and recipient lines when reading signers), so the output of
 * `sigil keygen` can be used as either file.
 */
export function parseKeyFile(kind: KeyKind, text: string, name: string): Uint8Array[] {
  const other: KeyKind = kind === 'recipient' ? 'signer' : 'recipient';
  const keys: Uint8Array[] = [];
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || isKeyText(other, line)) continue;
    if (!isKeyText(kind, line)) throw new UsageError(`${name}:${i + 1}: expected a key starting with "${PREFIX[kind]}"`);
    keys.push(parseKey(kind, line));
  }
  if (keys.length === 0) throw new UsageError(`${name}: no ${kind} key in the file`);
  return keys;
}

/**
 * Strict RFC 4648 §5 base64url: only the URL alphabet, no padding, canonical trailing bits
 * (FORMAT.md §10 requires rejecting anything else). Node's decoder alone is lenient: it skips
 * characters outside the alphabet and ignores non-zero trailing bits, so the encoding of the
 * decoded bytes must give back the input.
 */
function fromBase64Url(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  if (bytes.toString('base64url') !== text) return undefined;
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
