// @sigil/server public API. Every export is listed by name.
export type {
  Store,
  StoreLimits,
  AccountKind,
  AccountRecord,
  AccountStatements,
  NewStatement,
  NextStatement,
  NewBlob,
  StatementRecord,
  ListStatementsOptions,
  NodeKey,
  CheckpointRecord,
  BlobRecord,
  MailboxMessage,
  MailboxQuota,
  ListMessagesOptions,
  CredentialRecord,
  ChallengeRecord,
  SessionRecord,
} from './store/store.js';
export { DEFAULT_STORE_LIMITS, MAX_SIGNED_STATEMENT_BYTES } from './store/store.js';
export { SqliteStore, openSqliteStore } from './store/sqlite-store.js';
export { checkedStore } from './store/checked-store.js';
export type { SqliteStoreOptions } from './store/sqlite-store.js';
export { sessionTokenHash } from './store/validate.js';
export { TransparencyLog } from './log/transparency-log.js';
export type { LogSigner, TransparencyLogOptions } from './log/transparency-log.js';
// The tree math is @sigil/sdk/transparency's; these are its hashes, synchronous (node:crypto).
export { syncTreeHashes } from './tree-hashes.js';
// The key directory's HTTP API and server
export { createDirectoryApp } from './directory/directory-app.js';
export type { DirectoryApp, DirectoryAppOptions } from './directory/directory-app.js';
export type { DirectoryContext } from './directory/context.js';
export { serviceSessionSignatureInput } from './directory/routes/service-auth-routes.js';
export { startDirectoryServer } from './cli/serve.js';
export type { ServeOptions, RunningDirectory } from './cli/serve.js';
export { loadSoftwareLogKey, openPkcs11LogKey } from './cli/log-key.js';
export type { LoadedLogKey, Pkcs11LogKeyOptions } from './cli/log-key.js';
export { DEFAULT_DIRECTORY_CONFIG, resolveDirectoryConfig } from './config.js';
export type { DirectoryConfig } from './config.js';
export { API_HEADERS, apiJson, createHttpApp, jsonText } from './http/app.js';
export type { HttpApp, HttpAppOptions, JsonOf } from './http/app.js';
export { ApiError, errorBody, HTTP_ERROR_CODES } from './http/errors.js';
export type { ApiErrorCode, ErrorBody, HttpErrorCode } from './http/errors.js';
export { jsonLogger, memoryLogger, silentLogger } from './http/logger.js';
export type { Logger, LogLevel, LogFields } from './http/logger.js';
