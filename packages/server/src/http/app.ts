// The HTTP shell every route of the directory runs in: request ids, the response headers of a
// JSON API, body-size limit, schema validation errors in one shape, rate limiting, structured
// access logs, and one onError. Routes are declared with @hono/zod-openapi so that the same zod
// schemas validate requests and generate /v1/openapi.json.
//
// Speed: the shell is on every request, so it does little. A few fixed headers instead of
// hono's secureHeaders() (which sets a dozen, most meant for HTML pages, and doubled the cost
// of a trivial route); request ids from a per-process prefix and a counter; one JSON.stringify
// per access-log line. Hot routes answer with `apiJson`, whose headers are a plain object that
// @hono/node-server writes directly.
import { randomBytes } from 'node:crypto';
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler, Next, TypedResponse } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { SigilError } from '@sigil/sdk/errors';
import { ApiError, errorBody, toApiError } from './errors.js';
import { jsonNestingExceeds } from './json-depth.js';
import type { Logger } from './logger.js';

/**
 * Headers on every API response: no MIME sniffing (the bodies are JSON), no referrer, a CSP that
 * lets a response load and frame nothing (it is data, not a page), and no caching (answers
 * change with the log, and some are an account's own).
 */
export const API_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'cache-control': 'no-store',
});

declare module 'hono' {
  interface ContextVariableMap {
    /** This request's id, in its access-log line and the X-Request-Id response header. */
    requestId: string;
    /** Set by `apiJson`: the response already carries the API headers. */
    sigilApiHeaders: boolean;
  }
}

declare const JSON_OF: unique symbol;

/**
 * JSON text, or its UTF-8 bytes, that encodes a `T`: what `apiJson` serves for a route whose
 * response schema is `T`. Made by `jsonText`, or by a writer that assembles the text of a `T`
 * itself (the lookup answer, directory/account-view.ts) and so states, once, what it wrote.
 */
export type JsonOf<T> = (string | Uint8Array<ArrayBuffer>) & { readonly [JSON_OF]: T };

/** `JSON.stringify(value)`, typed as the JSON of a `T` for `apiJson`. */
export function jsonText<T>(value: T): JsonOf<T> {
  return JSON.stringify(value) as JsonOf<T>;
}

/**
 * A 200 JSON response carrying the API headers and the request id, as a plain header object (the
 * fast path of @hono/node-server). `json` is already serialised (text, or its UTF-8 bytes), and
 * typed as the JSON of a `T`, so that the route's response schema checks it as it checks
 * `c.json(value)`.
 */
export function apiJson<T>(c: Context, json: JsonOf<T>): Response & TypedResponse<T, 200, 'json'> {
  c.set('sigilApiHeaders', true);
  // TypedResponse is type-only (hono's own c.json returns a Response typed the same way).
  return new Response(json, {
    status: 200,
    headers: { 'content-type': 'application/json', ...API_HEADERS, 'x-request-id': c.get('requestId') },
  }) as Response & TypedResponse<T, 200, 'json'>;
}

/**
 * Whether the answer goes out before the request's body was read to its end (a 413, a 429 or a
 * 401 decided from the headers). The client may still be sending that body: the connection then
 * carries bytes that belong to no request, so the answer says `Connection: close` (RFC 9112
 * §9.6) and the client opens a new connection for its next request instead of finding this one
 * reset under it. Only a request served by @hono/node-server has a socket to care about.
 */
function bodyLeftUnread(c: Context): boolean {
  const incoming = (c.env as { incoming?: { readableEnded?: boolean; method?: string } } | undefined)?.incoming;
  if (incoming === undefined || incoming.method === 'GET' || incoming.method === 'HEAD') return false;
  return incoming.readableEnded === false;
}

export interface HttpAppOptions {
  readonly logger: Logger;
  /** Largest request body accepted, in bytes. */
  readonly maxBodyBytes: number;
  /** Smaller limits for the paths under a prefix (the first prefix that matches), e.g. `/v1/auth/`. */
  readonly bodyLimits?: readonly { readonly prefix: string; readonly maxBytes: number }[] | undefined;
  /** Deepest nesting of arrays and objects in a JSON body (default 32); deeper is 400 `E_BAD_REQUEST`. */
  readonly maxJsonDepth?: number | undefined;
  /**
   * Middleware that runs before any body is read (rate limits), each on the requests whose path
   * starts with `prefix` (and whose method is `method`, if given): a refused request costs its
   * headers only.
   */
  readonly guards?: readonly { readonly prefix: string; readonly method?: string | undefined; readonly handler: MiddlewareHandler }[] | undefined;
}

/** Default of `HttpAppOptions.maxJsonDepth`: the API's deepest body (a WebAuthn response) nests 5. */
export const DEFAULT_MAX_JSON_DEPTH = 32;

export type HttpApp = OpenAPIHono;

/**
 * Makes the app shell. Validation failures answer 400 `E_VALIDATION` naming the failing
 * fields by path (never their values); bodies over the limit 413; unknown routes 404; anything
 * unexpected 500 `E_INTERNAL`, logged with its stack (a 500 is a bug to fix).
 */
export function createHttpApp(options: HttpAppOptions): HttpApp {
  const { logger } = options;
  const app = new OpenAPIHono({
    defaultHook: (result, c) => {
      if (!result.success) {
        const fields = [...new Set(result.error.issues.map((i) => i.path.join('.') || '(root)'))].slice(0, 10);
        return c.json(errorBody('E_VALIDATION', `Invalid request: check ${fields.join(', ')}.`), 400);
      }
      return undefined;
    },
  });

  // Request ids: unique per process (random prefix) and cheap (a counter); never the client's.
  const idPrefix = randomBytes(6).toString('base64url');
  let requests = 0;
  app.use('*', async (c, next) => {
    const started = performance.now();
    const id = `${idPrefix}-${(++requests).toString(36)}`;
    c.set('requestId', id);
    await next();
    if (c.get('sigilApiHeaders') !== true) {
      const headers = c.res.headers;
      for (const name in API_HEADERS) headers.set(name, API_HEADERS[name] as string);
      headers.set('x-request-id', id);
      if (bodyLeftUnread(c)) headers.set('connection', 'close');
    }
    const status = c.res.status;
    logger.log(status >= 500 ? 'error' : 'info', 'request', {
      requestId: id,
      method: c.req.method,
      route: c.req.routePath,
      status,
      ms: Math.round((performance.now() - started) * 10) / 10,
    });
  });
  for (const guard of options.guards ?? []) {
    app.use('*', (c, next) =>
      c.req.path.startsWith(guard.prefix) && (guard.method === undefined || c.req.method === guard.method) ? guard.handler(c, next) : next(),
    );
  }
  const limitOf = (maxBytes: number) =>
    bodyLimit({
      maxSize: maxBytes,
      onError: (c) => c.json(errorBody('E_BODY_TOO_LARGE', `Request bodies here are limited to ${maxBytes} bytes.`), 413),
    });
  const limits = (options.bodyLimits ?? []).map((l) => ({ prefix: l.prefix, limit: limitOf(l.maxBytes) }));
  const defaultLimit = limitOf(options.maxBodyBytes);
  const maxDepth = options.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH;
  // A JSON body is read here, within the size limit, and its nesting bounded before any parser
  // sees it; the validators then parse the text hono keeps (c.req.json() reads the cached text).
  const boundJson = async (c: Context, next: Next): Promise<void> => {
    if (/^application\/(?:[\w.+-]+\+)?json\b/i.test(c.req.header('content-type') ?? '') && jsonNestingExceeds(await c.req.text(), maxDepth)) {
      c.res = c.json(errorBody('E_BAD_REQUEST', `JSON bodies may nest at most ${maxDepth} levels.`), 400);
      return;
    }
    await next();
  };
  // GET and HEAD carry no body; skipping them also spares @hono/node-server building the full
  // Request object that reading `body` needs.
  app.use('*', (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const path = c.req.path;
    const limit = limits.find((l) => path.startsWith(l.prefix))?.limit ?? defaultLimit;
    return limit(c, () => boundJson(c, next));
  });

  app.notFound((c) => c.json(errorBody('E_NOT_FOUND', 'No such route.'), 404));
  app.onError((err, c) => {
    const api = toApiError(err);
    if (api !== undefined && api.status === 503) {
      // Not a bug, but an operator must hear of it (a full disk, the log key's token gone).
      const cause = api.cause ?? err;
      logger.log('error', 'service unavailable', {
        requestId: c.get('requestId'),
        route: c.req.routePath,
        code: api.code,
        error: cause instanceof Error ? `${cause.name}: ${cause.message}` : 'non-error thrown',
        causeCode: codeOf(cause),
      });
      c.header('retry-after', '5');
      return c.json(errorBody(api.code, api.message), 503);
    }
    if (api !== undefined) return c.json(errorBody(api.code, api.message), api.status);
    if (err instanceof HTTPException && err.status < 500) {
      // Hono's own 4xx (for example a body that is not JSON): keep the status, not the text.
      const status = err.status as ApiError['status'];
      return c.json(errorBody('E_BAD_REQUEST', 'The request could not be read.'), status);
    }
    logger.log('error', 'unhandled error', {
      requestId: c.get('requestId'),
      route: c.req.routePath,
      error: err instanceof Error ? `${err.name}: ${err.message}` : 'non-error thrown',
      stack: err instanceof Error ? err.stack : undefined,
    });
    return c.json(errorBody('E_INTERNAL', 'Internal error.'), 500);
  });
  return app;
}

/** The `code` of an error (SigilError, SQLite, PKCS#11), if it has a string one. */
function codeOf(e: unknown): string | undefined {
  if (SigilError.is(e)) return e.code;
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}
