// The one table that turns PKCS#11 return values (CKR_*, PKCS#11 2.40 §11.1 and §5.1) into
// Sigil error codes. Errors are matched on the numeric `code` that pkcs11js puts on its
// Pkcs11Error, never on message text (STYLE.md, "Errors").
import pkcs11js from 'pkcs11js';
import { SigilError } from '@sigil/sdk/errors';
import type { SigilErrorCode } from '@sigil/sdk/errors';

/** What a CKR_* value means for Sigil, and what the adapter should do about it. */
export interface CkrMeaning {
  readonly code: SigilErrorCode;
  /** The session, login or module is gone: reconnect and retry the call once. */
  readonly reconnect?: boolean;
  /** A cached object handle no longer names an object: forget it and look the key up again. */
  readonly staleHandle?: boolean;
}

const UNAVAILABLE: CkrMeaning = { code: 'E_HSM_UNAVAILABLE', reconnect: true };
const STALE: CkrMeaning = { code: 'E_KEY_NOT_FOUND', staleHandle: true };

const TABLE: ReadonlyMap<number, CkrMeaning> = new Map<number, CkrMeaning>([
  [pkcs11js.CKR_PIN_INCORRECT, { code: 'E_HSM_PIN' }],
  [pkcs11js.CKR_PIN_INVALID, { code: 'E_HSM_PIN' }],
  [pkcs11js.CKR_PIN_LEN_RANGE, { code: 'E_HSM_PIN' }],
  [pkcs11js.CKR_PIN_LOCKED, { code: 'E_HSM_PIN_LOCKED' }],
  [pkcs11js.CKR_PIN_EXPIRED, { code: 'E_HSM_LOGIN' }],
  [pkcs11js.CKR_USER_PIN_NOT_INITIALIZED, { code: 'E_HSM_LOGIN' }],
  [pkcs11js.CKR_USER_TYPE_INVALID, { code: 'E_HSM_LOGIN' }],
  [pkcs11js.CKR_USER_ANOTHER_ALREADY_LOGGED_IN, { code: 'E_HSM_LOGIN' }],
  [pkcs11js.CKR_USER_TOO_MANY_TYPES, { code: 'E_HSM_LOGIN' }],
  // The token, its session or the module went away (removed, finalized, closed by another
  // user of the module): the adapter reconnects once before reporting E_HSM_UNAVAILABLE.
  [pkcs11js.CKR_CRYPTOKI_NOT_INITIALIZED, UNAVAILABLE],
  [pkcs11js.CKR_SESSION_HANDLE_INVALID, UNAVAILABLE],
  [pkcs11js.CKR_SESSION_CLOSED, UNAVAILABLE],
  [pkcs11js.CKR_SESSION_COUNT, UNAVAILABLE],
  [pkcs11js.CKR_USER_NOT_LOGGED_IN, UNAVAILABLE],
  [pkcs11js.CKR_DEVICE_REMOVED, UNAVAILABLE],
  [pkcs11js.CKR_DEVICE_ERROR, UNAVAILABLE],
  [pkcs11js.CKR_TOKEN_NOT_PRESENT, UNAVAILABLE],
  [pkcs11js.CKR_TOKEN_NOT_RECOGNIZED, UNAVAILABLE],
  [pkcs11js.CKR_SLOT_ID_INVALID, UNAVAILABLE],
  [pkcs11js.CKR_OBJECT_HANDLE_INVALID, STALE],
  [pkcs11js.CKR_KEY_HANDLE_INVALID, STALE],
  [pkcs11js.CKR_MECHANISM_INVALID, { code: 'E_HSM_MECHANISM' }],
  [pkcs11js.CKR_MECHANISM_PARAM_INVALID, { code: 'E_HSM_MECHANISM' }],
  [pkcs11js.CKR_DOMAIN_PARAMS_INVALID, { code: 'E_HSM_MECHANISM' }],
  [pkcs11js.CKR_KEY_FUNCTION_NOT_PERMITTED, { code: 'E_KEY_USAGE' }],
  [pkcs11js.CKR_KEY_TYPE_INCONSISTENT, { code: 'E_KEY_USAGE' }],
  [pkcs11js.CKR_ATTRIBUTE_SENSITIVE, { code: 'E_KEY_POLICY' }],
  [pkcs11js.CKR_KEY_UNEXTRACTABLE, { code: 'E_KEY_POLICY' }],
  [pkcs11js.CKR_KEY_NOT_WRAPPABLE, { code: 'E_KEY_POLICY' }],
  [pkcs11js.CKR_SIGNATURE_INVALID, { code: 'E_BAD_SIGNATURE' }],
  [pkcs11js.CKR_SIGNATURE_LEN_RANGE, { code: 'E_BAD_SIGNATURE' }],
  [pkcs11js.CKR_ENCRYPTED_DATA_INVALID, { code: 'E_AUTH_FAILED' }],
  [pkcs11js.CKR_ENCRYPTED_DATA_LEN_RANGE, { code: 'E_AUTH_FAILED' }],
]);

const NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(pkcs11js as unknown as Record<string, unknown>)
    .filter((e): e is [string, number] => e[0].startsWith('CKR_') && typeof e[1] === 'number')
    .map(([name, value]) => [value, name]),
);

const OTHER: CkrMeaning = { code: 'E_HSM' };

interface LibraryPkcs11Error {
  new (message: string): { readonly code: number };
  isPkcs11(message: string): boolean;
}
// pkcs11js exports its error class at run time but not in its type definitions.
const LibraryPkcs11Error = (pkcs11js as unknown as { Pkcs11Error: LibraryPkcs11Error }).Pkcs11Error;

/** The numeric CKR_* value carried by a pkcs11js error, or undefined for any other error. */
export function ckrOf(e: unknown): number | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const { name, code, stack } = e as { name?: unknown; code?: unknown; stack?: unknown };
  if (name === 'Pkcs11Error' && typeof code === 'number') return code;
  // pkcs11js 2.1.7 leaves C_CreateObject, C_CopyObject and C_SetAttributeValue outside its
  // error wrapper (its subclass overrides shadow it), so their failures arrive as the addon's
  // raw Error. The library's own Pkcs11Error reads the code out of them, exactly as it does for
  // every other call; Sigil still only looks at the resulting number.
  if (e instanceof Error && typeof stack === 'string' && LibraryPkcs11Error.isPkcs11(stack)) {
    return new LibraryPkcs11Error(stack).code;
  }
  return undefined;
}

/** The CKR_* name of a value, for `SigilError.detail` (`CKR_0x…` when the library has no name). */
export function ckrName(ckr: number): string {
  return NAMES.get(ckr) ?? `CKR_0x${ckr.toString(16).padStart(8, '0')}`;
}

/** How Sigil reads a CKR_* value. Anything not in the table is a plain token failure, E_HSM. */
export function meaningOf(ckr: number): CkrMeaning {
  return TABLE.get(ckr) ?? OTHER;
}

/**
 * Converts whatever a pkcs11js call threw into a SigilError (kept as `cause`), with the CKR_*
 * name in `detail`. SigilErrors pass through unchanged; `TypeError`/`RangeError` raised by
 * pkcs11js for a malformed argument are bugs in the adapter and pass through too.
 */
export function toSigilError(e: unknown, doing: string): SigilError | TypeError | RangeError {
  if (SigilError.is(e) || e instanceof TypeError || e instanceof RangeError) return e;
  const ckr = ckrOf(e);
  if (ckr === undefined) {
    return new SigilError('E_HSM', `The PKCS#11 module failed while ${doing}.`, { cause: e });
  }
  const name = ckrName(ckr);
  const { code } = meaningOf(ckr);
  return new SigilError(code, `${MESSAGES[code] ?? 'The PKCS#11 token failed'} (${name} while ${doing}).`, {
    cause: e,
    detail: name,
  });
}

const MESSAGES: Partial<Record<SigilErrorCode, string>> = {
  E_HSM_PIN: 'The token rejected the PIN: check the PIN configured for this token',
  E_HSM_PIN_LOCKED: 'The user PIN of the token is locked: the security officer must reset it',
  E_HSM_LOGIN: 'Login to the token failed',
  E_HSM_UNAVAILABLE: 'The token is not available: check that it is present and the module is loaded',
  E_HSM_MECHANISM: 'The token does not support the mechanism Sigil needs',
  E_KEY_NOT_FOUND: 'The key is no longer on the token',
  E_KEY_USAGE: 'The token does not permit this operation with this key',
  E_KEY_POLICY: 'The token refused to reveal the key (as it should)',
  E_BAD_SIGNATURE: 'The signature does not verify',
  E_AUTH_FAILED: 'The data did not authenticate',
};
