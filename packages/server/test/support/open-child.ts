// Child process of the simultaneous-start test (sqlite-open-race.test.ts): for each line on
// stdin (a database file), opens the store there (creating and migrating it), closes it, and
// answers "ok" or the error's code on a line of its own.
import { createInterface } from 'node:readline';
import { openSqliteStore } from '@sigil/server';

process.stdout.write('ready\n');
for await (const file of createInterface({ input: process.stdin })) {
  try {
    const store = await openSqliteStore(file);
    await store.close();
    process.stdout.write('ok\n');
  } catch (e) {
    process.stdout.write(`${String((e as { code?: unknown }).code ?? (e as Error).message)}\n`);
  }
}
