// Mailbox: store-and-forward of ciphertext between accounts, for the examples. Every call needs
// a session; the sender is the session's account and a recipient sees only its own messages.
import { createRoute } from '@hono/zod-openapi';
import { ApiError } from '../../http/errors.js';
import type { HttpApp } from '../../http/app.js';
import { fromB64u, toB64u } from '../b64.js';
import type { DirectoryContext } from '../context.js';
import { MailboxDeleteParams, MailboxListQuery, MailboxListResponse, MailboxPostParams, MailboxPostRequest, MailboxPostResponse } from '../schemas.js';
import { requireSession } from '../sessions.js';
import { bearer, errors, jsonBody, jsonContent } from './common.js';

export function mailboxRoutes(app: HttpApp, ctx: DirectoryContext): void {
  const { store } = ctx;

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/mailbox/{recipientId}',
      tags: ['mailbox'],
      security: bearer,
      request: { params: MailboxPostParams, ...jsonBody(MailboxPostRequest) },
      responses: { 200: jsonContent(MailboxPostResponse, 'Queued for the recipient'), ...errors(400, 401, 404, 413) },
    }),
    async (c) => {
      const { recipientId } = c.req.valid('param');
      const senderId = await requireSession(ctx, c);
      const bytes = fromB64u(c.req.valid('json').envelopeB64);
      if (bytes === undefined) throw new ApiError(400, 'E_VALIDATION', 'Invalid request: check envelopeB64.');
      if (bytes.length > store.limits.maxMessageBytes) throw new ApiError(413, 'E_LIMIT', `Messages are limited to ${store.limits.maxMessageBytes} bytes.`);
      const message = await store.postMessage({ senderId, recipientId, bytes, createdAt: ctx.now() });
      return c.json({ id: message.id }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/mailbox',
      tags: ['mailbox'],
      security: bearer,
      request: { query: MailboxListQuery },
      responses: { 200: jsonContent(MailboxListResponse, "The session account's messages with id > after, oldest first"), ...errors(400, 401) },
    }),
    async (c) => {
      const { after, limit } = c.req.valid('query');
      const accountId = await requireSession(ctx, c);
      const messages = await store.listMessages(accountId, { afterId: after, limit });
      return c.json(
        { messages: messages.map((m) => ({ id: m.id, senderId: m.senderId, envelopeB64: toB64u(m.bytes), createdAt: m.createdAt })) },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/mailbox/{id}',
      tags: ['mailbox'],
      security: bearer,
      request: { params: MailboxDeleteParams },
      responses: { 204: { description: 'Deleted' }, ...errors(400, 401, 404) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const accountId = await requireSession(ctx, c);
      if (!(await store.deleteMessage(accountId, id))) throw new ApiError(404, 'E_NOT_FOUND', 'No such message in your mailbox.');
      return c.body(null, 204);
    },
  );
}
