// Floods on a real server on loopback (startDirectoryServer, a SQLite file, sockets): the mailbox
// flood measured before the limits (450 posts of 1 MiB, no 429; then one list of 450 stalled the
// event loop 12 s, reached 1.85 GB RSS and ended in a 500), and rate limits behind a trusted
// proxy. Bounds are asserted as counts and sizes, never as times.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSoftwareLogKey, silentLogger, startDirectoryServer, type DirectoryConfig, type RunningDirectory } from '@sigil/server';
import { appCaller, b64u, createServiceAccount, envelopeLike, serviceSession, type Directory } from './directory-fixture.js';

const MiB = 1024 * 1024;
let dirPath: string;
beforeAll(() => {
  dirPath = mkdtempSync(path.join(tmpdir(), 'sigil-flood-'));
});
afterAll(() => rmSync(dirPath, { recursive: true, force: true }));

async function start(name: string, config: Partial<DirectoryConfig> = {}): Promise<RunningDirectory> {
  const db = path.join(dirPath, `${name}.db`);
  return startDirectoryServer({
    db,
    host: '127.0.0.1',
    port: 0,
    logOrigin: 'sigil.test/log',
    config,
    logKey: await loadSoftwareLogKey(`${db}.logkey`, silentLogger),
    logger: silentLogger,
  });
}

/** A POST over the socket; the status and error code (if any). */
async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; code?: string }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const json = (await res.json()) as { error?: { code: string } };
  return json.error === undefined ? { status: res.status } : { status: res.status, code: json.error.code };
}

describe('the mailbox flood, rerun on a real server with the default limits', () => {
  let server: RunningDirectory;
  beforeAll(async () => {
    server = await start('mailbox');
  });
  afterAll(() => server.close());

  it('gets 429 after 16 MiB from one sender, 413 once the recipient holds 64 MiB, and lists in pages of at most 2 MiB of envelopes', async () => {
    // Accounts and sessions in-process on the same server's app (the socket is for the flood).
    const setup = { call: appCaller(server.directory.app) } as Directory;
    const senders: string[] = [];
    for (let i = 0; i < 5; i++) {
      const s = await createServiceAccount(setup, `sender-${i}`);
      senders.push(await serviceSession(setup, s.id, s.backend, s.root));
    }
    const r = await createServiceAccount(setup, 'recipient');
    const recipient = await serviceSession(setup, r.id, r.backend, r.root);
    const envelope = { envelopeB64: b64u(envelopeLike(MiB)) };

    // One sender, as measured before: 450 posts of 1 MiB.
    const first: { status: number; code?: string }[] = [];
    for (let i = 0; i < 450; i++) {
      const res = await post(`${server.url}/v1/mailbox/recipient`, envelope, { authorization: `Bearer ${senders[0]}` });
      first.push(res);
      if (res.status !== 200) break;
    }
    expect(first.filter((x) => x.status === 200)).toHaveLength(16); // 16 MiB a minute
    expect(first.at(-1)).toEqual({ status: 429, code: 'E_RATE_LIMITED' });

    // More senders, each within its budget, fill the recipient's quota: 64 MiB.
    const outcomes = new Map<string, number>();
    for (const token of senders.slice(1)) {
      for (let i = 0; i < 17; i++) {
        const res = await post(`${server.url}/v1/mailbox/recipient`, envelope, { authorization: `Bearer ${token}` });
        const key = `${res.status} ${res.code ?? ''}`.trim();
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
        if (res.status === 429) break;
      }
    }
    expect(outcomes.get('200')).toBe(64 - 16);
    expect(outcomes.get('413 E_MAILBOX_FULL')).toBeGreaterThan(0);
    expect((await server.directory.context.store.listMessages('recipient', { limit: 1000 })).length).toBe(64);

    // The list that used to take the server down: pages of at most 2 MiB of envelopes.
    const pageSizes: number[] = [];
    const counts: number[] = [];
    let after = 0;
    for (let pages = 0; pages < 100; pages++) {
      const res = await fetch(`${server.url}/v1/mailbox?limit=450&after=${after}`, { headers: { authorization: `Bearer ${recipient}` } });
      expect(res.status).toBe(200);
      const text = await res.text();
      const messages = (JSON.parse(text) as { messages: { id: number }[] }).messages;
      if (messages.length === 0) break;
      pageSizes.push(text.length);
      counts.push(messages.length);
      after = messages.at(-1)!.id;
    }
    expect(counts.reduce((a, b) => a + b, 0)).toBe(64);
    expect(Math.max(...counts)).toBe(2); // 2 x 1 MiB = the 2 MiB page
    expect(Math.max(...pageSizes)).toBeLessThan(3 * MiB); // base64 of 2 MiB, and the JSON around it
  }, 120_000);
});

describe('rate limits behind a reverse proxy', () => {
  let proxied: RunningDirectory;
  let direct: RunningDirectory;
  beforeAll(async () => {
    const limits = { authRateLimit: { limit: 2, windowMs: 60_000 } };
    proxied = await start('proxied', { ...limits, trustedProxies: ['127.0.0.1'] });
    direct = await start('direct', limits);
  });
  afterAll(async () => {
    await proxied.close();
    await direct.close();
  });

  const challenge = (server: RunningDirectory, forwardedFor: string) =>
    post(`${server.url}/v1/auth/service/challenge`, { accountId: 'nobody' }, { 'x-forwarded-for': forwardedFor });

  it('counts each client behind a trusted proxy on its own, by the address the proxy appended', async () => {
    const a = [await challenge(proxied, '203.0.113.1'), await challenge(proxied, '203.0.113.1'), await challenge(proxied, '203.0.113.1')];
    expect(a.map((x) => x.status)).toEqual([404, 404, 429]);
    expect(a[2]!.code).toBe('E_RATE_LIMITED');
    expect((await challenge(proxied, '203.0.113.2')).status).toBe(404); // another client: its own budget
    // A client cannot escape its bucket by writing its own X-Forwarded-For: the proxy appends the
    // address it saw, and that rightmost entry is the one counted.
    expect((await challenge(proxied, '198.51.100.7, 203.0.113.1')).status).toBe(429);
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', async () => {
    const statuses = [];
    for (const forwarded of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) statuses.push((await challenge(direct, forwarded)).status);
    expect(statuses).toEqual([404, 404, 429]); // one bucket: the socket's address
  });
});
