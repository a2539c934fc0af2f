// The HTTP shell on a real socket (loopback): what app.request() cannot show, because it is about
// connections and bytes on the wire.
import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpApp } from '../src/http/app.js';
import { memoryLogger } from '../src/http/logger.js';
import { addressRateLimit } from '../src/http/rate-limit.js';

let server: ServerType;
let url: string;

beforeAll(async () => {
  const app = createHttpApp({
    logger: memoryLogger(),
    maxBodyBytes: 64 * 1024,
    bodyLimits: [{ prefix: '/v1/limited', maxBytes: 4 * 1024 * 1024 }],
    guards: [{ prefix: '/v1/limited', handler: addressRateLimit({ limit: 1, windowMs: 60_000 }) }],
  });
  app.post('/v1/limited', async (c) => c.json({ got: (await c.req.text()).length }));
  app.post('/v1/echo', async (c) => c.json({ got: Object.keys(await c.req.json()).length }));
  app.get('/v1/small', (c) => c.json({ ok: true }));
  server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('HTTP shell on a socket', () => {
  it.each([
    ['with a Content-Length', (body: string) => body],
    ['chunked', (body: string) => new Blob([body]).stream()],
  ])('answers an oversized body (%s) with 413, and the next request on the same client succeeds', async (_, wrap) => {
    const big = JSON.stringify({ x: 'a'.repeat(2 * 1024 * 1024) });
    for (let round = 0; round < 3; round++) {
      const res = await fetch(`${url}/v1/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: wrap(big) as BodyInit, duplex: 'half' } as RequestInit);
      expect(res.status).toBe(413);
      expect((await res.json()).error.code).toBe('E_BODY_TOO_LARGE');
      const next = await fetch(`${url}/v1/small`);
      expect(next.status).toBe(200);
      expect(await next.json()).toEqual({ ok: true });
    }
  });

  it('refuses a rate-limited request before reading its 2 MB body (429), and the next request on the same client succeeds', async () => {
    const big = JSON.stringify({ x: 'a'.repeat(2 * 1024 * 1024) });
    const send = () => fetch(`${url}/v1/limited`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
    const first = await send();
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ got: big.length });
    for (let round = 0; round < 3; round++) {
      const res = await send();
      expect(res.status).toBe(429);
      expect(res.headers.get('connection')).toBe('close');
      expect((await res.json()).error.code).toBe('E_RATE_LIMITED');
      const next = await fetch(`${url}/v1/small`);
      expect(next.status).toBe(200);
    }
  });
});
