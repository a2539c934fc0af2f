// The commands on the token's keys: keygen, keys list, keys delete.
import type { KeyRef } from '@sigil/sdk/backend';
import { SigilError } from '@sigil/sdk/errors';
import { ExistsError } from './exists-error.js';
import { formatKey } from './key-text.js';
import type { TokenBackend } from './token.js';

/**
 * Makes the pair `sigil keygen` prints: an agreement key (to receive) and a signing key (to
 * send), both labelled `label`. A label already on the token is refused: a label names one
 * pair, and `--sign-with`/`--key` would then find two keys (the backend allows duplicates).
 * The check and the generation are not one transaction: two keygens of the same label at
 * the same moment can still both succeed, and later commands then refuse the label.
 */
export async function generatePair(backend: TokenBackend, label: string): Promise<string> {
  if ((await backend.listKeys({ label })).length > 0) {
    throw new ExistsError(`a key labelled "${label}" is already on the token (sigil keys list shows it); choose another label`);
  }
  const agree = await backend.generateKeyPair({ usage: 'agree', label });
  const sign = await backend.generateKeyPair({ usage: 'sign', label });
  return `${formatKey('recipient', agree.publicKey)}\n${formatKey('signer', sign.publicKey)}\n`;
}

/**
 * The listing of `sigil keys list` (and of what `sigil keys delete` deleted): per key, a
 * comment line with its label, usage and key id, then its public key in text form. Comments
 * are ignored in key files (docs/FORMAT.md §10), so the listing is itself a key file for
 * --to and --expect-sender. Sorted by label, the recipient key before the signer key.
 */
export function formatListing(keys: readonly KeyRef[]): string {
  const sorted = [...keys].sort((a, b) => compare(a.label, b.label) || compare(a.usage, b.usage) || compare(a.id, b.id));
  return sorted
    .map((ref) => `# ${JSON.stringify(ref.label)} ${ref.usage} ${ref.id}\n${formatKey(ref.usage === 'agree' ? 'recipient' : 'signer', ref.publicKey)}\n`)
    .join('');
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Every key on the token, or those labelled `label`. */
export async function listKeys(backend: TokenBackend, label: string | undefined): Promise<string> {
  return formatListing(await backend.listKeys(label === undefined ? {} : { label }));
}

/**
 * Destroys every key labelled `label` (the pair keygen made) and returns their listing, the
 * last record of their public keys. Envelopes made to a deleted recipient key can no longer
 * be opened by anyone.
 * @throws SigilError `E_KEY_NOT_FOUND` if no key has this label.
 */
export async function deleteKeys(backend: TokenBackend, label: string): Promise<string> {
  const keys = await backend.listKeys({ label });
  if (keys.length === 0) throw new SigilError('E_KEY_NOT_FOUND', `No key labelled "${label}" on the token.`);
  for (const ref of keys) await backend.deleteKey(ref);
  return formatListing(keys);
}
