// Rate limiting for the authentication endpoints (WebAuthn ceremonies, service-account
// challenges), which are the ones an attacker would hammer. hono-rate-limiter's in-memory store
// is per process: with several server processes behind a load balancer, each enforces its own
// share of the limit, which is what we want for a brake, not a quota.
import { getConnInfo } from '@hono/node-server/conninfo';
import type { MiddlewareHandler } from 'hono';
import { rateLimiter } from 'hono-rate-limiter';
import { errorBody } from './errors.js';

export interface RateLimitOptions {
  /** Requests allowed per client address in each window. */
  readonly limit: number;
  readonly windowMs: number;
}

export function authRateLimit(options: RateLimitOptions): MiddlewareHandler {
  return rateLimiter({
    windowMs: options.windowMs,
    limit: options.limit,
    standardHeaders: 'draft-7',
    keyGenerator: (c) => {
      try {
        return getConnInfo(c).remote.address ?? 'unknown';
      } catch {
        return 'in-process'; // app.request() in tests has no socket
      }
    },
    handler: (c) => c.json(errorBody('E_RATE_LIMITED', 'Too many requests: wait and try again.'), 429),
  });
}
