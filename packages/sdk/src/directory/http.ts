// The JSON-over-HTTP layer of the directory client (/work contract "Directory HTTP API v1"):
// fetch only (browsers and Node), base64url fields, `{ error: { code, message } }` answers mapped
// to SigilError codes. Nothing here is trusted: every answer is checked by the caller.
import { SigilError } from '../errors.js';
import { fromBase64Url } from '../internal/bytes.js';

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface RequestOptions {
  readonly method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly body?: unknown;
  readonly token?: string | undefined;
}

const SERVER_CODE = /^E_[A-Z0-9_]{1,60}$/;

/** A malformed answer: the directory did not say what the contract says it must. */
export function badAnswer(what: string): SigilError {
  return new SigilError('E_DIRECTORY_PROOF', `The directory sent a malformed answer (${what}).`, { detail: 'response' });
}

export class DirectoryHttp {
  readonly #base: string;
  readonly #fetch: FetchLike;

  constructor(url: string, fetchImpl: FetchLike | undefined) {
    if (typeof url !== 'string') throw new TypeError('"url" expected a string');
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new TypeError(`"url" expected an absolute http(s) URL, got ${JSON.stringify(url)}`);
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new TypeError('"url" expected an http(s) URL');
    this.#base = parsed.href.replace(/\/+$/, '');
    const f = fetchImpl ?? (globalThis.fetch as FetchLike | undefined);
    if (typeof f !== 'function') throw new TypeError('fetch is not available: pass { fetch }');
    // Called as a plain function, never as a method of this object: browsers throw "Illegal
    // invocation" when window.fetch runs with another `this` (seen in Chromium).
    this.#fetch = (input, init) => f(input, init);
  }

  /** JSON request; resolves to the parsed body of a 2xx answer (undefined for 204). */
  async request(path: string, options: RequestOptions = {}): Promise<unknown> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
    let res: Response;
    try {
      res = await this.#fetch(`${this.#base}${path}`, {
        method: options.method ?? 'GET',
        headers,
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      });
    } catch (cause) {
      throw new SigilError('E_NETWORK', 'The directory could not be reached; check the URL and the network, then retry.', { cause });
    }
    if (res.status === 204) return undefined;
    let body: unknown;
    try {
      body = await res.json();
    } catch (cause) {
      if (!res.ok) throw new SigilError('E_DIRECTORY', `The directory answered HTTP ${res.status}.`, { cause, detail: `http-${res.status}` });
      throw new SigilError('E_DIRECTORY_PROOF', 'The directory sent an answer that is not JSON.', { cause, detail: 'response' });
    }
    if (res.ok) return body;
    const err = (body as { error?: { code?: unknown } } | null)?.error;
    const code = typeof err?.code === 'string' && SERVER_CODE.test(err.code) ? err.code : `http-${res.status}`;
    if (code === 'E_UNKNOWN_ACCOUNT') throw new SigilError('E_UNKNOWN_ACCOUNT', 'The directory has no such account.', { detail: code });
    // The key that opened the session (or asks for one) was revoked: a fact about this device, not
    // an expired session, so the caller sees the code it branches on (no sign-in can help).
    if (res.status === 401 && code === 'E_KEY_REVOKED') {
      throw new SigilError('E_KEY_REVOKED', 'The directory refused this device: it was revoked from the account.', { detail: code });
    }
    if (res.status === 401 || res.status === 403) {
      throw new SigilError('E_UNAUTHORIZED', 'The directory refused the request: sign in again (the session may have expired).', { detail: code });
    }
    throw new SigilError('E_DIRECTORY', `The directory refused the request (HTTP ${res.status}, ${code}).`, { detail: code });
  }
}

/** Reads an object field, else a malformed-answer error. */
export function field<T>(obj: unknown, name: string, check: (v: unknown) => v is T): T {
  if (typeof obj !== 'object' || obj === null) throw badAnswer('not an object');
  const v = (obj as Record<string, unknown>)[name];
  if (!check(v)) throw badAnswer(`field ${name}`);
  return v;
}

export const isString = (v: unknown): v is string => typeof v === 'string';
export const isIndex = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
export const isArray = (v: unknown): v is unknown[] => Array.isArray(v);

/** A base64url field decoded, else a malformed-answer error. */
export function bytesOf(v: unknown, what: string): Uint8Array {
  const b = typeof v === 'string' ? fromBase64Url(v) : undefined;
  if (b === undefined) throw badAnswer(`${what} is not base64url`);
  return b;
}

/** `expiresAt` as milliseconds since the epoch, from a number (ms) or an ISO 8601 string. */
export function expiryOf(v: unknown): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string') {
    const t = Date.parse(v);
    if (Number.isFinite(t)) return t;
  }
  throw badAnswer('field expiresAt');
}
