// Checkpoints in the C2SP tlog-checkpoint format (c2sp.org/tlog-checkpoint): the note text is
//   <origin>\n<tree size>\n<base64 root hash>\n
// signed as a C2SP signed note by the log key (signature type 0x02, ECDSA P-256; see
// signed-note.ts). Sigil logs write no extension lines (the spec calls them NOT RECOMMENDED, as
// monitors cannot audit them), and Sigil clients reject them: one checkpoint, one spelling.
import { SigilError } from '../errors.js';
import type { KeyBackend, KeyRef } from '../backend/key-backend.js';
import { equalConstantTime } from '../internal/bytes.js';
import { fromBase64, toBase64 } from './base64.js';
import { emptyRoot, HASH_SIZE } from './hashing.js';
import { isValidKeyName, signNote, verifyNote, type LogVerifierKey } from './signed-note.js';

/** A tree head: the log's origin, its size and the RFC 9162 root hash at that size. */
export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Uint8Array;
}

/** A checkpoint whose signature was verified, with the signed note it came from. */
export interface SignedCheckpoint extends Checkpoint {
  readonly note: string;
}

export interface OpenCheckpointOptions {
  /** The origin line to expect. Defaults to the key's name (tlog-checkpoint: they SHOULD match). */
  readonly origin?: string | undefined;
}

function fail(message: string, detail: string): never {
  throw new SigilError('E_DIRECTORY_PROOF', message, { detail });
}

/**
 * The note text of a checkpoint (c2sp.org/tlog-checkpoint, "Note text").
 *
 * @throws TypeError / RangeError on an origin that is not a key name, a size that is not a
 *   non-negative safe integer, or a root hash that is not 32 bytes.
 */
export function checkpointText(checkpoint: Checkpoint): string {
  const { origin, size, rootHash } = checkpoint;
  if (!isValidKeyName(origin)) throw new TypeError(`"origin" expected a non-empty name without spaces or '+'`);
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`"size" expected a non-negative safe integer, got ${size}`);
  if (!(rootHash instanceof Uint8Array) || rootHash.length !== HASH_SIZE) {
    throw new RangeError(`"rootHash" expected Uint8Array of length 32, got length=${(rootHash as Uint8Array | undefined)?.length}`);
  }
  return `${origin}\n${size}\n${toBase64(rootHash)}\n`;
}

/**
 * Signs a checkpoint with the log key, named after the origin, and returns the signed note.
 *
 * @example
 * ```ts
 * const note = await signCheckpoint({ origin: 'sigil.example/log', size, rootHash }, backend, logKey);
 * ```
 * @throws SigilError from the backend (`E_KEY_NOT_FOUND`, `E_KEY_USAGE`, `E_HSM*`).
 */
export async function signCheckpoint(checkpoint: Checkpoint, backend: KeyBackend, key: KeyRef): Promise<string> {
  return signNote(checkpointText(checkpoint), checkpoint.origin, backend, key);
}

/**
 * Parses checkpoint note text (without signatures). Use only on text whose signature has been
 * verified; {@link openCheckpoint} does both.
 *
 * @throws SigilError `E_DIRECTORY_PROOF` if the text is not exactly origin, size and root.
 */
export async function parseCheckpointText(text: string): Promise<Checkpoint> {
  const lines = text.split('\n');
  if (lines.length !== 4 || lines[3] !== '') fail('A checkpoint has exactly three lines.', 'checkpoint-format');
  const [origin, sizeText, rootText] = lines as [string, string, string, string];
  if (origin.length === 0) fail('The checkpoint origin is empty.', 'checkpoint-format');
  if (!/^(?:0|[1-9][0-9]{0,15})$/.test(sizeText)) fail('The checkpoint tree size is malformed.', 'checkpoint-format');
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size)) fail('The checkpoint tree size is out of range.', 'checkpoint-format');
  const rootHash = fromBase64(rootText);
  if (rootHash === undefined || rootHash.length !== HASH_SIZE) fail('The checkpoint root hash is malformed.', 'checkpoint-format');
  if (size === 0 && !equalConstantTime(rootHash, await emptyRoot())) {
    fail('An empty tree has the root SHA-256() (RFC 9162 §2.1.1).', 'checkpoint-empty-root');
  }
  return { origin, size, rootHash };
}

/**
 * Verifies a signed checkpoint against the pinned log key, then parses it.
 *
 * @example
 * ```ts
 * const key = await parseLogVerifierKey(pinnedVkey);
 * const cp = await openCheckpoint(await (await fetch(url)).text(), key);
 * ```
 * @throws SigilError `E_DIRECTORY_PROOF` if the note is malformed, not signed by the key, has a
 *   bad signature, or is not a checkpoint of the expected origin.
 */
export async function openCheckpoint(
  note: string,
  key: LogVerifierKey,
  options: OpenCheckpointOptions = {},
): Promise<SignedCheckpoint> {
  const text = await verifyNote(note, key);
  const checkpoint = await parseCheckpointText(text);
  if (checkpoint.origin !== (options.origin ?? key.name)) fail('The checkpoint is from another log.', 'checkpoint-origin');
  return { ...checkpoint, note };
}
