// Issue 13, items 1 and 4, on a real full disk: the directory in-process over a SQLite file on a
// small tmpfs of the test's own, filled to the last byte. Whatever SQLite manages to write in the
// space left, a request is answered 200 only if its write committed, else 503 with a code; no id
// is handed out twice; a refused genesis leaves no account behind; a challenge is taken once.
// When the space is back, everything works again without a restart.
import path from 'node:path';
import { WebCryptoKeyBackend } from '@sigil/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { b64u, createServiceAccount, envelopeLike, lookupVerified, makeDirectory, postStatement, serviceSession, signServiceGenesis, type Directory } from './directory-fixture.js';
import { mountSmallDisk, type SmallDisk } from './support/tmpfs.js';

let disk: SmallDisk;
let dir: Directory;
beforeAll(async () => {
  disk = mountSmallDisk(8 * 1024 * 1024);
  // The sender budget (issue 12) would refuse this test's 68 posts long before the disk does.
  dir = await makeDirectory({ file: path.join(disk.dir, 'sigil.db'), config: { mailboxSendLimit: { messages: 100_000, bytes: 1 << 30, windowMs: 60_000 } } });
});
afterAll(async () => {
  await dir.close();
  disk.unmount();
});

const UNAVAILABLE = ['E_STORAGE_FULL', 'E_UNAVAILABLE'];

describe('a full disk', () => {
  it('mailbox: 200 only for stored messages, 503 E_STORAGE_FULL for the rest, ids never reused, back to normal when space returns', async () => {
    const alice = await createServiceAccount(dir, 'alice');
    await createServiceAccount(dir, 'bob');
    const token = await serviceSession(dir, 'alice', alice.backend, alice.root);
    const envelopeB64 = b64u(envelopeLike(16_000)); // posts must parse as an envelope header (issue 12)
    const post = () => dir.call('POST', '/v1/mailbox/bob', { body: { envelopeB64 }, token });
    const acked = new Set<number>();
    const ack = (res: { status: number; body: any }) => {
      expect(acked.has(res.body.id), `id ${res.body.id} handed out twice`).toBe(false);
      acked.add(res.body.id as number);
    };
    for (let i = 0; i < 3; i++) ack(await post());

    disk.fill();
    const refusals: string[] = [];
    for (let i = 0; i < 60; i++) {
      const res = await post();
      if (res.status === 200) ack(res);
      else {
        expect(res.status, JSON.stringify(res.body)).toBe(503);
        refusals.push(res.body.error.code as string);
      }
    }
    expect(refusals.length).toBeGreaterThan(0);
    expect(refusals.every((c) => UNAVAILABLE.includes(c))).toBe(true);
    expect(refusals).toContain('E_STORAGE_FULL');
    expect(dir.logger.lines.some((l) => l.includes('"service unavailable"') && l.includes('E_STORAGE_FULL'))).toBe(true);

    disk.free();
    for (let i = 0; i < 5; i++) {
      const res = await post();
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      ack(res);
    }
    // Every acknowledged message is stored, and nothing else.
    const bob = await createServiceAccount(dir, 'bob-reader').then(() => dir.store.listMessages('bob', { limit: 1000 }));
    expect(new Set(bob.map((m) => m.id))).toEqual(acked);
  });

  it('statements: a genesis refused for want of space leaves no account; each answered 200 is served', async () => {
    const backend = new WebCryptoKeyBackend();
    const geneses = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const root = await backend.generateKeyPair({ usage: 'sign', label: `full-${i}` });
        return { id: `full-${i}`, bytes: await signServiceGenesis(`full-${i}`, backend, root) };
      }),
    );
    disk.fill();
    const answers: { id: string; status: number; code?: string }[] = [];
    for (const g of geneses) {
      const res = await postStatement(dir, g.bytes);
      answers.push({ id: g.id, status: res.status, code: res.body?.error?.code });
    }
    const refused = answers.filter((a) => a.status !== 200);
    expect(refused.length).toBeGreaterThan(0);
    for (const a of refused) {
      expect(a.status).toBe(503);
      expect(UNAVAILABLE).toContain(a.code);
      // No orphan account: the account row comes with its genesis or not at all.
      const statements = (await dir.store.getAccount(a.id)) === undefined ? undefined : await dir.store.listStatements(a.id);
      expect(statements === undefined || statements.length === 1, `${a.id}: an account without its genesis`).toBe(true);
    }
    disk.free();
    for (const a of answers) {
      const res = await dir.call('GET', `/v1/accounts/${a.id}`);
      if (a.status === 200) await lookupVerified(dir, a.id);
      else expect([200, 404]).toContain(res.status); // 200 only if the genesis had committed before the checkpoint failed
    }
    // Refused geneses are accepted once the space is back (or found already stored: 409 never).
    for (const g of geneses.filter((x) => refused.some((r) => r.id === x.id))) {
      const res = await postStatement(dir, g.bytes);
      if (res.status !== 200) expect(res.body.error.code).toBe('E_DIRECTORY_PROOF'); // a replay of a stored genesis
      await lookupVerified(dir, g.id);
    }
  });

  it('challenges: a challenge reported taken is gone; one the disk refused to delete can be taken later, once', async () => {
    const expiresAt = dir.now() + 60_000;
    const names = Array.from({ length: 30 }, (_, i) => `challenge-${i}-${'x'.repeat(200)}`);
    for (const challenge of names) expect(await dir.store.putChallenge({ challenge, purpose: 'test', expiresAt })).toBe(true);
    disk.fill();
    const taken = new Map<string, number>();
    let failed = 0;
    for (const challenge of names) {
      try {
        if ((await dir.store.takeChallenge(challenge, dir.now())) !== undefined) taken.set(challenge, 1);
      } catch (e) {
        expect((e as { code?: unknown }).code).toBe('SQLITE_FULL');
        failed++;
      }
    }
    disk.free();
    for (const challenge of names) {
      if ((await dir.store.takeChallenge(challenge, dir.now())) !== undefined) taken.set(challenge, (taken.get(challenge) ?? 0) + 1);
    }
    expect([...taken.values()].every((n) => n === 1)).toBe(true);
    expect(taken.size).toBe(names.length);
    expect(failed).toBeGreaterThanOrEqual(0);
  });
});
