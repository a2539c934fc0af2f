// Keys a test expects to find on its token by label (a directory's log key, a service's
// agreement key), generated on the token the first time and found again afterwards: a token
// shared by the test files of one worker keeps them.
import type { KeyBackend, KeyRef, KeyUsage } from '@sigil/sdk/backend';

/** A key to have on the token: its CKA_LABEL and what it is for. */
export interface SeedKey {
  readonly label: string;
  readonly usage: KeyUsage;
}

/**
 * `seedKeys(backend, [{ label, usage }, ...]) → Promise<Record<label, KeyRef>>`
 *
 * For each entry, the one key with that label and usage on the token, generated there
 * (`generateKeyPair`) if there is none. Private keys are made inside the token, as in
 * production; nothing is imported.
 *
 * @throws {RangeError} if two entries have the same label.
 * @throws {Error} if the token already holds several keys with one entry's label and usage
 *   (as @sigil/server's log key refuses them: a label names one key).
 * @throws {SigilError} whatever the backend throws (`E_HSM_*`).
 * @example
 * ```ts
 * const { 'directory-log': logKey } = await seedKeys(keys, [{ label: 'directory-log', usage: 'sign' }]);
 * ```
 */
export async function seedKeys(backend: KeyBackend, keys: readonly SeedKey[]): Promise<Record<string, KeyRef>> {
  const labels = new Set<string>();
  for (const { label } of keys) {
    if (labels.has(label)) throw new RangeError(`"keys" expected unique labels, got "${label}" twice`);
    labels.add(label);
  }
  const seeded: Record<string, KeyRef> = {};
  for (const { label, usage } of keys) {
    const found = await backend.listKeys({ label, usage });
    if (found.length > 1) throw new Error(`the token holds ${found.length} ${usage} keys labelled "${label}": keep one`);
    seeded[label] = found[0] ?? (await backend.generateKeyPair({ label, usage }));
  }
  return seeded;
}
