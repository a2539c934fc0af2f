// Errors as a person reads them: the SigilError code (for a bug report) and what it means here.
// Branches test typed details (SigilError.hasDetail), never free strings: a misspelt detail does
// not compile.
import { SigilError } from '@sigil/sdk';

export interface ShownError {
  /** The SigilError code, or the JavaScript error name (TypeError, ...). */
  readonly code: string;
  /** What happened, in words. */
  readonly message: string;
  /** The error's own message, when it adds something. */
  readonly technical: string | undefined;
}

function human(e: SigilError): string {
  switch (e.code) {
    case 'E_WEBAUTHN':
      return 'The authenticator did not complete the request: it was cancelled, timed out, or refused.';
    case 'E_UNKNOWN_ACCOUNT':
      return 'The directory has no account with that id.';
    case 'E_DIRECTORY':
      if (SigilError.hasDetail(e, 'E_DIRECTORY', 'E_CONFLICT')) return 'That account id is already taken.';
      if (SigilError.hasDetail(e, 'E_DIRECTORY', 'E_NOT_FOUND')) return 'The directory does not know that account or credential.';
      return 'The directory refused the request.';
    case 'E_UNAUTHORIZED':
      if (SigilError.hasDetail(e, 'E_UNAUTHORIZED', 'account')) return 'This credential belongs to another account.';
      return 'The directory did not accept this sign-in. Sign in again.';
    case 'E_KEY_NOT_FOUND':
      if (SigilError.hasDetail(e, 'E_KEY_NOT_FOUND', 'no-device')) return 'This browser is not a device of that account yet: use "Add this browser to an account".';
      return 'A key is missing: the account may not have finished its enrolment.';
    case 'E_KEY_REVOKED':
      if (SigilError.hasDetail(e, 'E_KEY_REVOKED', 'rotation-needed')) return 'The recipient revoked a device and must open a new key before you can write to them.';
      return 'This device was revoked from the account. Add this browser again from another device.';
    case 'E_KEY_POLICY':
      if (SigilError.hasDetail(e, 'E_KEY_POLICY', 'device-exists')) return 'This browser is already a device of that account: sign in instead.';
      return 'A key does not meet the required protection.';
    case 'E_NOT_RECIPIENT':
      return 'This device holds no key for this message (it was sent before this device was approved, or after it was revoked).';
    case 'E_BAD_SIGNATURE':
      return 'The signature does not belong to the claimed sender: the message is not shown.';
    case 'E_AUTH_FAILED':
    case 'E_FORMAT':
    case 'E_TRUNCATED':
    case 'E_UNSUPPORTED_VERSION':
      return 'The data is damaged or was tampered with: nothing of it is shown.';
    case 'E_LIMIT':
      return 'That is too large.';
    case 'E_DIRECTORY_PROOF':
    case 'E_DIRECTORY_FORK':
    case 'E_DIRECTORY_ROLLBACK':
      return 'The key directory answered with something its own signed log does not prove. Do not trust it; nothing was used.';
    case 'E_NETWORK':
      return 'The directory could not be reached.';
    default:
      return 'The operation failed.';
  }
}

export function describeError(e: unknown): ShownError {
  if (SigilError.is(e)) {
    const technical = e.detail === undefined ? e.message : `${e.message} (${e.detail})`;
    return { code: e.code, message: human(e), technical };
  }
  if (e instanceof TypeError || e instanceof RangeError) {
    return { code: e.name, message: 'Invalid input.', technical: e.message };
  }
  if (e instanceof Error) return { code: e.name, message: 'Unexpected error.', technical: e.message };
  return { code: 'Error', message: 'Unexpected error.', technical: String(e) };
}
