// The last checkpoint the log key signed, kept in a file beside the database (not in it), so that
// a lost or truncated database cannot quietly start a second log under the same key. A log that
// signed a tree of size n and later signs a different tree of size n has forked, and both
// checkpoints verify (c2sp.org/tlog-checkpoint, "Signatures"): clients that saw the first report
// the second as E_DIRECTORY_FORK, and nothing can repair it. So at start the server checks that
// the database still holds the tree of the last signed checkpoint, and refuses to start unless
// it does (or an operator says explicitly that a new log begins: docs/DIRECTORY.md, "Failure
// modes").
//
// The file is written after each signature and before the checkpoint is stored or served
// (TransparencyLogOptions.onSigned): written to a temporary name, synced, renamed over the old
// one and the directory synced, so a crash leaves the old file or the new one, never a torn one.
import { open, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { openCheckpoint, type LogVerifierKey } from '@sigil/sdk/transparency';
import { SigilError } from '@sigil/sdk/errors';
import type { TransparencyLog } from './transparency-log.js';

/**
 * The last signed checkpoint note in `file`, or `undefined` if there is no file.
 * @throws Error if the file cannot be read (other than absent).
 */
export async function readLastCheckpoint(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Replaces `file` with `note`, durably (see the module comment). */
export async function writeLastCheckpoint(file: string, note: string): Promise<void> {
  const temporary = `${file}.tmp`;
  const handle = await open(temporary, 'w', 0o644);
  try {
    await handle.writeFile(note, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, file);
  const directory = await open(path.dirname(file), 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}

/** What the start-up check found. */
export type LogContinuity =
  | { readonly status: 'continues'; readonly signedSize: number }
  | { readonly status: 'no-record' }
  /** The file holds a checkpoint of another key (the key was replaced): not this log's history. */
  | { readonly status: 'other-key' }
  /** The database lost (part of) the tree the key signed; starting would fork the log. */
  | { readonly status: 'lost'; readonly signedSize: number; readonly treeSize: number };

/**
 * Compares the database's tree with the last checkpoint the log key signed (`note`, from
 * readLastCheckpoint): the tree must have at least that size and, at that size, that root.
 */
export async function checkLogContinuity(log: TransparencyLog, treeSize: number, note: string | undefined, key: LogVerifierKey): Promise<LogContinuity> {
  if (note === undefined) return { status: 'no-record' };
  let signed;
  try {
    signed = await openCheckpoint(note, key);
  } catch (e) {
    if (SigilError.is(e, 'E_DIRECTORY_PROOF')) return { status: 'other-key' };
    throw e;
  }
  if (treeSize < signed.size) return { status: 'lost', signedSize: signed.size, treeSize };
  const root = await log.rootHash(signed.size);
  if (Buffer.compare(Buffer.from(root), Buffer.from(signed.rootHash)) !== 0) return { status: 'lost', signedSize: signed.size, treeSize };
  return { status: 'continues', signedSize: signed.size };
}
