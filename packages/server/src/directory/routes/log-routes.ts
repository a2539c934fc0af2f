// Log endpoints: the latest signed checkpoint, inclusion and consistency proofs, the log key.
import { createRoute, type z } from '@hono/zod-openapi';
import { ApiError } from '../../http/errors.js';
import { apiJson, jsonText, type HttpApp } from '../../http/app.js';
import { servedCheckpoint } from '../account-view.js';
import { toB64u } from '../b64.js';
import type { DirectoryContext } from '../context.js';
import {
  CheckpointResponse,
  ConsistencyQuery,
  ConsistencyResponse,
  HealthResponse,
  InclusionQuery,
  InclusionResponse,
  LogKeyResponse,
} from '../schemas.js';
import { errors, jsonContent } from './common.js';

export function logRoutes(app: HttpApp, ctx: DirectoryContext): void {
  const { log, store } = ctx;

  app.openapi(
    createRoute({ method: 'get', path: '/v1/log/checkpoint', tags: ['log'], responses: { 200: jsonContent(CheckpointResponse, 'The latest signed checkpoint') } }),
    async (c) => c.json({ note: (await servedCheckpoint(ctx)).note }, 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/log/inclusion',
      tags: ['log'],
      request: { query: InclusionQuery },
      responses: { 200: jsonContent(InclusionResponse, 'Audit path of leaf `index` in the tree of `size` leaves (RFC 9162 §2.1.3)'), ...errors(400) },
    }),
    async (c) => {
      const { index, size } = c.req.valid('query');
      if (!(index < size && size <= (await store.treeSize()))) {
        throw new ApiError(400, 'E_BAD_REQUEST', 'Need 0 <= index < size <= the tree size.');
      }
      const hashes = await log.inclusionProof(index, size);
      return c.json({ index, size, hashesB64: hashes.map(toB64u) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/log/consistency',
      tags: ['log'],
      request: { query: ConsistencyQuery },
      responses: { 200: jsonContent(ConsistencyResponse, 'Consistency proof between trees of `from` and `to` leaves (RFC 9162 §2.1.4)'), ...errors(400) },
    }),
    async (c) => {
      const { from, to } = c.req.valid('query');
      if (!(from >= 1 && from <= to && to <= (await store.treeSize()))) {
        throw new ApiError(400, 'E_BAD_REQUEST', 'Need 1 <= from <= to <= the tree size.');
      }
      const hashes = await log.consistencyProof(from, to);
      return c.json({ from, to, hashesB64: hashes.map(toB64u) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/log/key',
      tags: ['log'],
      description: 'Informational only: clients pin the log key out of band and never trust this answer.',
      responses: { 200: jsonContent(LogKeyResponse, 'The log verifier key') },
    }),
    async (c) => {
      const key = await log.verifierKey();
      return c.json({ origin: log.origin, publicKeyB64: toB64u(key.publicKey), vkey: key.vkey }, 200);
    },
  );

  app.openapi(
    createRoute({ method: 'get', path: '/v1/health', tags: ['other'], responses: { 200: jsonContent(HealthResponse, 'The server is up') } }),
    async (c) => apiJson(c, jsonText<z.infer<typeof HealthResponse>>({ ok: true, treeSize: await store.treeSize() })),
  );
}
