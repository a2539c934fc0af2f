// Mailbox: store-and-forward of ciphertext between accounts, for the examples. Every call needs
// a session; the sender is the session's account and a recipient sees only its own messages.
//
// Limits (docs/DIRECTORY.md, "Mailbox limits"): a post must be an envelope (its header parses,
// FORMAT.md §3; nothing is decrypted), each sender has a budget of messages and bytes per window
// (429 E_RATE_LIMITED with Retry-After), each recipient a quota of messages and bytes held
// (413 E_MAILBOX_FULL, checked in the store's write transaction), and a list page is bounded by
// the bytes of its envelopes, so that no answer is larger than a few MiB whatever `limit` says.
import { createRoute } from '@hono/zod-openapi';
import { SigilError } from '@sigil/sdk/errors';
import { parseEnvelopeHeader } from '@sigil/sdk/envelope';
import { ApiError, errorBody } from '../../http/errors.js';
import { SendLimiter } from '../../http/rate-limit.js';
import type { HttpApp } from '../../http/app.js';
import { fromB64u, toB64u } from '../b64.js';
import type { DirectoryContext } from '../context.js';
import { MailboxDeleteParams, MailboxListQuery, MailboxListResponse, MailboxPostParams, MailboxPostRequest, MailboxPostResponse } from '../schemas.js';
import { requireSession } from '../sessions.js';
import { bearer, errors, jsonBody, jsonContent } from './common.js';

export function mailboxRoutes(app: HttpApp, ctx: DirectoryContext): void {
  const { store, config } = ctx;
  const senders = new SendLimiter(config.mailboxSendLimit);

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/mailbox/{recipientId}',
      tags: ['mailbox'],
      security: bearer,
      request: { params: MailboxPostParams, ...jsonBody(MailboxPostRequest) },
      responses: { 200: jsonContent(MailboxPostResponse, 'Queued for the recipient'), ...errors(400, 401, 404, 413, 422, 429) },
    }),
    async (c) => {
      const { recipientId } = c.req.valid('param');
      const senderId = await requireSession(ctx, c);
      const bytes = fromB64u(c.req.valid('json').envelopeB64);
      if (bytes === undefined) throw new ApiError(400, 'E_VALIDATION', 'Invalid request: check envelopeB64.');
      if (bytes.length > store.limits.maxMessageBytes) throw new ApiError(413, 'E_LIMIT', `Messages are limited to ${store.limits.maxMessageBytes} bytes.`);
      const wait = senders.take(senderId, bytes.length, ctx.now());
      if (wait > 0) {
        return c.json(errorBody('E_RATE_LIMITED', 'Too many messages from this account: wait and try again.'), 429, {
          'retry-after': String(Math.ceil(wait / 1000)),
        });
      }
      try {
        parseEnvelopeHeader(bytes);
      } catch (e) {
        if (SigilError.is(e)) throw new ApiError(422, e.code, 'The message is not a Sigil envelope: its header does not parse.');
        throw e;
      }
      const message = await store.postMessage({ senderId, recipientId, bytes, createdAt: ctx.now() }, config.mailboxQuota);
      if (message === undefined) throw new ApiError(413, 'E_MAILBOX_FULL', "The recipient's mailbox is full: it must read and delete messages first.");
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
      responses: {
        200: jsonContent(MailboxListResponse, "The session account's messages with id > after, oldest first: at most `limit` and a page's bytes (at least one while any remain)"),
        ...errors(400, 401),
      },
    }),
    async (c) => {
      const { after, limit } = c.req.valid('query');
      const accountId = await requireSession(ctx, c);
      const messages = await store.listMessages(accountId, { afterId: after, limit, maxBytes: config.mailboxPageBytes });
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
