// The shapes that the directory context caches and the account view makes, in a module of
// their own so that context.ts and account-view.ts do not import each other.
import type { z } from '@hono/zod-openapi';
import type { JsonOf } from '../http/app.js';
import type { CheckpointRecord } from '../store/store.js';
import type { AccountResponse } from './schemas.js';

/** The body of GET /v1/accounts/:id: the JSON of an `AccountResponse`, as bytes. */
export type AccountViewBody = JsonOf<z.infer<typeof AccountResponse>>;

/** The latest checkpoint and its note as a JSON string literal (made once per checkpoint). */
export interface SeenCheckpoint {
  readonly record: CheckpointRecord;
  readonly noteJson: string;
}
