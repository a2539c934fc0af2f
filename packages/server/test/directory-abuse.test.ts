// Abuse of the directory, each attack reproduced in-process (app.request()) and shown caught:
// a revoked device's session, mailbox floods and junk, statement floods, deep JSON. The ones about
// sockets and memory run on a real server in directory-flood.test.ts.
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { chainAfter, signStatement } from '@sigil/sdk/identity';
import { jsonNestingExceeds } from '../src/http/json-depth.js';
import {
  addDevice,
  b64u,
  createServiceAccount,
  envelopeLike,
  makeDirectory,
  postStatement,
  serviceSession,
  type Directory,
} from './directory-fixture.js';

let dir: Directory;
afterEach(() => dir.close());

describe('a session belongs to the key that opened it', () => {
  beforeEach(async () => {
    dir = await makeDirectory();
  });

  it("ends when its device is revoked: no mail listed or deleted, no backup read or overwritten; the root's session goes on", async () => {
    const a = await createServiceAccount(dir, 'svc-a');
    const device = await addDevice(dir, a);
    const rootToken = await serviceSession(dir, 'svc-a', a.backend, a.root);
    const deviceToken = await serviceSession(dir, 'svc-a', device.backend, device.signing);
    const sent = await dir.call('POST', '/v1/mailbox/svc-a', { body: { envelopeB64: b64u(envelopeLike()) }, token: rootToken });
    expect(sent.status).toBe(200);
    expect((await dir.call('PUT', '/v1/accounts/svc-a/backup', { body: { dataB64: b64u(Uint8Array.of(1, 2, 3)) }, token: deviceToken })).status).toBe(204);
    expect((await dir.call('GET', '/v1/mailbox', { token: deviceToken })).status).toBe(200);

    const revocation = await signStatement(
      { kind: 'device-revocation', ...chainAfter(a.state, a.root.id, a.state.time), deviceId: device.signing.id },
      { backend: a.backend, ref: a.root },
    );
    expect((await postStatement(dir, revocation)).status).toBe(200);

    // Within the session's 15 minutes, and with nothing else changed: every use is refused.
    const uses = [
      await dir.call('GET', '/v1/mailbox', { token: deviceToken }),
      await dir.call('DELETE', `/v1/mailbox/${sent.body.id}`, { token: deviceToken }),
      await dir.call('GET', '/v1/accounts/svc-a/backup', { token: deviceToken }),
      await dir.call('PUT', '/v1/accounts/svc-a/backup', { body: { dataB64: b64u(Uint8Array.of(9)) }, token: deviceToken }),
      await dir.call('POST', '/v1/mailbox/svc-a', { body: { envelopeB64: b64u(envelopeLike()) }, token: deviceToken }),
    ];
    expect(uses.map((r) => r.status)).toEqual([401, 401, 401, 401, 401]);
    expect(uses[0]!.body.error.code).toBe('E_KEY_REVOKED');
    expect(uses.slice(1).map((r) => r.body.error.code)).toEqual(['E_UNAUTHORIZED', 'E_UNAUTHORIZED', 'E_UNAUTHORIZED', 'E_UNAUTHORIZED']); // deleted at first use
    // Nothing the revoked device asked for happened.
    expect((await dir.store.listMessages('svc-a')).map((m) => m.id)).toEqual([sent.body.id]);
    const backup = await dir.call('GET', '/v1/accounts/svc-a/backup', { token: rootToken });
    expect(backup.status).toBe(200);
    expect(backup.body.dataB64).toBe(b64u(Uint8Array.of(1, 2, 3)));
    expect((await dir.call('GET', '/v1/mailbox', { token: rootToken })).body.messages).toHaveLength(1);
  });
});

describe('mailbox', () => {
  const body = (bytes: Uint8Array) => ({ envelopeB64: b64u(bytes) });

  it('refuses posts that are not an envelope (422 with the format code), before storing anything', async () => {
    dir = await makeDirectory();
    const a = await createServiceAccount(dir, 'svc-a');
    const t = await serviceSession(dir, 'svc-a', a.backend, a.root);
    const junk = await dir.call('POST', '/v1/mailbox/svc-a', { body: body(new Uint8Array(1000).fill(7)), token: t });
    expect([junk.status, junk.body.error.code]).toEqual([422, 'E_FORMAT']);
    const cut = await dir.call('POST', '/v1/mailbox/svc-a', { body: body(envelopeLike().subarray(0, 150)), token: t });
    expect([cut.status, cut.body.error.code]).toEqual([422, 'E_TRUNCATED']);
    const badKey = envelopeLike();
    badKey[50]! ^= 1; // the sender key (bytes 42-106, FORMAT.md §3.1) is no longer on the curve
    const bad = await dir.call('POST', '/v1/mailbox/svc-a', { body: body(badKey), token: t });
    expect([bad.status, bad.body.error.code]).toEqual([422, 'E_BAD_PUBLIC_KEY']);
    expect(await dir.store.listMessages('svc-a')).toEqual([]);
    expect((await dir.call('POST', '/v1/mailbox/svc-a', { body: body(envelopeLike()), token: t })).status).toBe(200);
  });

  it("brakes a sender at its budget of messages and of bytes per window (429 with Retry-After), and lets it go on in the next window", async () => {
    dir = await makeDirectory({ config: { mailboxSendLimit: { messages: 5, bytes: 4000, windowMs: 60_000 } } });
    const a = await createServiceAccount(dir, 'svc-a');
    const b = await createServiceAccount(dir, 'svc-b');
    const ta = await serviceSession(dir, 'svc-a', a.backend, a.root);
    const tb = await serviceSession(dir, 'svc-b', b.backend, b.root);
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await dir.call('POST', '/v1/mailbox/svc-b', { body: body(envelopeLike(300, i)), token: ta })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    const res = await dir.app.request('/v1/mailbox/svc-b', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ta}` },
      body: JSON.stringify(body(envelopeLike())),
    });
    expect(res.status).toBe(429);
    expect((await res.json()).error.code).toBe('E_RATE_LIMITED');
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(res.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect((await dir.store.listMessages('svc-b')).length).toBe(5);
    // Another sender has its own budget; bytes count too (4000 bytes: three of 1,200, not four).
    const big = [];
    for (let i = 0; i < 4; i++) big.push((await dir.call('POST', '/v1/mailbox/svc-a', { body: body(envelopeLike(1200, i)), token: tb })).status);
    expect(big).toEqual([200, 200, 200, 429]);
    dir.advance(60_000);
    expect((await dir.call('POST', '/v1/mailbox/svc-b', { body: body(envelopeLike()), token: ta })).status).toBe(200);
  });

  it("holds each recipient to its quota (413 E_MAILBOX_FULL), whoever sends, until it deletes", async () => {
    dir = await makeDirectory({ config: { mailboxQuota: { maxMessages: 3, maxBytes: 100_000 } } });
    const a = await createServiceAccount(dir, 'svc-a');
    const b = await createServiceAccount(dir, 'svc-b');
    const c = await createServiceAccount(dir, 'svc-c');
    const ta = await serviceSession(dir, 'svc-a', a.backend, a.root);
    const tb = await serviceSession(dir, 'svc-b', b.backend, b.root);
    const tc = await serviceSession(dir, 'svc-c', c.backend, c.root);
    const post = (token: string, to: string) => dir.call('POST', `/v1/mailbox/${to}`, { body: body(envelopeLike()), token });
    expect([(await post(ta, 'svc-c')).status, (await post(tb, 'svc-c')).status, (await post(ta, 'svc-c')).status]).toEqual([200, 200, 200]);
    const full = await post(tb, 'svc-c');
    expect([full.status, full.body.error.code]).toEqual([413, 'E_MAILBOX_FULL']);
    expect((await post(tb, 'svc-a')).status).toBe(200); // another mailbox
    const first = (await dir.call('GET', '/v1/mailbox', { token: tc })).body.messages[0];
    expect((await dir.call('DELETE', `/v1/mailbox/${first.id}`, { token: tc })).status).toBe(204);
    expect((await post(tb, 'svc-c')).status).toBe(200);
  });

  it('bounds a list page by the bytes of its envelopes, whatever limit asks, and pages through every message', async () => {
    dir = await makeDirectory({ config: { mailboxPageBytes: 1000 } });
    const a = await createServiceAccount(dir, 'svc-a');
    const t = await serviceSession(dir, 'svc-a', a.backend, a.root);
    for (let i = 0; i < 7; i++) expect((await dir.call('POST', '/v1/mailbox/svc-a', { body: body(envelopeLike(400, i)), token: t })).status).toBe(200);
    const seen: number[] = [];
    let after = 0;
    for (let pages = 0; pages < 10; pages++) {
      const res = await dir.app.request(`/v1/mailbox?limit=1000&after=${after}`, { headers: { authorization: `Bearer ${t}` } });
      const text = await res.text();
      const messages = JSON.parse(text).messages as { id: number; envelopeB64: string }[];
      if (messages.length === 0) break;
      expect(messages.length).toBeLessThanOrEqual(2); // 2 x 400 bytes fit in 1000, 3 do not
      expect(text.length).toBeLessThan(2 * 1000); // base64 and JSON around 1000 bytes of envelopes
      seen.push(...messages.map((m) => Buffer.from(m.envelopeB64, 'base64url').at(-1)!));
      after = messages.at(-1)!.id;
    }
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });
});

describe('statement submission', () => {
  it('is rate-limited per client address (429 E_RATE_LIMITED) before any verification', async () => {
    dir = await makeDirectory({ config: { statementRateLimit: { limit: 3, windowMs: 60_000 } } });
    const statuses: number[] = [];
    const codes: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await dir.call('POST', '/v1/statements', { body: { statementB64: 'AAAA' } });
      statuses.push(res.status);
      codes.push(res.body.error.code);
    }
    expect(statuses).toEqual([422, 422, 422, 429, 429]);
    expect(codes.slice(3)).toEqual(['E_RATE_LIMITED', 'E_RATE_LIMITED']);
    expect((await dir.call('GET', '/v1/accounts/svc-a')).status).toBe(404); // reads are not braked by it
  });
});

describe('JSON nesting', () => {
  it('refuses 2 MB of arrays nested a million deep without parsing them (400 E_BAD_REQUEST)', async () => {
    dir = await makeDirectory();
    const deep = '['.repeat(1_000_000) + ']'.repeat(1_000_000);
    const parse = vi.spyOn(JSON, 'parse');
    try {
      const res = await dir.call('POST', '/v1/statements', { raw: deep });
      expect([res.status, res.body.error.code]).toEqual([400, 'E_BAD_REQUEST']);
      expect(parse.mock.calls.filter(([text]) => typeof text === 'string' && text.length > 100_000)).toHaveLength(0);
    } finally {
      parse.mockRestore();
    }
  });

  it('lets 32 levels through to validation and refuses 33', async () => {
    dir = await makeDirectory();
    const nested = (depth: number) => JSON.stringify({ statementB64: 'AAAA', x: JSON.parse('['.repeat(depth - 1) + ']'.repeat(depth - 1)) });
    const ok = await dir.call('POST', '/v1/statements', { raw: nested(32) });
    expect(ok.body.error.code).not.toBe('E_BAD_REQUEST'); // read and validated: the statement itself is refused
    const deep = await dir.call('POST', '/v1/statements', { raw: nested(33) });
    expect([deep.status, deep.body.error.code]).toEqual([400, 'E_BAD_REQUEST']);
  });

  it('counts nesting exactly for any JSON value (property), ignoring brackets inside strings', () => {
    const depthOf = (v: unknown): number =>
      v !== null && typeof v === 'object' ? 1 + Math.max(0, ...Object.values(v as object).map(depthOf)) : 0;
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.integer({ min: 0, max: 7 }), (value, max) => {
        expect(jsonNestingExceeds(JSON.stringify(value), max)).toBe(depthOf(value) > max);
      }),
    );
    expect(jsonNestingExceeds('["[[[[", "\\"[[[", {"]]]": "{{{"}]', 2)).toBe(false);
    expect(jsonNestingExceeds('[[[]]]', 2)).toBe(true);
  });
});
