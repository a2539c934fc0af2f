// The server's view of the transparency log: roots, inclusion and consistency proofs computed
// from the complete-subtree hashes the store keeps (tree math: @sigil/sdk/transparency), and checkpoints signed by the
// log key through a KeyBackend (a PKCS#11 token, or a software key as the embedded default).
import type { KeyBackend, KeyRef } from '@sigil/sdk/backend';
import { SigilError } from '@sigil/sdk/errors';
import {
  HASH_SIZE,
  consistencyPlan,
  foldRange,
  inclusionPlan,
  logVerifierKey,
  parseCheckpointText,
  parseNote,
  rangeKeys,
  signCheckpoint,
  type LogVerifierKey,
  type Plan,
} from '@sigil/sdk/transparency';
import type { CheckpointRecord, Store } from '../store/store.js';
import { syncTreeHashes } from '../tree-hashes.js';
import { TreeMirror } from './tree-mirror.js';

export interface LogSigner {
  readonly backend: KeyBackend;
  /** The log's ECDSA P-256 signing key. */
  readonly key: KeyRef;
}

export interface TransparencyLogOptions {
  /** Origin line of the checkpoints and name of the log key (e.g. `sigil.example.com/log`). */
  readonly origin: string;
  readonly signer: LogSigner;
  /** Clock for checkpoint records; defaults to Date.now. */
  readonly now?: (() => number) | undefined;
  /**
   * Do not sign a new checkpoint while the latest is younger than this (ms); default 0: sign
   * whenever the tree grew. A value > 0 bounds HSM signatures under write load, at the price of
   * new statements being provable only after the next checkpoint.
   */
  readonly minCheckpointIntervalMs?: number | undefined;
  /**
   * Keep every node hash in memory (log/tree-mirror.ts; default true): proofs and roots are then
   * memory reads, at 64 bytes per leaf. `false` reads the nodes from the store for every proof.
   */
  readonly nodesInMemory?: boolean | undefined;
  /**
   * Called with each new checkpoint after it is signed and before it is stored or served; if it
   * rejects, the checkpoint is neither. The server records there the last size it signed, beside
   * the key (log/signed-checkpoint-file.ts), so that a lost database cannot fork the log.
   */
  readonly onSigned?: ((checkpoint: { readonly size: number; readonly note: string }) => Promise<void>) | undefined;
  /** Called once per failed attempt to sign (the log key's token gone): for the operator's log. */
  readonly onSignFailure?: ((error: unknown) => void) | undefined;
}

/**
 * After a failed signature, `checkpoint()` answers the same failure for this long without asking
 * the key backend again, so that lookups during a token outage do not each wait on the token.
 */
const SIGN_RETRY_PAUSE_MS = 1000;

/** Any failure of the log key becomes this: the server cannot sign now, and says so (a 503). */
function logKeyUnavailable(cause: unknown): SigilError {
  if (SigilError.is(cause, 'E_HSM_UNAVAILABLE')) return cause;
  const detail = SigilError.is(cause) ? cause.code : undefined;
  return new SigilError('E_HSM_UNAVAILABLE', 'The log key cannot sign now; try again later.', detail === undefined ? { cause } : { cause, detail });
}

function checkSize(name: string, value: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < 0 || value > max) {
    throw new RangeError(`"${name}" expected an integer in 0..${max}, got ${value}`);
  }
}

/**
 * Proofs and checkpoints over a `Store`. Proofs are O(log n) node reads: from the in-memory
 * mirror of the tree (default), which holds only nodes that never change, or from the store.
 * Either way several server processes can share one store.
 *
 * @example
 * ```ts
 * const log = new TransparencyLog(store, { origin: 'sigil.example/log', signer: { backend, key } });
 * const cp = await log.checkpoint();
 * const proof = await log.inclusionProof(leafIndex, cp.size);
 * ```
 */
export class TransparencyLog {
  readonly origin: string;
  readonly #store: Store;
  readonly #signer: LogSigner;
  readonly #now: () => number;
  readonly #minInterval: number;
  #signing: Promise<CheckpointRecord> | undefined;
  /** The last signing failure and when (see SIGN_RETRY_PAUSE_MS). */
  #signFailure: { readonly error: SigilError; readonly at: number } | undefined;
  readonly #onSigned: TransparencyLogOptions['onSigned'];
  readonly #onSignFailure: TransparencyLogOptions['onSignFailure'];
  readonly #mirror: TreeMirror | undefined;

  constructor(store: Store, options: TransparencyLogOptions) {
    this.#store = store;
    this.#mirror = options.nodesInMemory === false ? undefined : new TreeMirror(store);
    this.origin = options.origin;
    this.#signer = options.signer;
    this.#now = options.now ?? Date.now;
    this.#minInterval = options.minCheckpointIntervalMs ?? 0;
    this.#onSigned = options.onSigned;
    this.#onSignFailure = options.onSignFailure;
  }

  /**
   * Checks, without signing, that the log key is there to sign: a write calls this first, so
   * that a statement is not committed while no checkpoint could cover it (issue 13, item 2). A
   * token that goes between this check and the signature still leaves the statement committed
   * and unserved until the key is back (docs/DIRECTORY.md, "Failure modes").
   *
   * @throws SigilError `E_HSM_UNAVAILABLE` if the key backend fails or no longer holds the key
   *   (whatever it reported, kept as `cause`).
   */
  async checkSigner(): Promise<void> {
    const failure = this.#signFailure;
    if (failure !== undefined && Date.now() - failure.at < SIGN_RETRY_PAUSE_MS) throw failure.error;
    try {
      // describeKey, not getKey: it reads the key's attributes from the token (PKCS#11
      // C_GetAttributeValue), where getKey may answer from the backend's cache of key handles.
      await this.#signer.backend.describeKey(this.#signer.key);
    } catch (e) {
      throw this.#failed(e);
    }
  }

  #failed(e: unknown): SigilError {
    const error = logKeyUnavailable(e);
    this.#signFailure = { error, at: Date.now() };
    this.#onSignFailure?.(e);
    return error;
  }

  /** The verifier key clients pin (`name+id+key`, c2sp.org/signed-note). */
  verifierKey(): Promise<LogVerifierKey> {
    return logVerifierKey(this.origin, this.#signer.key.publicKey);
  }

  /** RFC 9162 MTH of the first `treeSize` leaves (default: all). @throws RangeError beyond the log. */
  async rootHash(treeSize?: number): Promise<Uint8Array> {
    const current = await this.#store.treeSize();
    const n = treeSize ?? current;
    checkSize('treeSize', n, current);
    if (n === 0) return syncTreeHashes.emptyRoot();
    if (this.#mirror !== undefined) {
      await this.#mirror.syncTo(n);
      return this.#mirror.rootHash(n).slice();
    }
    return foldRange(await this.#store.getNodeHashes(rangeKeys(0, n)), syncTreeHashes);
  }

  /**
   * The audit path of leaf `leafIndex` in the tree of `treeSize` leaves (RFC 9162 §2.1.3.1).
   *
   * @throws RangeError unless 0 <= leafIndex < treeSize <= the log's size (validate requests first).
   */
  async inclusionProof(leafIndex: number, treeSize: number): Promise<Uint8Array[]> {
    checkSize('treeSize', treeSize, await this.#store.treeSize());
    checkSize('leafIndex', leafIndex, treeSize - 1);
    return (await this.inclusionProofsAt([leafIndex], treeSize))[0] as Uint8Array[];
  }

  /**
   * Audit paths of several leaves in the tree of `treeSize` leaves, a size the log has had (a
   * checkpoint's): unlike `inclusionProof`, the store's current size is not read. For lookups.
   *
   * @throws RangeError unless every 0 <= leafIndex < treeSize.
   */
  async inclusionProofsAt(leafIndices: readonly number[], treeSize: number): Promise<Uint8Array[][]> {
    checkSize('treeSize', treeSize, Number.MAX_SAFE_INTEGER);
    for (const m of leafIndices) checkSize('leafIndex', m, treeSize - 1);
    const mirror = this.#mirror;
    if (mirror === undefined) return Promise.all(leafIndices.map((m) => this.#run(inclusionPlan(m, treeSize))));
    await mirror.syncTo(treeSize);
    return leafIndices.map((m) => mirror.inclusionProof(m, treeSize));
  }

  /**
   * The audit paths of `inclusionProofsAt`, each as one byte string: its hashes concatenated in
   * the same order (what account lookups serve, one base64url string per path). From the
   * in-memory mirror each is a slice of Node's Buffer pool (TreeMirror.inclusionPath): read its
   * bytes, not its `.buffer`.
   *
   * @throws RangeError unless every 0 <= leafIndex < treeSize.
   */
  async inclusionPathsAt(leafIndices: readonly number[], treeSize: number): Promise<Uint8Array[]> {
    const mirror = this.#mirror;
    if (mirror === undefined) return (await this.inclusionProofsAt(leafIndices, treeSize)).map(concatHashes);
    checkSize('treeSize', treeSize, Number.MAX_SAFE_INTEGER);
    for (const m of leafIndices) checkSize('leafIndex', m, treeSize - 1);
    await mirror.syncTo(treeSize);
    return leafIndices.map((m) => mirror.inclusionPath(m, treeSize));
  }

  /**
   * `inclusionPathsAt` at once, when the in-memory mirror already holds the tree of `treeSize`
   * leaves (the usual case on a lookup: the mirror follows the checkpoints), else `undefined`
   * (then use `inclusionPathsAt`, which reads what is missing). Synchronous, so a lookup pays no
   * promise and no turn of the microtask queue for its proofs.
   *
   * @throws RangeError unless every 0 <= leafIndex < treeSize.
   */
  inclusionPathsInMemory(leafIndices: readonly number[], treeSize: number): Uint8Array[] | undefined {
    const mirror = this.#mirror;
    if (mirror === undefined || mirror.size < treeSize) return undefined;
    checkSize('treeSize', treeSize, Number.MAX_SAFE_INTEGER);
    for (const m of leafIndices) checkSize('leafIndex', m, treeSize - 1);
    return leafIndices.map((m) => mirror.inclusionPath(m, treeSize));
  }

  /**
   * The consistency proof from `size1` to `size2` leaves (RFC 9162 §2.1.4.1); empty when the sizes
   * are equal or `size1` is 0 (there is nothing to prove about the empty tree).
   *
   * @throws RangeError unless 0 <= size1 <= size2 <= the log's size.
   */
  async consistencyProof(size1: number, size2: number): Promise<Uint8Array[]> {
    checkSize('size2', size2, await this.#store.treeSize());
    checkSize('size1', size1, size2);
    if (size1 === 0 || size1 === size2) return [];
    const mirror = this.#mirror;
    if (mirror === undefined) return this.#run(consistencyPlan(size1, size2));
    await mirror.syncTo(size2);
    return consistencyPlan(size1, size2).map((range) => foldRange(range.map((k) => mirror.node(k.level, k.index)), syncTreeHashes).slice());
  }

  /**
   * The latest checkpoint, signing one for the current tree if the log grew since the last (and
   * the last is at least `minCheckpointIntervalMs` old). Concurrent callers in one process share
   * one signature; across processes the store keeps the first checkpoint of each size.
   *
   * Before signing, the new tree is checked to extend the latest signed one (its root at the old
   * size must be the old root): a log must never sign two inconsistent checkpoints
   * (c2sp.org/tlog-checkpoint, "Signatures"), so a damaged store stops the log instead of
   * forking it.
   *
   * @throws SigilError `E_HSM_UNAVAILABLE` if the log key cannot sign (whatever the backend
   *   reported, kept as `cause`); for a second after a failure without asking the backend again.
   * @throws Error if the stored tree does not extend the latest checkpoint (a damaged store).
   */
  checkpoint(): Promise<CheckpointRecord> {
    this.#signing ??= this.#checkpoint().finally(() => {
      this.#signing = undefined;
    });
    return this.#signing;
  }

  async #checkpoint(): Promise<CheckpointRecord> {
    const size = await this.#store.treeSize();
    const latest = await this.#store.latestCheckpoint();
    if (latest !== undefined && (latest.size >= size || this.#now() - latest.createdAt < this.#minInterval)) return latest;
    if (latest !== undefined && latest.size > 0) {
      const signed = await parseCheckpointText(parseNote(latest.note).text);
      const current = await this.rootHash(latest.size);
      if (Buffer.compare(Buffer.from(current), Buffer.from(signed.rootHash)) !== 0) {
        throw new Error(`the stored tree does not extend the checkpoint of size ${latest.size}: refusing to sign`);
      }
    }
    const rootHash = await this.rootHash(size);
    const failure = this.#signFailure;
    if (failure !== undefined && Date.now() - failure.at < SIGN_RETRY_PAUSE_MS) throw failure.error;
    let note: string;
    try {
      note = await signCheckpoint({ origin: this.origin, size, rootHash }, this.#signer.backend, this.#signer.key);
    } catch (e) {
      throw this.#failed(e);
    }
    this.#signFailure = undefined;
    await this.#onSigned?.({ size, note });
    return this.#store.putCheckpoint({ size, note, createdAt: this.#now() });
  }

  async #run(plan: Plan): Promise<Uint8Array[]> {
    const hashes = await this.#store.getNodeHashes(plan.flat());
    const out: Uint8Array[] = [];
    let at = 0;
    for (const range of plan) {
      out.push(foldRange(hashes.slice(at, at + range.length), syncTreeHashes));
      at += range.length;
    }
    return out;
  }
}

function concatHashes(hashes: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(hashes.length * HASH_SIZE);
  hashes.forEach((h, i) => out.set(h, i * HASH_SIZE));
  return out;
}
