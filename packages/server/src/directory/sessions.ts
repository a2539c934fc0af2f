// Session tokens: 32 random bytes, base64url, short-lived; the store keeps SHA-256(token) only.
// A token is presented as `Authorization: Bearer <token>` and never logged.
import { randomBytes } from 'node:crypto';
import type { Context } from 'hono';
import { ApiError } from '../http/errors.js';
import { fromB64u, toB64u } from './b64.js';
import type { DirectoryContext } from './context.js';

export const SESSION_TOKEN_BYTES = 32;

export interface IssuedSession {
  readonly token: string;
  readonly expiresAt: number;
}

export async function issueSession(ctx: DirectoryContext, accountId: string): Promise<IssuedSession> {
  await ctx.sweep();
  const token = new Uint8Array(randomBytes(SESSION_TOKEN_BYTES));
  const expiresAt = ctx.now() + ctx.config.sessionTtlMs;
  await ctx.store.createSession(token, { accountId, expiresAt });
  return { token: toB64u(token), expiresAt };
}

/** The account of the request's session, or `undefined` if it carries no Authorization header. @throws ApiError 401 for a bad or expired token. */
export async function optionalSession(ctx: DirectoryContext, c: Context): Promise<string | undefined> {
  const header = c.req.header('authorization');
  if (header === undefined) return undefined;
  const m = /^Bearer ([A-Za-z0-9_-]{43})$/.exec(header);
  const token = m?.[1] === undefined ? undefined : fromB64u(m[1]);
  if (token === undefined || token.length !== SESSION_TOKEN_BYTES) throw new ApiError(401, 'E_UNAUTHORIZED', 'The session token is malformed.');
  const session = await ctx.store.getSession(token, ctx.now());
  if (session === undefined) throw new ApiError(401, 'E_UNAUTHORIZED', 'The session is unknown or expired: sign in again.');
  return session.accountId;
}

/** The account of the request's session. @throws ApiError 401 without a valid session. */
export async function requireSession(ctx: DirectoryContext, c: Context): Promise<string> {
  const account = await optionalSession(ctx, c);
  if (account === undefined) throw new ApiError(401, 'E_UNAUTHORIZED', 'This request needs a session: Authorization: Bearer <token>.');
  return account;
}
