// Accounts, statements and the wrap blobs.
import { createRoute } from '@hono/zod-openapi';
import { ApiError } from '../../http/errors.js';
import { apiJson, type HttpApp } from '../../http/app.js';
import { accountViewBody } from '../account-view.js';
import { toB64u } from '../b64.js';
import type { DirectoryContext } from '../context.js';
import { AccountParams, AccountResponse, BlobParams, BlobResponse, StatementRequest, StatementResponse } from '../schemas.js';
import { optionalSession, requireSession } from '../sessions.js';
import { submitStatement } from '../statements.js';
import { bearer, errors, jsonBody, jsonContent } from './common.js';

export function accountRoutes(app: HttpApp, ctx: DirectoryContext): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/accounts/{id}',
      tags: ['accounts'],
      request: { params: AccountParams },
      responses: { 200: jsonContent(AccountResponse, "The account's statements, each with its inclusion proof against `checkpoint`"), ...errors(400, 404) },
    }),
    // The JSON of an AccountResponse, made (and cached) by accountViewBody: docs/DIRECTORY.md, "The lookup path".
    async (c) => apiJson(c, await accountViewBody(ctx, c.req.valid('param').id)),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/statements',
      tags: ['accounts'],
      description:
        "Appends a signed statement after checking it against the account's history. A WebAuthn genesis needs the account's session; everything else is self-authenticating.",
      security: [...bearer, {}],
      request: jsonBody(StatementRequest),
      responses: { 200: jsonContent(StatementResponse, 'Accepted and logged'), ...errors(400, 401, 403, 404, 409, 413, 422) },
    }),
    async (c) => {
      const { statementB64, blobs } = c.req.valid('json');
      const result = await submitStatement(ctx, {
        bytes: statementB64,
        blobs: (blobs ?? []).map((b) => b.dataB64),
        sessionAccount: () => optionalSession(ctx, c),
      });
      return c.json({ leafIndex: result.leafIndex, checkpoint: result.checkpoint.note }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/accounts/{id}/blobs/{hashB64}',
      tags: ['accounts'],
      description: "A wrap blob, served only to a session of the account (its own devices).",
      security: bearer,
      request: { params: BlobParams },
      responses: { 200: jsonContent(BlobResponse, 'The blob'), ...errors(400, 401, 403, 404) },
    }),
    async (c) => {
      const { id, hashB64 } = c.req.valid('param');
      const session = await requireSession(ctx, c);
      if (session !== id) throw new ApiError(403, 'E_FORBIDDEN', "Blobs are served only to the account's own sessions.");
      const blob = await ctx.store.getBlob(id, hashB64);
      if (blob === undefined) throw new ApiError(404, 'E_NOT_FOUND', 'No such blob.');
      return c.json({ dataB64: toB64u(blob.bytes) }, 200);
    },
  );
}
