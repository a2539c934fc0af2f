// How every failure leaves the server: `{ "error": { "code", "message" } }` with a 4xx status.
// A 5xx is a bug (STYLE.md, "Errors"): it is logged with its cause and answered with a constant
// body that echoes nothing of the request.
import { SigilError, type SigilErrorCode } from '@sigil/sdk/errors';

/** Codes the HTTP layer itself produces, beside the SigilError codes of the domain. */
export const HTTP_ERROR_CODES = [
  'E_BAD_REQUEST',
  'E_VALIDATION',
  'E_BODY_TOO_LARGE',
  'E_UNSUPPORTED_MEDIA_TYPE',
  'E_NOT_FOUND',
  'E_METHOD_NOT_ALLOWED',
  'E_UNAUTHORIZED',
  'E_FORBIDDEN',
  'E_CONFLICT',
  'E_RATE_LIMITED',
  'E_MAILBOX_FULL',
  'E_INTERNAL',
] as const;

export type HttpErrorCode = (typeof HTTP_ERROR_CODES)[number];
export type ApiErrorCode = HttpErrorCode | SigilErrorCode;

export interface ErrorBody {
  readonly error: { readonly code: ApiErrorCode; readonly message: string };
}

/** A failure the server answers on purpose. Messages are constant text: never request data. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 422 | 429,
    readonly code: ApiErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function errorBody(code: ApiErrorCode, message: string): ErrorBody {
  return { error: { code, message } };
}

/**
 * The HTTP status of a domain error. Proof and signature failures of something a client sent
 * are 422 (well-formed, not acceptable); malformed input is 400.
 */
export function statusOfSigilError(code: SigilErrorCode): ApiError['status'] {
  switch (code) {
    case 'E_UNAUTHORIZED':
    case 'E_WEBAUTHN':
      return 401;
    case 'E_UNKNOWN_ACCOUNT':
    case 'E_KEY_NOT_FOUND':
      return 404;
    case 'E_LIMIT':
      return 413;
    case 'E_FORMAT':
    case 'E_UNSUPPORTED_VERSION':
    case 'E_BAD_PUBLIC_KEY':
      return 400;
    default:
      return 422;
  }
}

/** Narrows anything thrown by a handler to the answer the client gets, or undefined for a bug. */
export function toApiError(e: unknown): ApiError | undefined {
  if (e instanceof ApiError) return e;
  if (SigilError.is(e)) return new ApiError(statusOfSigilError(e.code), e.code, e.message);
  return undefined;
}
