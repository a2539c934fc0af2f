// Child process of the head-race test (sqlite-race.test.ts): many times over, reads the account's
// head, then compare-and-appends a successor that names the head it was made for, as a server
// process does after folding the account. Prints "landed" and "conflicts" counts at the end.
import { openSqliteStore } from '@sigil/server';

const [file, tag, rounds] = process.argv.slice(2);
if (file === undefined || tag === undefined || rounds === undefined) throw new Error('usage: race-child <db file> <tag> <rounds>');
const store = await openSqliteStore(file);
// Both processes start racing together: each says it is ready and waits for the parent's go.
process.stdout.write('ready\n');
await new Promise((resolve) => process.stdin.once('data', resolve));
let landed = 0;
let conflicts = 0;
for (let i = 0; i < Number(rounds); i++) {
  const head = (await store.listStatements('race', { limit: 1000 })).at(-1)?.leafIndex ?? null;
  // Give the other process a chance to read the same head before this one appends.
  await new Promise((resolve) => setImmediate(resolve));
  const bytes = new TextEncoder().encode(JSON.stringify({ tag, i, after: head }));
  const record = await store.appendNextStatement({ accountId: 'race', kind: 'k', bytes, now: 1, previousLeafIndex: head });
  if (record === undefined) conflicts++;
  else landed++;
}
await store.close();
process.stdout.write(JSON.stringify({ landed, conflicts }) + '\n');
process.stdin.destroy();
