// How every failure leaves the server: `{ "error": { "code", "message" } }` with a 4xx status,
// or 503 when the server cannot do the work now (storage full or failing, the log key's token
// gone): nothing was written, and the client may retry later. Any other 5xx is a bug (STYLE.md,
// "Errors"). Both are logged with their cause and answered with a constant body that echoes
// nothing of the request.
import { SigilError, type SigilErrorCode } from '@sigil/sdk/errors';
import { storageFaultOf } from '../store/storage-faults.js';

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
  'E_STORAGE_FULL',
  'E_UNAVAILABLE',
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
    readonly status: 400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 422 | 429 | 503,
    readonly code: ApiErrorCode,
    message: string,
    options: { readonly cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }
}

export function errorBody(code: ApiErrorCode, message: string): ErrorBody {
  return { error: { code, message } };
}

/**
 * The HTTP status of a domain error. Proof and signature failures of something a client sent
 * are 422 (well-formed, not acceptable); malformed input is 400. The server's own key backend
 * failing (the log key's token: `E_HSM*`, `E_BACKEND_CLOSED`) is 503: the client did nothing
 * wrong.
 */
export function statusOfSigilError(code: SigilErrorCode): ApiError['status'] {
  switch (code) {
    case 'E_HSM':
    case 'E_HSM_UNAVAILABLE':
    case 'E_HSM_LOGIN':
    case 'E_HSM_PIN':
    case 'E_HSM_PIN_LOCKED':
    case 'E_HSM_MECHANISM':
    case 'E_BACKEND_CLOSED':
      return 503;
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
  if (SigilError.is(e)) return new ApiError(statusOfSigilError(e.code), e.code, e.message, { cause: e });
  const fault = storageFaultOf(e);
  if (fault === 'E_STORAGE_FULL') return new ApiError(503, fault, 'The server is out of storage space: nothing was written. Try again later.', { cause: e });
  if (fault !== undefined) return new ApiError(503, fault, 'The server cannot reach its storage: nothing was written. Try again later.', { cause: e });
  return undefined;
}
