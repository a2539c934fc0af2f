// @sigil/server public API. Every export is listed by name.
export type {
  Store,
  StoreLimits,
  AccountKind,
  AccountRecord,
  NewStatement,
  StatementRecord,
  ListStatementsOptions,
  NodeKey,
  CheckpointRecord,
  BlobRecord,
  MailboxMessage,
  CredentialRecord,
  ChallengeRecord,
  SessionRecord,
} from './store/store.js';
export { DEFAULT_STORE_LIMITS } from './store/store.js';
export { SqliteStore, openSqliteStore } from './store/sqlite-store.js';
export type { SqliteStoreOptions } from './store/sqlite-store.js';
export { sessionTokenHash } from './store/validate.js';
export { TransparencyLog } from './log/transparency-log.js';
export type { LogSigner, TransparencyLogOptions } from './log/transparency-log.js';
export {
  leafHash,
  nodeHash,
  emptyRootHash,
  inclusionPlan,
  consistencyPlan,
  rangeKeys,
  foldRange,
  appendSiblingKeys,
  appendNodes,
} from './log/tree-math.js';
export type { NodeHash, Plan } from './log/tree-math.js';
