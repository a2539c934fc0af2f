// Issue 13, item 3: a lost database beside a surviving log key. Deleted or truncated, the
// database would start a new log under the same key, and its size-3 checkpoint would differ from
// the old size-3 checkpoint while both verify: a fork. The server keeps the last checkpoint the
// key signed beside the database and refuses to start on a database that lost that tree, unless
// the operator says explicitly that a new log begins.
import { mkdtempSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SigilError } from '@sigil/sdk/errors';
import { WebCryptoKeyBackend } from '@sigil/sdk';
import { openCheckpoint, parseLogVerifierKey } from '@sigil/sdk/transparency';
import { loadSoftwareLogKey, memoryLogger, startDirectoryServer, type RunningDirectory } from '@sigil/server';
import { afterAll, describe, expect, it } from 'vitest';
import { b64u, signServiceGenesis } from './directory-fixture.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'sigil-lost-db-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function start(db: string, newLogUnderSignedKey = false): Promise<RunningDirectory & { lines: string[] }> {
  const logger = memoryLogger();
  const logKey = await loadSoftwareLogKey(`${db}.logkey`, logger);
  const running = await startDirectoryServer({ db, host: '127.0.0.1', port: 0, logOrigin: 'sigil.test/log', config: {}, logKey, logger, newLogUnderSignedKey });
  return Object.assign(running, { lines: logger.lines });
}

/** Three new service accounts; the checkpoint after them (note). */
async function appendThree(server: RunningDirectory, tag: string): Promise<string> {
  const backend = new WebCryptoKeyBackend();
  for (let i = 0; i < 3; i++) {
    const id = `${tag}-${i}`;
    const root = await backend.generateKeyPair({ usage: 'sign', label: id });
    const res = await fetch(`${server.url}/v1/statements`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ statementB64: b64u(await signServiceGenesis(id, backend, root)) }),
    });
    expect(res.status).toBe(200);
  }
  return ((await (await fetch(`${server.url}/v1/log/checkpoint`)).json()) as { note: string }).note;
}

async function startFails(db: string): Promise<string | undefined> {
  try {
    const s = await start(db);
    await s.close();
    return undefined;
  } catch (e) {
    return SigilError.is(e) ? e.code : String(e);
  }
}

describe('a lost database beside a surviving log key', () => {
  for (const loss of ['deleted', 'truncated'] as const) {
    it(`${loss}: the server refuses to start a second log under the key`, async () => {
      const db = path.join(tmp, `${loss}.db`);
      const first = await start(db);
      await appendThree(first, 'old');
      await first.close();
      // A restart on the intact database is fine.
      const again = await start(db);
      await again.close();

      for (const suffix of ['', '-wal', '-shm']) {
        if (loss === 'deleted') rmSync(`${db}${suffix}`, { force: true });
        else if (suffix === '') truncateSync(db, 0);
        else rmSync(`${db}${suffix}`, { force: true });
      }
      expect(await startFails(db)).toBe('E_DIRECTORY_FORK');
      expect(await startFails(db)).toBe('E_DIRECTORY_FORK'); // and still after a failed start
    });
  }

  it('starts a new log only on the operator\'s explicit word, says so at error level, and then goes on', async () => {
    const db = path.join(tmp, 'override.db');
    const first = await start(db);
    const vkey = await parseLogVerifierKey(first.vkey);
    const oldNote = await appendThree(first, 'old');
    await first.close();
    rmSync(db);
    rmSync(`${db}-wal`, { force: true });
    rmSync(`${db}-shm`, { force: true });

    const forced = await start(db, true);
    expect(forced.lines.some((l) => l.includes('"level":"error"') && l.includes('NEW log under a key that signed another'))).toBe(true);
    const newNote = await appendThree(forced, 'new');
    await forced.close();
    // What clients will see (docs/DIRECTORY.md): two checkpoints of size 3 under one key, both
    // valid, with different roots: a fork.
    const [a, b] = [await openCheckpoint(oldNote, vkey), await openCheckpoint(newNote, vkey)];
    expect([a.size, b.size]).toEqual([3, 3]);
    expect(Buffer.compare(Buffer.from(a.rootHash), Buffer.from(b.rootHash))).not.toBe(0);
    // The new log is now the one recorded: it restarts without the flag.
    const next = await start(db);
    await next.close();
  });
});
