// Sessions for service accounts, whose roots live in a PKCS#11 token: the client signs a fresh
// server challenge with a current service root or a current device signing key of the account.
import { randomBytes } from 'node:crypto';
import { createRoute } from '@hono/zod-openapi';
import { contextPrefix } from '@sigil/sdk/identity';
import { ApiError } from '../../http/errors.js';
import type { HttpApp } from '../../http/app.js';
import { listAllStatements } from '../account-folds.js';
import { toB64u } from '../b64.js';
import type { DirectoryContext } from '../context.js';
import { ServiceChallengeRequest, ServiceChallengeResponse, ServiceSessionRequest, SessionResponse } from '../schemas.js';
import { issueSession } from '../sessions.js';
import { errors, jsonBody, jsonContent } from './common.js';

const PURPOSE = 'service-session';
/** The session's signature context (docs/SECURITY.md, "Signatures and their contexts"). */
const CONTEXT = contextPrefix('serviceSession');

/** What a service signs for a session: `"sigil/v1 service-session\0" || challenge || utf8(accountId)`. */
export function serviceSessionSignatureInput(challenge: Uint8Array, accountId: string): Uint8Array {
  const id = new TextEncoder().encode(accountId);
  const out = new Uint8Array(CONTEXT.length + challenge.length + id.length);
  out.set(CONTEXT, 0);
  out.set(challenge, CONTEXT.length);
  out.set(id, CONTEXT.length + challenge.length);
  return out;
}

async function verifyP1363(publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array): Promise<boolean> {
  const subtle = globalThis.crypto.subtle;
  // The key comes from a verified fold, where every public key was validated on the curve.
  const key = await subtle.importKey('raw', publicKey as Uint8Array<ArrayBuffer>, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
  return subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, signature as Uint8Array<ArrayBuffer>, data as Uint8Array<ArrayBuffer>);
}

export function serviceAuthRoutes(app: HttpApp, ctx: DirectoryContext): void {
  const { store } = ctx;

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/auth/service/challenge',
      tags: ['auth'],
      request: jsonBody(ServiceChallengeRequest),
      responses: { 200: jsonContent(ServiceChallengeResponse, 'A single-use challenge, valid for 2 minutes'), ...errors(400, 404, 429) },
    }),
    async (c) => {
      const { accountId } = c.req.valid('json');
      if ((await store.getAccount(accountId)) === undefined) throw new ApiError(404, 'E_UNKNOWN_ACCOUNT', 'No account has this id.');
      await ctx.sweep();
      const challenge = toB64u(randomBytes(32));
      const expiresAt = ctx.now() + ctx.config.serviceChallengeTtlMs;
      await store.putChallenge({ challenge, purpose: PURPOSE, accountId, expiresAt });
      return c.json({ challengeB64: challenge, expiresAt }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/auth/service/session',
      tags: ['auth'],
      description:
        'signatureB64: ECDSA P-256/SHA-256 (P1363) over utf8("sigil/v1 service-session\\0") || challenge || utf8(accountId), by a current service root or current device signing key of the account.',
      request: jsonBody(ServiceSessionRequest),
      responses: { 200: jsonContent(SessionResponse, 'A session'), ...errors(400, 401, 429) },
    }),
    async (c) => {
      const { accountId, challengeB64, signerKeyId, signatureB64 } = c.req.valid('json');
      // Taken (deleted) before anything else: a challenge is good for one attempt.
      const challenge = await store.takeChallenge(challengeB64, ctx.now());
      if (challenge === undefined || challenge.purpose !== PURPOSE || challenge.accountId !== accountId) {
        throw new ApiError(401, 'E_UNAUTHORIZED', 'The challenge is unknown, used, expired or for another account.');
      }
      const state = await ctx.folds.stateOf(accountId, await listAllStatements(store, accountId));
      const root = state?.roots.find((r) => r.id === signerKeyId && r.type === 'service');
      const device = state?.devices.find((d) => d.id === signerKeyId);
      const publicKey = root?.publicKey ?? device?.signingKey;
      if (publicKey === undefined) throw new ApiError(401, 'E_UNAUTHORIZED', 'The signer is not a current service root or device of the account.');
      const raw = new Uint8Array(Buffer.from(challengeB64, 'base64url'));
      if (!(await verifyP1363(publicKey, serviceSessionSignatureInput(raw, accountId), signatureB64))) {
        throw new ApiError(401, 'E_UNAUTHORIZED', 'The signature does not verify.');
      }
      const session = await issueSession(ctx, accountId, signerKeyId);
      ctx.logger.log('info', 'service session', { account: accountId, signer: signerKeyId });
      return c.json(session, 200);
    },
  );
}
