// Configuration of the key directory: one object, secure defaults, checked once at start-up so
// that a typo fails the process instead of a request.
import { isIP } from 'node:net';

/** Everything the directory's routes need to know besides the store and the log. */
export interface DirectoryConfig {
  /** WebAuthn relying-party id (a domain, no scheme or port). Default `localhost`. */
  readonly rpId: string;
  /** Shown by authenticators during registration. Default `Sigil`. */
  readonly rpName: string;
  /** Exact origins WebAuthn ceremonies and WebAuthn-signed statements may come from. */
  readonly origins: readonly string[];
  /** Session lifetime in ms (default 15 minutes). */
  readonly sessionTtlMs: number;
  /** Lifetime of a service-session challenge in ms (default 2 minutes). */
  readonly serviceChallengeTtlMs: number;
  /** Lifetime of a WebAuthn challenge in ms (default 5 minutes). */
  readonly webauthnChallengeTtlMs: number;
  /** Largest request body, bytes (default 2 MiB: a 1 MiB mailbox message in base64url plus JSON). */
  readonly maxBodyBytes: number;
  /** Largest body of a /v1/auth/* request, bytes (default 64 KiB). */
  readonly maxAuthBodyBytes: number;
  /** Requests per client address and window on /v1/auth/* (default 60 per minute). */
  readonly authRateLimit: { readonly limit: number; readonly windowMs: number };
  /** Requests per client address and window on POST /v1/statements (default 60 per minute). */
  readonly statementRateLimit: { readonly limit: number; readonly windowMs: number };
  /**
   * Addresses of the reverse proxies in front of the server (IPs, e.g. `127.0.0.1` or `::1`; an
   * IPv4 address also matches its IPv4-mapped IPv6 form, `::ffff:127.0.0.1`). A request whose socket peer is one of them is
   * counted, for rate limits, under the address its X-Forwarded-For names: the rightmost entry
   * that is not itself a trusted proxy (RFC 7239 §5.2 order: each proxy appends). Default none:
   * the header is ignored, since any client can send it.
   */
  readonly trustedProxies: readonly string[];
  /**
   * How long a WebAuthn registration holds its account id without publishing a genesis, in ms
   * (default 1 hour). After that the account, its credential and sessions are deleted and the id
   * can be registered again.
   */
  readonly registrationTtlMs: number;
  /** What one recipient's mailbox holds (default 1,000 messages and 64 MiB). */
  readonly mailboxQuota: { readonly maxMessages: number; readonly maxBytes: number };
  /**
   * Bytes of envelopes in one GET /v1/mailbox page (default 2 MiB, so an answer stays under
   * about 2.7 MiB of JSON); a page always holds at least one message.
   */
  readonly mailboxPageBytes: number;
  /** What one account may post per window, in messages and in bytes (default 60 and 16 MiB a minute). */
  readonly mailboxSendLimit: { readonly messages: number; readonly bytes: number; readonly windowMs: number };
  /** Folded account states kept in memory (default 10,000; 0 disables the cache). */
  readonly foldCacheSize: number;
  /**
   * Account lookup answers kept in memory, each valid while the latest checkpoint keeps its size
   * (default 10,000, a few KiB each; 0 disables).
   */
  readonly lookupCacheSize: number;
}

export const DEFAULT_DIRECTORY_CONFIG: DirectoryConfig = Object.freeze({
  rpId: 'localhost',
  rpName: 'Sigil',
  origins: Object.freeze(['http://localhost:8787']),
  sessionTtlMs: 15 * 60_000,
  serviceChallengeTtlMs: 2 * 60_000,
  webauthnChallengeTtlMs: 5 * 60_000,
  maxBodyBytes: 2 * 1024 * 1024,
  maxAuthBodyBytes: 64 * 1024,
  authRateLimit: Object.freeze({ limit: 60, windowMs: 60_000 }),
  statementRateLimit: Object.freeze({ limit: 60, windowMs: 60_000 }),
  trustedProxies: Object.freeze([]),
  registrationTtlMs: 60 * 60_000,
  mailboxQuota: Object.freeze({ maxMessages: 1000, maxBytes: 64 * 1024 * 1024 }),
  mailboxPageBytes: 2 * 1024 * 1024,
  mailboxSendLimit: Object.freeze({ messages: 60, bytes: 16 * 1024 * 1024, windowMs: 60_000 }),
  foldCacheSize: 10_000,
  lookupCacheSize: 10_000,
});

const RP_ID = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

function positive(name: string, v: number, allowZero = false): void {
  if (!Number.isSafeInteger(v) || v < (allowZero ? 0 : 1)) throw new RangeError(`"${name}" expected a positive integer, got ${String(v)}`);
}

/**
 * The defaults with `overrides` applied, checked.
 *
 * @throws RangeError / TypeError naming the first bad setting.
 * @example
 * ```ts
 * const config = resolveDirectoryConfig({ rpId: 'example.org', origins: ['https://example.org'] });
 * ```
 */
export function resolveDirectoryConfig(overrides: Partial<DirectoryConfig> = {}): DirectoryConfig {
  const c = { ...DEFAULT_DIRECTORY_CONFIG, ...overrides };
  if (typeof c.rpId !== 'string' || !RP_ID.test(c.rpId)) throw new RangeError(`"rpId" expected a lowercase domain name, got ${String(c.rpId)}`);
  if (typeof c.rpName !== 'string' || c.rpName.length === 0) throw new TypeError('"rpName" expected a non-empty string');
  if (!Array.isArray(c.origins) || c.origins.length === 0) throw new TypeError('"origins" expected a non-empty array of origins');
  for (const o of c.origins) {
    let url: URL;
    try {
      url = new URL(o);
    } catch {
      throw new RangeError(`"origins" expected origins like https://example.org, got ${String(o)}`);
    }
    if (url.origin !== o) throw new RangeError(`"origins" expected an exact origin (scheme://host[:port]), got ${o}`);
  }
  positive('sessionTtlMs', c.sessionTtlMs);
  positive('serviceChallengeTtlMs', c.serviceChallengeTtlMs);
  positive('webauthnChallengeTtlMs', c.webauthnChallengeTtlMs);
  positive('maxBodyBytes', c.maxBodyBytes);
  positive('maxAuthBodyBytes', c.maxAuthBodyBytes);
  positive('authRateLimit.limit', c.authRateLimit?.limit);
  positive('authRateLimit.windowMs', c.authRateLimit?.windowMs);
  positive('statementRateLimit.limit', c.statementRateLimit?.limit);
  positive('statementRateLimit.windowMs', c.statementRateLimit?.windowMs);
  if (!Array.isArray(c.trustedProxies) || !c.trustedProxies.every((a) => typeof a === 'string' && isIP(a) !== 0)) {
    throw new TypeError('"trustedProxies" expected an array of IP addresses');
  }
  positive('registrationTtlMs', c.registrationTtlMs);
  positive('mailboxQuota.maxMessages', c.mailboxQuota?.maxMessages);
  positive('mailboxQuota.maxBytes', c.mailboxQuota?.maxBytes);
  positive('mailboxPageBytes', c.mailboxPageBytes);
  positive('mailboxSendLimit.messages', c.mailboxSendLimit?.messages);
  positive('mailboxSendLimit.bytes', c.mailboxSendLimit?.bytes);
  positive('mailboxSendLimit.windowMs', c.mailboxSendLimit?.windowMs);
  positive('foldCacheSize', c.foldCacheSize, true);
  positive('lookupCacheSize', c.lookupCacheSize, true);
  return Object.freeze({
    ...c,
    origins: Object.freeze([...c.origins]),
    authRateLimit: Object.freeze({ ...c.authRateLimit }),
    statementRateLimit: Object.freeze({ ...c.statementRateLimit }),
    trustedProxies: Object.freeze([...c.trustedProxies]),
    mailboxQuota: Object.freeze({ ...c.mailboxQuota }),
    mailboxSendLimit: Object.freeze({ ...c.mailboxSendLimit }),
  });
}
