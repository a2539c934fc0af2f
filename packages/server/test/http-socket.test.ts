// The HTTP shell on a real socket (loopback): what app.request() cannot show, because it is about
// connections and bytes on the wire.
import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpApp } from '../src/http/app.js';
import { memoryLogger } from '../src/http/logger.js';

let server: ServerType;
let url: string;

beforeAll(async () => {
  const app = createHttpApp({ logger: memoryLogger(), maxBodyBytes: 64 * 1024 });
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
});
