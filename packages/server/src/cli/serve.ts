// Running the directory: open the store, the log key and the log, serve the app on a socket,
// and close everything in order on shutdown.
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import type { DirectoryConfig } from '../config.js';
import { createDirectoryApp, type DirectoryApp } from '../directory/directory-app.js';
import type { Logger } from '../http/logger.js';
import { TransparencyLog } from '../log/transparency-log.js';
import { openSqliteStore } from '../store/sqlite-store.js';
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
}

export interface RunningDirectory {
  readonly url: string;
  readonly port: number;
  readonly vkey: string;
  readonly directory: DirectoryApp;
  /** Stops accepting connections, waits for open ones, closes the store and the log key. */
  close(): Promise<void>;
}

export async function startDirectoryServer(options: ServeOptions): Promise<RunningDirectory> {
  const { logger } = options;
  const store = await openSqliteStore(options.db);
  try {
    const log = new TransparencyLog(store, { origin: options.logOrigin, signer: options.logKey.signer });
    const directory = createDirectoryApp({ store, log, config: options.config, logger });
    const vkey = (await log.verifierKey()).vkey;
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
