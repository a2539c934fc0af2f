// The HTTP shell every route of the directory runs in: request ids, body-size limit, schema
// validation errors in one shape, rate limiting, structured access logs, and one onError.
// Routes are declared with @hono/zod-openapi so that the same zod schemas validate requests
// and generate /v1/openapi.json.
import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { requestId } from 'hono/request-id';
import { secureHeaders } from 'hono/secure-headers';
import { ApiError, errorBody, toApiError } from './errors.js';
import type { Logger } from './logger.js';

export interface HttpAppOptions {
  readonly logger: Logger;
  /** Largest request body accepted, in bytes. */
  readonly maxBodyBytes: number;
}

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

  app.use('*', requestId());
  app.use('*', secureHeaders());
  app.use('*', async (c, next) => {
    const started = performance.now();
    await next();
    logger.log(c.res.status >= 500 ? 'error' : 'info', 'request', {
      requestId: c.get('requestId'),
      method: c.req.method,
      route: c.req.routePath,
      status: c.res.status,
      ms: Math.round((performance.now() - started) * 10) / 10,
    });
  });
  app.use(
    '*',
    bodyLimit({
      maxSize: options.maxBodyBytes,
      onError: (c) => c.json(errorBody('E_BODY_TOO_LARGE', `Request bodies are limited to ${options.maxBodyBytes} bytes.`), 413),
    }),
  );

  app.notFound((c) => c.json(errorBody('E_NOT_FOUND', 'No such route.'), 404));
  app.onError((err, c) => {
    const api = toApiError(err);
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
