// The key directory's HTTP API (docs/DIRECTORY.md "API"; the OpenAPI document at GET /v1/openapi.json) on the app shell
// of ../http: validation, size limits, rate limits on /v1/auth/*, errors and access logs.
import { resolveDirectoryConfig, type DirectoryConfig } from '../config.js';
import { createHttpApp, type HttpApp } from '../http/app.js';
import { silentLogger, type Logger } from '../http/logger.js';
import { addressRateLimit } from '../http/rate-limit.js';
import type { TransparencyLog } from '../log/transparency-log.js';
import { checkedStore } from '../store/checked-store.js';
import type { Store } from '../store/store.js';
import { AccountFolds } from './account-folds.js';
import { AdmittingCache } from './lookup-cache.js';
import { LookupReads } from './lookup-reads.js';
import type { DirectoryContext } from './context.js';
import { accountRoutes } from './routes/account-routes.js';
import { backupRoutes } from './routes/backup-routes.js';
import { logRoutes } from './routes/log-routes.js';
import { mailboxRoutes } from './routes/mailbox-routes.js';
import { serviceAuthRoutes } from './routes/service-auth-routes.js';
import { webAuthnRoutes } from './routes/webauthn-routes.js';

/** Expired challenges, sessions and registrations are deleted at most this often. */
const SWEEP_INTERVAL_MS = 60_000;

export interface DirectoryAppOptions {
  readonly store: Store;
  /** The transparency log over the same store, with its signing key. */
  readonly log: TransparencyLog;
  readonly config?: Partial<DirectoryConfig> | undefined;
  readonly logger?: Logger | undefined;
  /** Clock (ms since the epoch); defaults to Date.now. */
  readonly now?: (() => number) | undefined;
}

export interface DirectoryApp {
  /** The Hono app: `serve({ fetch: app.fetch })`, or `app.request()` in tests. */
  readonly app: HttpApp;
  readonly context: DirectoryContext;
}

/**
 * Builds the directory's Hono app over a store and a log.
 *
 * @throws RangeError / TypeError for a bad configuration.
 * @example
 * ```ts
 * const store = await openSqliteStore('./sigil.db');
 * const log = new TransparencyLog(store, { origin: 'sigil.example/log', signer: { backend, key } });
 * const { app } = createDirectoryApp({ store, log, config: { rpId: 'example.org', origins: ['https://example.org'] } });
 * serve({ fetch: app.fetch, port: 8787, hostname: '127.0.0.1' });
 * ```
 */
export function createDirectoryApp(options: DirectoryAppOptions): DirectoryApp {
  const config = resolveDirectoryConfig(options.config);
  const logger = options.logger ?? silentLogger;
  const now = options.now ?? Date.now;
  // Every store the directory uses has its arguments checked, whichever implementation it is.
  const store = checkedStore(options.store);
  let lastSweep = -Infinity;
  const context: DirectoryContext = {
    sweep: async () => {
      const t = now();
      if (t - lastSweep < SWEEP_INTERVAL_MS) return;
      lastSweep = t;
      const removed = await store.deleteExpired(t);
      if (removed > 0) logger.log('debug', 'expired challenges and sessions removed', { removed });
      const abandoned = await options.store.deleteUnpublishedAccounts(t - config.registrationTtlMs);
      if (abandoned > 0) logger.log('info', 'registrations without a genesis expired', { accounts: abandoned });
    },
    store,
    log: options.log,
    config,
    logger,
    now,
    folds: new AccountFolds(config.foldCacheSize, { rpId: config.rpId, origins: config.origins, requireUserVerification: true }),
    lookupReads: new LookupReads(store),
    caches: {
      views: new AdmittingCache(config.lookupCacheSize),
      checkpoint: { current: undefined },
    },
  };
  const app = createHttpApp({
    logger,
    maxBodyBytes: config.maxBodyBytes,
    bodyLimits: [{ prefix: '/v1/auth/', maxBytes: config.maxAuthBodyBytes }],
    guards: [
      { prefix: '/v1/auth/', handler: addressRateLimit(config.authRateLimit, config.trustedProxies) },
      // Statements are verified (signatures, a fold) before anything is written: work an
      // unauthenticated client can ask for, so it is braked per address like sign-in.
      { prefix: '/v1/statements', method: 'POST', handler: addressRateLimit(config.statementRateLimit, config.trustedProxies) },
    ],
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'Session token (32 random bytes, base64url) from /v1/auth/*',
  });
  logRoutes(app, context);
  accountRoutes(app, context);
  serviceAuthRoutes(app, context);
  webAuthnRoutes(app, context);
  mailboxRoutes(app, context);
  backupRoutes(app, context);
  app.doc31('/v1/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Sigil key directory',
      version: '1',
      description: 'Accounts, signed statements in a transparency log, wrap blobs, mailbox. Byte strings are base64url without padding.',
    },
  });
  return { app, context };
}
