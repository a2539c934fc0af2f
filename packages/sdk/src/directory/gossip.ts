// Comparing checkpoints between clients ("gossip"): a directory that shows two clients two
// different histories signs two checkpoints that no consistency proof connects. Each client alone
// cannot see the fork; two clients that exchange their checkpoints can (RFC 9162 §8.2, split view).
import { SigilError } from '../errors.js';
import { openCheckpoint, type SignedCheckpoint } from '../transparency/checkpoint.js';
import { checkCheckpointUpdate } from '../transparency/checkpoint-verifier.js';
import { parseLogVerifierKey, type LogVerifierKey } from '../transparency/signed-note.js';

export interface CompareCheckpointsOptions {
  /** The pinned log key (vkey text or parsed), the same one the clients pin. */
  readonly logPublicKey: string | LogVerifierKey;
  /**
   * The RFC 9162 consistency proof from the smaller checkpoint to the larger one, from any
   * source (a directory, a witness). Not needed when both have the same size.
   */
  readonly consistencyProof?: readonly Uint8Array[] | undefined;
}

/** The outcome of a comparison that found no fork. */
export type CheckpointComparison = 'same' | 'first-is-older' | 'second-is-older';

/**
 * Compares two signed checkpoints of the same log, e.g. the ones two clients stored
 * (`DirectoryClient.latestCheckpoint()`): both must verify under the pinned key, and the smaller
 * must be a prefix of the larger (proved by `consistencyProof`).
 *
 * @returns `'same'` (same tree), or which one is older (and consistent with the other).
 * @throws SigilError `E_DIRECTORY_FORK` if the two cannot both be true (same size and different
 *   roots, or a consistency proof that does not connect them); `E_DIRECTORY_PROOF` if a note does
 *   not verify under the pinned key, or sizes differ and no proof is given.
 * @example
 * ```ts
 * const mine = await directory.latestCheckpoint();
 * compareCheckpoints(mine!, notesFromPeer, { logPublicKey, consistencyProof })
 * // or let the directory supply the proof: await directory.compareCheckpoint(noteFromPeer)
 * ```
 */
export async function compareCheckpoints(a: string, b: string, options: CompareCheckpointsOptions): Promise<CheckpointComparison> {
  if (typeof a !== 'string' || typeof b !== 'string') throw new TypeError('checkpoints expected signed-note strings');
  const key = typeof options.logPublicKey === 'string' ? await parseLogVerifierKey(options.logPublicKey) : options.logPublicKey;
  const first = await openCheckpoint(a, key);
  const second = await openCheckpoint(b, key);
  return compareOpened(first, second, options.consistencyProof);
}

/** @internal Both checkpoints already verified. */
export async function compareOpened(
  first: SignedCheckpoint,
  second: SignedCheckpoint,
  consistencyProof: readonly Uint8Array[] | undefined,
): Promise<CheckpointComparison> {
  if (first.size !== second.size && consistencyProof === undefined) {
    throw new SigilError('E_DIRECTORY_PROOF', 'Checkpoints of different sizes need a consistency proof to be compared.', {
      detail: 'proof-missing',
    });
  }
  if (first.size === second.size) {
    await checkCheckpointUpdate(first, second, []);
    return 'same';
  }
  const [older, newer] = first.size < second.size ? [first, second] : [second, first];
  await checkCheckpointUpdate(older, newer, consistencyProof ?? []);
  return older === first ? 'first-is-older' : 'second-is-older';
}
