// Rate limits. By client address: the authentication endpoints (WebAuthn ceremonies,
// service-account challenges) and statement submission, the routes an attacker without an
// account can hammer. By account: mailbox posts (messages and bytes per window).
// Both are in memory, per process: with several server processes behind a load balancer, each
// enforces its own share of the limit, which is what we want for a brake, not a quota (the
// mailbox quota, which must hold across processes, is the store's: Store.postMessage).
import { isIP } from 'node:net';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context, MiddlewareHandler } from 'hono';
import { rateLimiter } from 'hono-rate-limiter';
import { errorBody } from './errors.js';

export interface RateLimitOptions {
  /** Requests allowed per client address in each window. */
  readonly limit: number;
  readonly windowMs: number;
}

/** Longest X-Forwarded-For entry kept as a key (an IPv6 address with a zone fits). */
const MAX_ADDRESS_LENGTH = 64;

/**
 * An IPv4 address written as IPv6 (`::ffff:192.0.2.1`, what a socket bound to `::` reports for
 * an IPv4 peer, RFC 4291 §2.5.5.2) as plain IPv4, so that one client is one key however it is
 * written, and a proxy configured as `127.0.0.1` matches a dual-stack socket's `::ffff:127.0.0.1`.
 */
export function normalizeAddress(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address)?.[1];
  return mapped !== undefined && isIP(mapped) === 4 ? mapped : address;
}

/**
 * The client's address for rate limiting: the socket peer, unless the peer is one of
 * `trustedProxies`; then the rightmost X-Forwarded-For entry that is not itself a trusted proxy
 * (each proxy appends the address it received from, so entries left of the last untrusted one
 * are the client's own claims, and anything a client writes there is ignored).
 */
export function clientAddress(c: Context, trustedProxies: ReadonlySet<string>): string {
  let peer: string;
  try {
    peer = normalizeAddress(getConnInfo(c).remote.address ?? 'unknown');
  } catch {
    peer = 'in-process'; // app.request() in tests has no socket
  }
  if (!trustedProxies.has(peer)) return peer;
  const header = c.req.header('x-forwarded-for');
  if (header === undefined) return peer;
  const hops = header.split(',');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = normalizeAddress((hops[i] as string).trim());
    if (hop === '' || trustedProxies.has(hop)) continue;
    return isIP(hop) !== 0 ? hop : hop.slice(0, MAX_ADDRESS_LENGTH);
  }
  return peer;
}

/** A limit on requests per client address (see `clientAddress`), answering 429 `E_RATE_LIMITED`. */
export function addressRateLimit(options: RateLimitOptions, trustedProxies: readonly string[] = []): MiddlewareHandler {
  const trusted = new Set(trustedProxies.map(normalizeAddress));
  return rateLimiter({
    windowMs: options.windowMs,
    limit: options.limit,
    standardHeaders: 'draft-7',
    keyGenerator: (c) => clientAddress(c, trusted),
    handler: (c) => c.json(errorBody('E_RATE_LIMITED', 'Too many requests: wait and try again.'), 429),
  });
}

export interface SendLimit {
  /** Messages per key and window. */
  readonly messages: number;
  /** Bytes per key and window. */
  readonly bytes: number;
  readonly windowMs: number;
}

/**
 * Messages and bytes per key (an account) in fixed windows. Memory is bounded: the counts of a
 * window are dropped when the next begins, and at most `maxKeys` keys are counted in one window
 * (past that, a new key is refused until the window ends: under such a flood, a brake for all).
 */
export class SendLimiter {
  readonly #limit: SendLimit;
  readonly #maxKeys: number;
  readonly #used = new Map<string, { messages: number; bytes: number }>();
  #window = -1;

  constructor(limit: SendLimit, maxKeys = 100_000) {
    this.#limit = limit;
    this.#maxKeys = maxKeys;
  }

  /**
   * Counts one message of `bytes` for `key` at time `now` (ms) if the window's budget allows it.
   * @returns 0 if counted; otherwise the ms until the window ends (nothing counted).
   */
  take(key: string, bytes: number, now: number): number {
    const window = Math.floor(now / this.#limit.windowMs);
    if (window !== this.#window) {
      this.#window = window;
      this.#used.clear();
    }
    const wait = (window + 1) * this.#limit.windowMs - now;
    let used = this.#used.get(key);
    if (used === undefined) {
      if (this.#used.size >= this.#maxKeys) return wait;
      used = { messages: 0, bytes: 0 };
      this.#used.set(key, used);
    }
    if (used.messages + 1 > this.#limit.messages || used.bytes + bytes > this.#limit.bytes) return wait;
    used.messages += 1;
    used.bytes += bytes;
    return 0;
  }
}
