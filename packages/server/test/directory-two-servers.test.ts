// Two directory servers over one SQLite file (two processes in production, two connections
// here): a lookup on one server always serves what the other has appended, with its cached
// answers and the checkpoint it saw last never standing in for a newer tree.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebCryptoKeyBackend, type KeyBackend, type KeyRef } from '@sigil/sdk';
import { openCheckpoint, parseLogVerifierKey } from '@sigil/sdk/transparency';
import { SqliteStore, TransparencyLog, createDirectoryApp, type Store } from '@sigil/server';
import { LOG_ORIGIN, addDevice, createServiceAccount, lookupVerified, makeDirectory, type Directory } from './directory-fixture.js';

describe('two directory servers on one store', () => {
  let dir: string;
  let a: Directory;
  let b: Directory;
  let file: string;
  let logBackend: { backend: KeyBackend; key: KeyRef };
  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sigil-two-servers-'));
    const backend = new WebCryptoKeyBackend();
    logBackend = { backend, key: await backend.generateKeyPair({ usage: 'sign', label: 'log' }) };
    file = path.join(dir, 'sigil.db');
    a = await makeDirectory({ file, logBackend });
    b = await makeDirectory({ file, logBackend });
  });
  afterEach(async () => {
    await a.close();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves the other server's appends at once, past its cached answers", async () => {
    expect((await b.call('GET', '/v1/accounts/alice%40example.com')).status).toBe(404);
    const alice = await createServiceAccount(a, 'alice@example.com');
    for (let round = 0; round < 4; round++) {
      // Looked up twice on each server, so that both have cached the answer (lookup-cache.ts).
      for (const server of [a, b, a, b]) {
        const { body, checkpoint } = await lookupVerified(server, alice.id);
        expect(body.statements.length).toBe(alice.statements.length);
        expect(checkpoint.size).toBe(await a.store.treeSize());
      }
      // The next statement lands through one server; the other must serve it next.
      const writer = round % 2 === 0 ? a : b;
      await addDevice(writer, alice, `device ${round}`);
      const reader = writer === a ? b : a;
      const { body, checkpoint } = await lookupVerified(reader, alice.id);
      expect((body.statements as { statementB64: string }[]).map((s) => s.statementB64)).toEqual(
        alice.statements.map((s) => Buffer.from(s).toString('base64url')),
      );
      expect(checkpoint.size).toBe(await reader.store.treeSize());
    }
    // An account created through one server is found through the other.
    await createServiceAccount(b, 'bob@example.com');
    expect((await lookupVerified(a, 'bob@example.com')).body.statements.length).toBe(1);
  });

  it('a statement appended while a lookup is between its account read and a newer checkpoint is served', async () => {
    // A third server whose store runs `between` right after its next account read returns.
    let between: (() => Promise<void>) | undefined;
    const raw = new SqliteStore(file);
    const store = new Proxy(raw, {
      get(target, name) {
        const value = Reflect.get(target, name) as unknown;
        // Lookups read accounts together (getManyAccountStatements), re-reads one at a time.
        if (name === 'getAccountStatements' || name === 'getManyAccountStatements') {
          return async (ids: never) => {
            const read = (await (value as (ids: never) => Promise<unknown>).call(target, ids)) as unknown;
            const run = between;
            between = undefined;
            await run?.();
            return read;
          };
        }
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    }) as Store;
    try {
      const { app } = createDirectoryApp({ store, log: new TransparencyLog(store, { origin: LOG_ORIGIN, signer: logBackend }) });
      const pinned = await parseLogVerifierKey(a.vkey);
      const lookup = async (id: string) => (await (await app.request(`/v1/accounts/${encodeURIComponent(id)}`)).json()) as { checkpoint: string; statements: unknown[] };
      const alice = await createServiceAccount(a, 'alice@example.com');
      expect((await lookup(alice.id)).statements.length).toBe(1); // this server has seen the tree at size 1
      await createServiceAccount(a, 'bob@example.com'); // size 2: its checkpoint is behind
      // Its next lookup reads alice at size 2, then, before it gets the latest checkpoint,
      // alice's device certificate lands through server A (size 3).
      between = async () => {
        await addDevice(a, alice);
      };
      const answer = await lookup(alice.id);
      expect(between).toBeUndefined();
      expect((await openCheckpoint(answer.checkpoint, pinned)).size).toBe(3);
      expect(answer.statements.length).toBe(2); // all of alice's statements below the checkpoint's size
    } finally {
      await raw.close();
    }
  });
});
