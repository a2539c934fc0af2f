// A client state store in one JSON file, for Node (exported from '@sigil/sdk/node' only: the
// browser build never imports node:fs). Writes are atomic: a temp file in the same directory,
// fsynced, then renamed over the old one (rename(2) is atomic on POSIX file systems), so a crash
// leaves the old state or the new one, never half of each.
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SigilError } from '../errors.js';
import { checkHead, stateFromJSON, stateToJSON, type AccountHead, type ClientStateStore } from './state-store.js';

/**
 * Keeps a `DirectoryClient`'s memory (last checkpoint, account heads) in a JSON file, created
 * with mode 0600 on the first save. Safe for concurrent calls in one process; one process per
 * file.
 *
 * @throws SigilError `E_FORMAT` (from any method) if the file exists but is not a state file:
 *   an unreadable memory is reported, not replaced by an empty one (which would disable rollback
 *   detection).
 * @example
 * ```ts
 * import { FileClientStateStore } from '@sigil/sdk/node';
 * const sigil = await Sigil.connect({ directory, account, keys, logPublicKey,
 *   state: new FileClientStateStore('./sigil-client-state.json') });
 * ```
 */
export class FileClientStateStore implements ClientStateStore {
  readonly path: string;
  #loaded: Promise<{ checkpoint: string | undefined; heads: Map<string, AccountHead> }> | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(path: string) {
    if (typeof path !== 'string' || path.length === 0) throw new TypeError('"path" expected a non-empty string');
    this.path = path;
  }

  #state(): Promise<{ checkpoint: string | undefined; heads: Map<string, AccountHead> }> {
    this.#loaded ??= (async () => {
      let text: string;
      try {
        text = await readFile(this.path, 'utf8');
      } catch (e) {
        if ((e as { code?: unknown }).code === 'ENOENT') return { checkpoint: undefined, heads: new Map<string, AccountHead>() };
        throw e;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (cause) {
        throw new SigilError('E_FORMAT', 'The directory client state file is not JSON; restore it or remove it knowingly.', { cause });
      }
      const state = stateFromJSON(parsed);
      if (state === undefined) throw new SigilError('E_FORMAT', 'The directory client state file is not a Sigil client state.');
      return state;
    })();
    return this.#loaded;
  }

  async loadCheckpoint(): Promise<string | undefined> {
    return (await this.#state()).checkpoint;
  }

  async loadAccountHead(accountId: string): Promise<AccountHead | undefined> {
    const h = (await this.#state()).heads.get(accountId);
    return h === undefined ? undefined : { seq: h.seq, head: new Uint8Array(h.head) };
  }

  saveCheckpoint(note: string): Promise<void> {
    if (typeof note !== 'string') throw new TypeError('"note" expected a string');
    return this.#write((s) => {
      s.checkpoint = note;
    });
  }

  saveAccountHead(accountId: string, head: AccountHead): Promise<void> {
    checkHead(head);
    const copy = { seq: head.seq, head: new Uint8Array(head.head) };
    return this.#write((s) => {
      s.heads.set(accountId, copy);
    });
  }

  #write(change: (s: { checkpoint: string | undefined; heads: Map<string, AccountHead> }) => void): Promise<void> {
    const run = this.#queue.then(async () => {
      const state = await this.#state();
      change(state);
      const text = `${JSON.stringify(stateToJSON(state.checkpoint, state.heads), null, 2)}\n`;
      const tmp = `${this.path}.${randomBytes(6).toString('hex')}.tmp`;
      const fh = await open(tmp, 'wx', 0o600);
      try {
        await fh.writeFile(text, 'utf8');
        await fh.sync();
      } finally {
        await fh.close();
      }
      try {
        await rename(tmp, this.path);
      } catch (e) {
        await unlink(tmp).catch(() => undefined);
        throw e;
      }
      // The rename itself is durable once the directory entry is synced (POSIX fsync(2) on the
      // directory); best effort, as some platforms cannot open a directory.
      const dir = await open(dirname(this.path), 'r').catch(() => undefined);
      if (dir !== undefined) await dir.sync().catch(() => undefined).finally(() => dir.close());
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
