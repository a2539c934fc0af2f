// WebAuthn registration and sign-in (@simplewebauthn/server 14, W3C WebAuthn L3 §7.1, §7.2):
// ES256 only, user verification required, single-use challenges with an expiry, signature
// counters compared-and-set in the store so a cloned authenticator's replay is refused.
// A sign-in's `challenge` in the options is a nonce: the client signs
// webAuthnSignInChallenge(nonce) (a labelled hash, docs/SECURITY.md "Signatures and their
// contexts"), and the store keeps that derived value, the one clientDataJSON must carry. So no
// bytes this server picks are ever what a statement's WebAuthn proof signs.
import { randomBytes } from 'node:crypto';
import { createRoute } from '@hono/zod-openapi';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type AuthenticatorTransport,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { keyIdOf } from '@sigil/sdk/backend';
import { cosePublicKeyToRaw, webAuthnSignInChallenge } from '@sigil/sdk/identity';
import { ApiError } from '../../http/errors.js';
import type { HttpApp } from '../../http/app.js';
import { toB64u } from '../b64.js';
import type { DirectoryContext } from '../context.js';
import {
  LoginOptionsRequest,
  LoginVerifyRequest,
  LoginVerifyResponse,
  OptionsResponse,
  RegisterOptionsRequest,
  RegisterVerifyRequest,
  RegisterVerifyResponse,
} from '../schemas.js';
import { issueSession } from '../sessions.js';
import { errors, jsonBody, jsonContent } from './common.js';

const REGISTER = 'webauthn-register';
const LOGIN = 'webauthn-login';
/** COSE algorithm ES256 (RFC 9053 §2.1): the one algorithm a Sigil root can use. */
const ES256 = -7;

function ceremonyFailed(cause: unknown, ctx: DirectoryContext, what: string): never {
  // The library's message names the failed check; it is logged (it holds no secret) but the
  // client gets a constant text.
  ctx.logger.log('info', `webauthn ${what} refused`, { reason: cause instanceof Error ? cause.message.slice(0, 200) : 'unknown' });
  throw new ApiError(401, 'E_WEBAUTHN', `The WebAuthn ${what} does not verify.`);
}

export function webAuthnRoutes(app: HttpApp, ctx: DirectoryContext): void {
  const { store, config } = ctx;

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/auth/webauthn/register/options',
      tags: ['auth'],
      request: jsonBody(RegisterOptionsRequest),
      responses: { 200: jsonContent(OptionsResponse, 'PublicKeyCredentialCreationOptionsJSON'), ...errors(400, 409, 429) },
    }),
    async (c) => {
      const { accountId, displayName } = c.req.valid('json');
      await ctx.sweep(); // first: it releases the ids of registrations that never published a genesis
      if ((await store.getAccount(accountId)) !== undefined) throw new ApiError(409, 'E_CONFLICT', 'An account with this id exists.');
      const options = await generateRegistrationOptions({
        rpName: config.rpName,
        rpID: config.rpId,
        userName: accountId,
        userDisplayName: displayName,
        userID: new Uint8Array(randomBytes(16)),
        attestationType: 'none',
        supportedAlgorithmIDs: [ES256],
        authenticatorSelection: { residentKey: 'preferred', userVerification: 'required' },
        timeout: config.webauthnChallengeTtlMs,
      });
      await store.putChallenge({ challenge: options.challenge, purpose: REGISTER, accountId, expiresAt: ctx.now() + config.webauthnChallengeTtlMs });
      return c.json({ options: options as unknown as Record<string, unknown> }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/auth/webauthn/register/verify',
      tags: ['auth'],
      request: jsonBody(RegisterVerifyRequest),
      responses: { 200: jsonContent(RegisterVerifyResponse, 'Registered: the account exists, with a session'), ...errors(400, 401, 409, 429) },
    }),
    async (c) => {
      const { accountId, response } = c.req.valid('json');
      if ((await store.getAccount(accountId)) !== undefined) throw new ApiError(409, 'E_CONFLICT', 'An account with this id exists.');
      let info;
      try {
        const v = await verifyRegistrationResponse({
          response: response as RegistrationResponseJSON,
          expectedChallenge: async (challenge) => {
            const record = await store.takeChallenge(challenge, ctx.now());
            return record?.purpose === REGISTER && record.accountId === accountId;
          },
          expectedOrigin: [...config.origins],
          expectedRPID: config.rpId,
          requireUserVerification: true,
          supportedAlgorithmIDs: [ES256],
        });
        if (!v.verified) throw new Error('not verified');
        info = v.registrationInfo;
      } catch (e) {
        ceremonyFailed(e, ctx, 'registration');
      }
      const { credential } = info;
      let publicKey: Uint8Array;
      try {
        publicKey = cosePublicKeyToRaw(credential.publicKey);
      } catch (e) {
        ceremonyFailed(e, ctx, 'registration');
      }
      if ((await store.getCredential(credential.id)) !== undefined) throw new ApiError(409, 'E_CONFLICT', 'This credential is registered already.');
      const now = ctx.now();
      if (!(await store.createAccount({ id: accountId, kind: 'user', createdAt: now }))) {
        throw new ApiError(409, 'E_CONFLICT', 'An account with this id exists.');
      }
      const added = await store.addCredential({
        credentialId: credential.id,
        accountId,
        publicKey: credential.publicKey,
        counter: credential.counter,
        transports: credential.transports ?? [],
        createdAt: now,
      });
      if (!added) throw new ApiError(409, 'E_CONFLICT', 'This credential is registered already.');
      // The session is the credential's: it lasts while the account's statements list this root.
      const session = await issueSession(ctx, accountId, await keyIdOf(publicKey));
      ctx.logger.log('info', 'webauthn registered', { account: accountId });
      return c.json({ ...session, credential: { idB64: credential.id, publicKeyB64: toB64u(publicKey) } }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/auth/webauthn/login/options',
      tags: ['auth'],
      description: 'With accountId: allowCredentials lists its credentials; without: a discoverable-credential ceremony.',
      request: jsonBody(LoginOptionsRequest),
      responses: { 200: jsonContent(OptionsResponse, 'PublicKeyCredentialRequestOptionsJSON'), ...errors(400, 404, 429) },
    }),
    async (c) => {
      const { accountId } = c.req.valid('json');
      let allowCredentials: { id: string; transports?: string[] }[] | undefined;
      if (accountId !== undefined) {
        if ((await store.getAccount(accountId)) === undefined) throw new ApiError(404, 'E_UNKNOWN_ACCOUNT', 'No account has this id.');
        allowCredentials = (await store.listCredentials(accountId)).map((cr) => ({ id: cr.credentialId, transports: [...cr.transports] }));
      }
      const options = await generateAuthenticationOptions({
        rpID: config.rpId,
        userVerification: 'required',
        timeout: config.webauthnChallengeTtlMs,
        ...(allowCredentials === undefined ? {} : { allowCredentials }),
      });
      await ctx.sweep();
      // What the assertion must carry: the sign-in form of the nonce sent (the client derives
      // the same value; verifyAuthenticationResponse then looks it up, single use).
      const signed = toB64u(await webAuthnSignInChallenge(new Uint8Array(Buffer.from(options.challenge, 'base64url'))));
      await store.putChallenge({
        challenge: signed,
        purpose: LOGIN,
        accountId,
        expiresAt: ctx.now() + config.webauthnChallengeTtlMs,
      });
      return c.json({ options: options as unknown as Record<string, unknown> }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/auth/webauthn/login/verify',
      tags: ['auth'],
      request: jsonBody(LoginVerifyRequest),
      responses: { 200: jsonContent(LoginVerifyResponse, 'Signed in'), ...errors(400, 401, 429) },
    }),
    async (c) => {
      const { response } = c.req.valid('json');
      const stored = await store.getCredential(response.id);
      if (stored === undefined) ceremonyFailed(new Error('unknown credential'), ctx, 'sign-in');
      let newCounter: number;
      try {
        const v = await verifyAuthenticationResponse({
          response: response as AuthenticationResponseJSON,
          expectedChallenge: async (challenge) => {
            const record = await store.takeChallenge(challenge, ctx.now());
            return record?.purpose === LOGIN && (record.accountId === undefined || record.accountId === stored.accountId);
          },
          expectedOrigin: [...config.origins],
          expectedRPID: config.rpId,
          credential: {
            id: stored.credentialId,
            publicKey: stored.publicKey as Uint8Array<ArrayBuffer>,
            counter: stored.counter,
            transports: stored.transports as AuthenticatorTransport[],
          },
          requireUserVerification: true,
        });
        if (!v.verified) throw new Error('not verified');
        newCounter = v.authenticationInfo.newCounter;
      } catch (e) {
        ceremonyFailed(e, ctx, 'sign-in');
      }
      // Compare-and-set: of two sign-ins racing with one counter value, one wins (WebAuthn §6.1.1).
      if (!(await store.updateCredentialCounter(stored.credentialId, stored.counter, newCounter))) {
        ceremonyFailed(new Error('counter changed concurrently'), ctx, 'sign-in');
      }
      const session = await issueSession(ctx, stored.accountId, await keyIdOf(cosePublicKeyToRaw(stored.publicKey)));
      ctx.logger.log('info', 'webauthn sign-in', { account: stored.accountId });
      return c.json({ ...session, accountId: stored.accountId }, 200);
    },
  );
}
