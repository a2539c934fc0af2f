// @sigil/sdk/directory: the verifying directory client and what it is made of: the client's
// memory (checkpoint and account heads; a durable store of your own implements ClientStateStore),
// the verified results it returns, and the fetch it calls. `DirectoryClient` itself is also in the
// root entry. Node's file-backed store is `@sigil/sdk/node`; the browser's, `@sigil/sdk/browser`.
export { DirectoryClient } from './client.js';
export type {
  DirectoryClientOptions,
  VerifiedAccount,
  VerifiedStatement,
  DirectorySession,
  MailboxEntry,
  SessionSigner,
} from './client.js';
export type { FetchLike } from './http.js';
export { MemoryClientStateStore } from './state-store.js';
export type { ClientStateStore, AccountHead, ClientStateJSON } from './state-store.js';
