import { createRoute, z } from '@hono/zod-openapi';
import { describe, expect, it } from 'vitest';
import { SigilError } from '@sigil/sdk';
import { API_HEADERS, apiJson, createHttpApp, jsonText } from '../src/http/app.js';
import { ApiError } from '../src/http/errors.js';
import { memoryLogger } from '../src/http/logger.js';
import { addressRateLimit } from '../src/http/rate-limit.js';

const Echo = z.object({ name: z.string().min(1).max(20), count: z.number().int().nonnegative() });

function makeApp() {
  const logger = memoryLogger();
  const app = createHttpApp({ logger, maxBodyBytes: 1024 });
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/echo',
      request: { body: { content: { 'application/json': { schema: Echo } }, required: true } },
      responses: { 200: { description: 'ok', content: { 'application/json': { schema: Echo } } } },
    }),
    (c) => c.json(c.req.valid('json'), 200),
  );
  app.get('/v1/boom', () => {
    throw new Error('secret-internal-detail');
  });
  app.get('/v1/domain', () => {
    throw new SigilError('E_DIRECTORY_PROOF', 'proof does not verify');
  });
  app.get('/v1/forbidden', () => {
    throw new ApiError(403, 'E_FORBIDDEN', 'Not yours.');
  });
  app.use('/v1/auth/*', addressRateLimit({ limit: 3, windowMs: 60_000 }));
  app.post('/v1/auth/start', (c) => c.json({ ok: true }));
  app.get('/v1/fast', (c) => apiJson(c, jsonText({ fast: true })));
  app.doc31('/v1/openapi.json', { openapi: '3.1.0', info: { title: 't', version: '1' } });
  return { app, logger };
}

const post = (body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  ({ method: 'POST', body, headers }) as const;

describe('HTTP shell', () => {
  it('sends the API headers and a distinct request id on every answer: fast path, c.json, 4xx, 404, 500', async () => {
    const { app, logger } = makeApp();
    const answers = [
      await app.request('/v1/fast'),
      await app.request('/v1/echo', post(JSON.stringify({ name: 'a', count: 1 }))),
      await app.request('/v1/echo', post('{')),
      await app.request('/v1/forbidden'),
      await app.request('/v1/nowhere'),
      await app.request('/v1/boom'),
    ];
    expect(answers.map((r) => r.status)).toEqual([200, 200, 400, 403, 404, 500]);
    expect(await answers[0]!.json()).toEqual({ fast: true });
    expect(answers[0]!.headers.get('content-type')).toBe('application/json');
    expect(API_HEADERS['content-security-policy']).toContain("default-src 'none'");
    const ids = new Set<string>();
    for (const res of answers) {
      for (const [name, value] of Object.entries(API_HEADERS)) expect(res.headers.get(name), name).toBe(value);
      const id = res.headers.get('x-request-id');
      expect(id).toMatch(/^[\w-]{8,}$/);
      ids.add(id!);
    }
    expect(ids.size).toBe(answers.length);
    // The access log names the same ids.
    const logged = logger.lines.map((l) => JSON.parse(l) as { msg: string; requestId?: string }).filter((l) => l.msg === 'request');
    expect(logged.map((l) => l.requestId)).toEqual(answers.map((r) => r.headers.get('x-request-id')));
  });

  it('accepts a valid body', async () => {
    const { app } = makeApp();
    const res = await app.request('/v1/echo', post(JSON.stringify({ name: 'a', count: 1 })));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ name: 'a', count: 1 });
  });

  it('answers schema failures with 400 E_VALIDATION naming fields, never echoing values', async () => {
    const { app } = makeApp();
    const res = await app.request('/v1/echo', post(JSON.stringify({ name: 'x'.repeat(30) + 'ECHO-ME', count: -1 })));
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('E_VALIDATION');
    expect(body.error.message).toContain('name');
    expect(JSON.stringify(body)).not.toContain('ECHO-ME');
  });

  it('answers a body that is not JSON with a 400 and our error shape', async () => {
    const { app } = makeApp();
    const res = await app.request('/v1/echo', post('{"name": ECHO-ME'));
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string } };
    expect(['E_BAD_REQUEST', 'E_VALIDATION']).toContain(body.error.code);
    expect(JSON.stringify(body)).not.toContain('ECHO-ME');
  });

  it('refuses bodies over the limit with 413', async () => {
    const { app } = makeApp();
    const res = await app.request('/v1/echo', post(JSON.stringify({ name: 'a', count: 1, pad: 'x'.repeat(2000) })));
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('E_BODY_TOO_LARGE');
  });

  it('maps domain and API errors to 4xx, unknown routes to 404', async () => {
    const { app } = makeApp();
    const domain = await app.request('/v1/domain');
    expect(domain.status).toBe(422);
    expect(((await domain.json()) as { error: { code: string } }).error.code).toBe('E_DIRECTORY_PROOF');
    const forbidden = await app.request('/v1/forbidden');
    expect(forbidden.status).toBe(403);
    const missing = await app.request('/v1/nope');
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('E_NOT_FOUND');
  });

  it('turns a bug into a constant 500 body and logs it, without leaking its text to the client', async () => {
    const { app, logger } = makeApp();
    const res = await app.request('/v1/boom');
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toContain('secret-internal-detail');
    expect(JSON.parse(text)).toEqual({ error: { code: 'E_INTERNAL', message: 'Internal error.' } });
    expect(logger.lines.some((l) => l.includes('secret-internal-detail'))).toBe(true);
  });

  it('logs one structured line per request with no body or header content', async () => {
    const { app, logger } = makeApp();
    await app.request('/v1/echo', { ...post(JSON.stringify({ name: 'body-secret', count: 2 })), headers: { 'content-type': 'application/json', authorization: 'Bearer token-secret' } });
    const line = logger.lines.at(-1)!;
    const entry = JSON.parse(line) as Record<string, unknown>;
    expect(entry).toMatchObject({ level: 'info', msg: 'request', method: 'POST', route: '/v1/echo', status: 200 });
    expect(line).not.toContain('body-secret');
    expect(line).not.toContain('token-secret');
  });

  it('rate limits the auth endpoints with 429 E_RATE_LIMITED', async () => {
    const { app } = makeApp();
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await app.request('/v1/auth/start', { method: 'POST' })).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
  });

  it('serves an OpenAPI document generated from the route schemas', async () => {
    const { app } = makeApp();
    const doc = (await (await app.request('/v1/openapi.json')).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toContain('/v1/echo');
  });
});
