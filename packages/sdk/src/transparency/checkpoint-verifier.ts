// The client's memory of the log: it keeps the last checkpoint it verified and accepts a new one
// only with a consistency proof from it (RFC 9162 §2.1.4), so a directory that rolls back or
// shows two histories is caught the moment a client that saw one sees the other.
import { SigilError } from '../errors.js';
import { equalConstantTime } from '../internal/bytes.js';
import { openCheckpoint, type Checkpoint, type SignedCheckpoint } from './checkpoint.js';
import { hashLeaf } from './hashing.js';
import { verifyConsistency, verifyInclusion } from './proof.js';
import type { LogVerifierKey } from './signed-note.js';

/**
 * Checks that `next` may follow `previous`, the last checkpoint this client trusted.
 *
 * - no previous checkpoint: accepted (trust on first use; the log key is pinned);
 * - smaller size: `E_DIRECTORY_ROLLBACK`;
 * - same size, different root: `E_DIRECTORY_FORK`;
 * - larger size: the consistency proof must connect the roots, else `E_DIRECTORY_FORK`
 *   (the directory signed a tree that does not extend the one it showed before).
 *
 * @throws SigilError `E_DIRECTORY_ROLLBACK`, `E_DIRECTORY_FORK` or `E_DIRECTORY_PROOF` (another
 *   origin; a non-empty proof where none is needed).
 */
export async function checkCheckpointUpdate(
  previous: Checkpoint | undefined,
  next: Checkpoint,
  consistencyProof: readonly Uint8Array[],
): Promise<void> {
  if (previous === undefined) return;
  if (next.origin !== previous.origin) {
    throw new SigilError('E_DIRECTORY_PROOF', 'The checkpoint is from another log.', { detail: 'checkpoint-origin' });
  }
  if (next.size < previous.size) {
    throw new SigilError(
      'E_DIRECTORY_ROLLBACK',
      `The directory showed a log of ${next.size} entries after one of ${previous.size}: it rolled back. Keep the stored checkpoint and report the directory.`,
    );
  }
  if (next.size === previous.size) {
    if (!equalConstantTime(next.rootHash, previous.rootHash)) {
      throw new SigilError('E_DIRECTORY_FORK', 'The directory signed two different logs of the same size: it forked. Report the directory.');
    }
    if (consistencyProof.length !== 0) {
      throw new SigilError('E_DIRECTORY_PROOF', 'Checkpoints of equal size need an empty consistency proof.', { detail: 'proof-length' });
    }
    return;
  }
  if (previous.size === 0) {
    // Every tree extends the empty one; RFC 9162 defines no proof for it.
    if (consistencyProof.length !== 0) {
      throw new SigilError('E_DIRECTORY_PROOF', 'No consistency proof exists from the empty tree.', { detail: 'proof-length' });
    }
    return;
  }
  try {
    await verifyConsistency(previous.size, next.size, consistencyProof, previous.rootHash, next.rootHash);
  } catch (cause) {
    if (!SigilError.is(cause, 'E_DIRECTORY_PROOF')) throw cause;
    throw new SigilError(
      'E_DIRECTORY_FORK',
      'The new checkpoint does not extend the stored one: the directory forked its log. Report the directory.',
      { cause, detail: cause.detail ?? 'consistency' },
    );
  }
}

/**
 * Verifies that `leafData` (a statement's bytes, exactly as served) is leaf `leafIndex` of the
 * tree a verified checkpoint commits to: hashes it as an RFC 9162 leaf and checks the path.
 *
 * @example
 * ```ts
 * const cp = await verifier.update(note, consistencyProof);
 * await verifyLeafInCheckpoint(cp, statement.leafIndex, statement.bytes, statement.proof);
 * ```
 * @throws SigilError `E_DIRECTORY_PROOF` if the leaf is not there.
 */
export async function verifyLeafInCheckpoint(
  checkpoint: Checkpoint,
  leafIndex: number,
  leafData: Uint8Array,
  proof: readonly Uint8Array[],
): Promise<void> {
  await verifyInclusion(leafIndex, checkpoint.size, await hashLeaf(leafData), proof, checkpoint.rootHash);
}

/** Where a client keeps the last checkpoint it trusted: the signed note, as received. */
export interface CheckpointStateStore {
  load(): Promise<string | undefined>;
  save(note: string): Promise<void>;
}

/** A state store in memory, for tests and short-lived processes. */
export class MemoryCheckpointStateStore implements CheckpointStateStore {
  #note: string | undefined;
  async load(): Promise<string | undefined> {
    return this.#note;
  }
  async save(note: string): Promise<void> {
    this.#note = note;
  }
}

export interface CheckpointVerifierOptions {
  /** The pinned log key (from configuration, never from the directory). */
  readonly logKey: LogVerifierKey;
  /** Expected origin line; defaults to the key name. */
  readonly origin?: string | undefined;
  /** Where the last trusted checkpoint is kept; defaults to memory. */
  readonly state?: CheckpointStateStore | undefined;
}

/**
 * Verifies each checkpoint the directory shows against the pinned log key and against the last
 * one trusted, and remembers it.
 *
 * @example
 * ```ts
 * const verifier = new CheckpointVerifier({ logKey, state });
 * const cp = await verifier.update(noteFromServer, consistencyProofFromStoredSize);
 * await verifyInclusion(index, cp.size, leafHash, proof, cp.rootHash);
 * ```
 */
export class CheckpointVerifier {
  readonly #key: LogVerifierKey;
  readonly #origin: string;
  readonly #state: CheckpointStateStore;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: CheckpointVerifierOptions) {
    this.#key = options.logKey;
    this.#origin = options.origin ?? options.logKey.name;
    this.#state = options.state ?? new MemoryCheckpointStateStore();
  }

  /**
   * The last trusted checkpoint, re-verified (the state store is not trusted blindly).
   *
   * @throws SigilError `E_DIRECTORY_PROOF` if the stored note no longer verifies.
   */
  async latest(): Promise<SignedCheckpoint | undefined> {
    const note = await this.#state.load();
    return note === undefined ? undefined : openCheckpoint(note, this.#key, { origin: this.#origin });
  }

  /**
   * Verifies `note` and the consistency proof from the stored checkpoint's size to it, then
   * stores it if it is newer. Updates are serialised, so two concurrent calls cannot both pass
   * against the same stored checkpoint.
   *
   * @throws SigilError `E_DIRECTORY_PROOF`, `E_DIRECTORY_ROLLBACK` or `E_DIRECTORY_FORK`.
   */
  update(note: string, consistencyProof: readonly Uint8Array[]): Promise<SignedCheckpoint> {
    const run = this.#queue.then(async () => {
      const next = await openCheckpoint(note, this.#key, { origin: this.#origin });
      const previous = await this.latest();
      await checkCheckpointUpdate(previous, next, consistencyProof);
      if (previous === undefined || next.size > previous.size) await this.#state.save(note);
      return next;
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
