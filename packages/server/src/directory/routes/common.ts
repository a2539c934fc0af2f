// Small helpers for route declarations: JSON bodies and the error responses in the OpenAPI doc.
import type { z } from '@hono/zod-openapi';
import { ErrorSchema } from '../schemas.js';

export function jsonContent<T extends z.ZodType>(schema: T, description = 'OK') {
  return { description, content: { 'application/json': { schema } } };
}

export function jsonBody<T extends z.ZodType>(schema: T) {
  return { body: { content: { 'application/json': { schema } }, required: true } };
}

const errorDescriptions = {
  400: 'Malformed request (E_VALIDATION, E_BAD_REQUEST)',
  401: 'No valid session (E_UNAUTHORIZED) or a failed WebAuthn ceremony (E_WEBAUTHN)',
  403: 'The session may not do this (E_FORBIDDEN)',
  404: 'Unknown account or object',
  409: 'The id exists (E_CONFLICT)',
  413: 'Too large (E_BODY_TOO_LARGE, E_LIMIT, E_MAILBOX_FULL)',
  422: 'Well-formed but invalid (the SigilError code, e.g. E_DIRECTORY_PROOF)',
  429: 'Rate limited (E_RATE_LIMITED)',
} as const;

type ErrorStatus = keyof typeof errorDescriptions;

/** The error responses a route documents: `{ error: { code, message } }`. */
export function errors<S extends ErrorStatus>(...statuses: S[]) {
  const out = {} as Record<S, { description: string; content: { 'application/json': { schema: typeof ErrorSchema } } }>;
  for (const s of statuses) out[s] = { description: errorDescriptions[s], content: { 'application/json': { schema: ErrorSchema } } };
  return out;
}

export const bearer = [{ bearer: [] }];
