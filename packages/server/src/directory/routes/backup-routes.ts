// The passkey backup (docs/BACKUP.md): one opaque blob per account, the account's user-key chain
// sealed on its devices under a key only its passkey's PRF yields. The server stores and serves
// ciphertext to the account's own sessions; it never sees the PRF output nor the key.
import { createRoute, z } from '@hono/zod-openapi';
import { ApiError } from '../../http/errors.js';
import type { HttpApp } from '../../http/app.js';
import { b64uLength, fromB64u, toB64u } from '../b64.js';
import type { DirectoryContext } from '../context.js';
import { AccountId } from '../schemas.js';
import { requireSession } from '../sessions.js';
import { bearer, errors, jsonBody, jsonContent } from './common.js';

/** The blob name of the passkey backup: wrap blobs are named by a 43-character hash, so no clash. */
export const BACKUP_BLOB_NAME = 'passkey-backup';

/**
 * Largest backup accepted (bytes). A chain entry is 36 bytes (epoch + private key), so this holds
 * well over a thousand epochs; the store's own blob limit applies too.
 */
export const MAX_BACKUP_BYTES = 64 * 1024;

const BackupParams = z.object({ id: AccountId });
// A string here (not b64uBytes) so that an oversized backup is a 413 E_LIMIT, not a 400.
const BackupPutRequest = z
  .object({ dataB64: z.string().min(1).max(b64uLength(2 * 1024 * 1024)).openapi({ format: 'base64url', description: 'The sealed backup (opaque)' }) })
  .openapi('BackupPut');
const BackupResponse = z
  .object({
    dataB64: z.string().openapi({ format: 'base64url', description: 'The sealed backup (opaque)' }),
    updatedAt: z.number().int().openapi({ description: 'When it was last stored (ms since the Unix epoch)' }),
  })
  .openapi('Backup');

export function backupRoutes(app: HttpApp, ctx: DirectoryContext): void {
  const { store } = ctx;
  const limit = Math.min(MAX_BACKUP_BYTES, store.limits.maxBlobBytes);

  /** The session's account, which must be `id`: a backup is served to and stored by its own account only. */
  async function owner(c: Parameters<typeof requireSession>[1], id: string): Promise<string> {
    const session = await requireSession(ctx, c);
    if (session !== id) throw new ApiError(403, 'E_FORBIDDEN', "A backup is read and written only by the account's own sessions.");
    return session;
  }

  app.openapi(
    createRoute({
      method: 'put',
      path: '/v1/accounts/{id}/backup',
      tags: ['backup'],
      security: bearer,
      description: "Stores (replaces) the account's passkey backup: ciphertext sealed on its devices.",
      request: { params: BackupParams, ...jsonBody(BackupPutRequest) },
      responses: { 204: { description: 'Stored' }, ...errors(400, 401, 403, 413) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const account = await owner(c, id);
      const bytes = fromB64u(c.req.valid('json').dataB64);
      if (bytes === undefined || bytes.length === 0) throw new ApiError(400, 'E_VALIDATION', 'Invalid request: check dataB64.');
      if (bytes.length > limit) throw new ApiError(413, 'E_LIMIT', `Backups are limited to ${limit} bytes.`);
      await store.putBlob({ ownerId: account, name: BACKUP_BLOB_NAME, bytes, updatedAt: ctx.now() });
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/accounts/{id}/backup',
      tags: ['backup'],
      security: bearer,
      description: "The account's passkey backup, served only to the account's own sessions.",
      request: { params: BackupParams },
      responses: { 200: jsonContent(BackupResponse, 'The sealed backup'), ...errors(400, 401, 403, 404) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const account = await owner(c, id);
      const blob = await store.getBlob(account, BACKUP_BLOB_NAME);
      if (blob === undefined) throw new ApiError(404, 'E_NOT_FOUND', 'This account has no passkey backup.');
      return c.json({ dataB64: toB64u(blob.bytes), updatedAt: blob.updatedAt }, 200);
    },
  );
}
