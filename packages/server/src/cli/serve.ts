// Running the directory: open the store, the log key and the log, serve the app on a socket,
// and close everything in order on shutdown.
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import type { DirectoryConfig } from '../config.js';
import { createDirectoryApp, type DirectoryApp } from '../directory/directory-app.js';
import type { Logger } from '../http/logger.js';
import { TransparencyLog } from '../log/transparency-log.js';
import { openSqliteStore } from '../store/sqlite-store.js';
import type { Store } from '../store/store.js';
import { checkLogContinuity, readLastCheckpoint, writeLastCheckpoint } from '../log/last-checkpoint-file.js';
import { SigilError } from '@sigil/sdk/errors';
import type { LogVerifierKey } from '@sigil/sdk/transparency';
import { toB64u } from '../directory/b64.js';
import type { LoadedLogKey } from './log-key.js';

export interface ServeOptions {
  /** SQLite file (created and migrated on first start). */
  readonly db: string;
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Checkpoint origin line and log key name, e.g. `sigil.example.com/log`. */
  readonly logOrigin: string;
  readonly config: Partial<DirectoryConfig>;
  readonly logKey: LoadedLogKey;
  readonly logger: Logger;
  /**
   * Start even if the database lost the tree the log key last signed (see `startDirectoryServer`):
   * a NEW log under the same key, which clients that saw the old one will report as a fork.
   * Only on an operator's explicit word (`--new-log-under-signed-key`).
   */
  readonly newLogUnderSignedKey?: boolean | undefined;
}

/** The file beside the database that holds the last checkpoint the log key signed. */
export function lastCheckpointFileOf(db: string): string {
  return `${db}.last-checkpoint`;
}

export interface RunningDirectory {
  readonly url: string;
  readonly port: number;
  readonly vkey: string;
  readonly directory: DirectoryApp;
  /** Stops accepting connections, waits for open ones, closes the store and the log key. */
  close(): Promise<void>;
}

/**
 * Opens the store, checks that it still holds the tree the log key last signed, and serves.
 *
 * @throws SigilError `E_DIRECTORY_FORK` if the database lost (part of) the tree of the last
 *   checkpoint the key signed (`<db>.last-checkpoint`), unless `newLogUnderSignedKey`.
 * @throws SigilError `E_HSM*` if the log key cannot sign.
 */
export async function startDirectoryServer(options: ServeOptions): Promise<RunningDirectory> {
  const { logger } = options;
  const store = await openSqliteStore(options.db);
  try {
    const lastCheckpointFile = lastCheckpointFileOf(options.db);
    const log = new TransparencyLog(store, {
      origin: options.logOrigin,
      signer: options.logKey.signer,
      onSigned: ({ note }) => writeLastCheckpoint(lastCheckpointFile, note),
      onSignFailure: (e) =>
        logger.log('error', 'the log key cannot sign: writes are refused (503) until it is back', {
          error: e instanceof Error ? `${e.name}: ${e.message}` : 'non-error thrown',
          code: typeof (e as { code?: unknown }).code === 'string' ? ((e as { code: string }).code) : undefined,
        }),
    });
    const directory = createDirectoryApp({ store, log, config: options.config, logger });
    const verifierKey = await log.verifierKey();
    const vkey = verifierKey.vkey;
    await checkContinuity(options, log, store, verifierKey, lastCheckpointFile);
    await log.checkpoint(); // signs the current tree now: a broken key fails the start, not a request
    await log.rootHash(); // reads the tree's node hashes into memory now, not during the first lookups
    logger.log('info', 'log key', { origin: log.origin, vkey, publicKeyB64: toB64u(options.logKey.signer.key.publicKey) });

    const server = await new Promise<ServerType>((resolve, reject) => {
      const s = serve({ fetch: directory.app.fetch, hostname: options.host, port: options.port }, () => resolve(s));
      s.once('error', reject);
    });
    const port = (server.address() as AddressInfo).port;
    const host = options.host.includes(':') ? `[${options.host}]` : options.host;
    const url = `http://${host}:${port}`;
    logger.log('info', 'listening', { url, db: options.db, treeSize: await store.treeSize() });
    let closing: Promise<void> | undefined;
    return {
      url,
      port,
      vkey,
      directory,
      close: () =>
        (closing ??= (async () => {
          await new Promise<void>((resolve) => {
            server.close(() => resolve());
            // Idle keep-alive connections would hold close() open.
            (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
          });
          await store.close();
          await options.logKey.close();
          logger.log('info', 'stopped', {});
        })()),
    };
  } catch (e) {
    await store.close();
    throw e;
  }
}

async function checkContinuity(
  options: ServeOptions,
  log: TransparencyLog,
  store: Store,
  key: LogVerifierKey,
  file: string,
): Promise<void> {
  const { logger } = options;
  const treeSize = await store.treeSize();
  const found = await checkLogContinuity(log, treeSize, await readLastCheckpoint(file), key);
  if (found.status === 'lost') {
    const facts = { file, signedSize: found.signedSize, treeSize, db: options.db };
    if (options.newLogUnderSignedKey !== true) {
      throw new SigilError(
        'E_DIRECTORY_FORK',
        `The database holds ${treeSize} leaves that do not extend the checkpoint of size ${found.signedSize} this log key signed (${file}): ` +
          'starting would fork the log. Restore the database, or see docs/DIRECTORY.md, "Failure modes".',
      );
    }
    logger.log('error', 'starting a NEW log under a key that signed another (--new-log-under-signed-key): clients that saw the old log will report a fork', facts);
  } else if (found.status === 'other-key') {
    logger.log('warn', 'the last-checkpoint file holds a checkpoint of another log key: replaced at the next checkpoint', { file });
  } else if (found.status === 'no-record') {
    // A database from before this file existed: record its latest checkpoint now, so that the
    // check protects it from this start on.
    const latest = await store.latestCheckpoint();
    if (latest !== undefined) await writeLastCheckpoint(file, latest.note);
  }
}
