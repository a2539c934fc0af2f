// Which store failures mean "the server cannot write now" rather than "a bug": the disk is full,
// the file or its directory went away or became read-only, an I/O error, a lock held too long.
// A request that meets one was not committed (the Store contract: a write that did not commit
// rejects), so the client is told to retry later (503), never that it succeeded and never that
// its request was wrong. Codes are SQLite's extended result codes as better-sqlite3 names them
// (sqlite.org/rescode.html), and Node's errno names for the files the server writes beside the
// database (the last signed checkpoint); anything else stays a bug (500).

/** `E_STORAGE_FULL`: no space left for the write; `E_UNAVAILABLE`: any other storage fault. */
export type StorageFaultCode = 'E_STORAGE_FULL' | 'E_UNAVAILABLE';

const UNAVAILABLE = ['SQLITE_IOERR', 'SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_READONLY', 'SQLITE_CANTOPEN', 'SQLITE_CORRUPT', 'SQLITE_NOTADB', 'SQLITE_PROTOCOL'];

/** The fault code of a storage error that is not a bug, or `undefined`. */
export function storageFaultOf(e: unknown): StorageFaultCode | undefined {
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  if (code === 'ENOSPC' || code === 'EDQUOT') return 'E_STORAGE_FULL';
  if (code === 'EIO' || code === 'EROFS') return 'E_UNAVAILABLE';
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return undefined;
  if (code === 'SQLITE_FULL') return 'E_STORAGE_FULL';
  // Extended codes extend their primary code's name: SQLITE_IOERR_WRITE, SQLITE_BUSY_SNAPSHOT, ...
  return UNAVAILABLE.some((p) => code === p || code.startsWith(`${p}_`)) ? 'E_UNAVAILABLE' : undefined;
}
