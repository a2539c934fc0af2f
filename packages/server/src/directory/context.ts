// What every route of the directory shares: the store, the log, the configuration, the logger,
// the clock, and the cache of folded account states.
import type { DirectoryConfig } from '../config.js';
import type { Logger } from '../http/logger.js';
import type { TransparencyLog } from '../log/transparency-log.js';
import type { Store } from '../store/store.js';
import type { AccountFolds } from './account-folds.js';
import type { AccountViewBody, SeenCheckpoint } from './view-types.js';
import type { AdmittingCache } from './lookup-cache.js';
import type { LookupReads } from './lookup-reads.js';

export interface DirectoryContext {
  readonly store: Store;
  readonly log: TransparencyLog;
  readonly config: DirectoryConfig;
  readonly logger: Logger;
  /** Milliseconds since the epoch; the one clock for expiry decisions. */
  readonly now: () => number;
  readonly folds: AccountFolds;
  /** Deletes expired challenges and sessions, at most once a minute (called where they are made). */
  readonly sweep: () => Promise<void>;
  /** The store reads of account lookups, shared by the lookups of one event-loop turn. */
  readonly lookupReads: LookupReads;
  /** Caches of data that never changes (lookups per checkpoint size): safe with several processes. */
  readonly caches: {
    /** Account lookup answers, with the checkpoint size each was made for. */
    readonly views: AdmittingCache<{ readonly size: number; readonly body: AccountViewBody }>;
    /** The checkpoint seen last (see latestCheckpoint). */
    readonly checkpoint: { current: SeenCheckpoint | undefined };
  };
}
