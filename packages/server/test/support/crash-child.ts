// Child process of the crash test (sqlite-crash.test.ts): appends statements to the SQLite store
// in a loop until it is killed, printing each committed leaf index so the parent knows what was
// acknowledged. Statement sizes vary so that a kill lands inside transactions of every length.
import { randomBytes, randomInt } from 'node:crypto';
import { openSqliteStore } from '@sigil/server';

const file = process.argv[2];
if (file === undefined) throw new Error('usage: crash-child <db file>');
const store = await openSqliteStore(file);
await store.createAccount({ id: 'crash', kind: 'service', createdAt: 1 });
process.stdout.write('ready\n');
for (;;) {
  const bytes = randomBytes(randomInt(1, 48 * 1024));
  const { leafIndex } = await store.appendStatement({ accountId: 'crash', kind: 'load', bytes, now: Date.now() });
  process.stdout.write(`${leafIndex}\n`);
}
