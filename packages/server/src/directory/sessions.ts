// Session tokens: 32 random bytes, base64url, short-lived; the store keeps SHA-256(token) only.
// A token is presented as `Authorization: Bearer <token>` and never logged.
//
// A session belongs to the key that opened it (a root's WebAuthn credential, a service root, or
// a device signing key), not only to the account: it is good while the account's statements
// still list that key as a root or a current device, so revoking a device ends its sessions at
// once instead of when they expire (checked on every use, against the store, so this holds
// across server processes too).
import { randomBytes } from 'node:crypto';
import type { Context } from 'hono';
import { ApiError } from '../http/errors.js';
import { listAllStatements } from './account-folds.js';
import { fromB64u, toB64u } from './b64.js';
import type { DirectoryContext } from './context.js';

export const SESSION_TOKEN_BYTES = 32;

export interface IssuedSession {
  readonly token: string;
  readonly expiresAt: number;
}

/**
 * Whether `signerId` (a key id) may act for the account now: a root or a current (certified, not
 * revoked) device of its folded statements. Before the account's genesis, only its registration
 * exists, and the credential it registered is the one key that can open a session.
 */
export async function isCurrentSigner(ctx: DirectoryContext, accountId: string, signerId: string): Promise<boolean> {
  const state = await ctx.folds.stateOf(accountId, await listAllStatements(ctx.store, accountId));
  if (state === undefined) return true;
  return state.roots.some((r) => r.id === signerId) || state.devices.some((d) => d.id === signerId);
}

/**
 * Opens a session of `accountId` for the key `signerId` that just authenticated.
 * @throws ApiError 401 `E_KEY_REVOKED` if the account no longer lists that key.
 */
export async function issueSession(ctx: DirectoryContext, accountId: string, signerId: string): Promise<IssuedSession> {
  if (!(await isCurrentSigner(ctx, accountId, signerId))) {
    throw new ApiError(401, 'E_KEY_REVOKED', 'This key is no longer a root or device of the account.');
  }
  await ctx.sweep();
  const token = new Uint8Array(randomBytes(SESSION_TOKEN_BYTES));
  const expiresAt = ctx.now() + ctx.config.sessionTtlMs;
  await ctx.store.createSession(token, { accountId, signerId, expiresAt });
  return { token: toB64u(token), expiresAt };
}

/**
 * The account of the request's session, or `undefined` if it carries no Authorization header.
 * @throws ApiError 401 `E_UNAUTHORIZED` for a bad or expired token, 401 `E_KEY_REVOKED` when the
 *   key that opened the session was revoked since.
 */
export async function optionalSession(ctx: DirectoryContext, c: Context): Promise<string | undefined> {
  const header = c.req.header('authorization');
  if (header === undefined) return undefined;
  const m = /^Bearer ([A-Za-z0-9_-]{43})$/.exec(header);
  const token = m?.[1] === undefined ? undefined : fromB64u(m[1]);
  if (token === undefined || token.length !== SESSION_TOKEN_BYTES) throw new ApiError(401, 'E_UNAUTHORIZED', 'The session token is malformed.');
  const session = await ctx.store.getSession(token, ctx.now());
  if (session === undefined) throw new ApiError(401, 'E_UNAUTHORIZED', 'The session is unknown or expired: sign in again.');
  if (!(await isCurrentSigner(ctx, session.accountId, session.signerId))) {
    await ctx.store.deleteSession(token);
    throw new ApiError(401, 'E_KEY_REVOKED', 'The key that opened this session was revoked: the session has ended.');
  }
  return session.accountId;
}

/** The account of the request's session. @throws ApiError 401 without a valid session (see `optionalSession`). */
export async function requireSession(ctx: DirectoryContext, c: Context): Promise<string> {
  const account = await optionalSession(ctx, c);
  if (account === undefined) throw new ApiError(401, 'E_UNAUTHORIZED', 'This request needs a session: Authorization: Bearer <token>.');
  return account;
}
