import { WebCryptoKeyBackend } from '@sigil/sdk';
import { SqliteStore, TransparencyLog } from '@sigil/server';

export const ORIGIN = 'sigil.test/log';

/** An in-memory SQLite store with one account and a log signed by a software key. */
export async function memoryLog(): Promise<{ store: SqliteStore; log: TransparencyLog }> {
  const store = new SqliteStore(':memory:');
  await store.createAccount({ id: 'alice', kind: 'user', createdAt: 1 });
  const backend = new WebCryptoKeyBackend();
  const key = await backend.generateKeyPair({ usage: 'sign', label: 'log' });
  return { store, log: new TransparencyLog(store, { origin: ORIGIN, signer: { backend, key }, now: () => 1000 }) };
}
