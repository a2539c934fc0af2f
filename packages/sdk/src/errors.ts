/**
 * The one error class of Sigil, shared by every package.
 *
 * Codes are a closed literal union and stable across releases: programs branch on `code`,
 * never on `message`. Messages say what to do next; they never contain key material,
 * plaintext or tokens. Decryption failures of the payload carry one constant message so that
 * the error text is no oracle (see docs/FORMAT.md, "Errors").
 *
 * Caller misuse (a wrong type, a length out of range in an argument the caller controls)
 * is a `TypeError` or `RangeError`, not a SigilError: it is a bug to fix, not a condition to
 * handle.
 */

export const SIGIL_ERROR_CODES = [
  // Envelope and cryptography
  'E_FORMAT', // malformed, non-canonical or truncated encoding
  'E_UNSUPPORTED_VERSION', // magic recognised, version or suite not
  'E_LIMIT', // a documented limit exceeded (recipients, sizes)
  'E_NOT_RECIPIENT', // none of the given keys is a recipient of this envelope
  'E_AUTH_FAILED', // a tag, commitment or stanza did not authenticate
  'E_BAD_SIGNATURE', // the sender's signature does not verify
  'E_TRUNCATED', // the stream ended before the final chunk
  'E_BAD_PUBLIC_KEY', // not an uncompressed P-256 point on the curve
  // Keys and backends
  'E_KEY_NOT_FOUND',
  'E_KEY_POLICY', // a key whose attributes weaken the guarantee (extractable, not sensitive)
  'E_KEY_USAGE', // a key used for the purpose it was not made for
  'E_KEY_REVOKED',
  'E_BACKEND_CLOSED',
  // PKCS#11
  'E_HSM_PIN', // wrong PIN
  'E_HSM_PIN_LOCKED', // PIN locked after too many wrong tries
  'E_HSM_LOGIN', // login failed for another reason
  'E_HSM_UNAVAILABLE', // module file, slot or token not found / went away
  'E_HSM_MECHANISM', // mechanism not supported by the token
  'E_HSM', // any other token failure (the CKR_* name is in `detail`)
  // Directory
  'E_DIRECTORY_PROOF', // a proof, checkpoint or signature chain from the directory is wrong
  'E_DIRECTORY_FORK', // two checkpoints that cannot both be true
  'E_DIRECTORY_ROLLBACK', // a checkpoint older than one already seen
  'E_DIRECTORY', // the directory answered with an error
  'E_NETWORK',
  'E_UNKNOWN_ACCOUNT',
  'E_UNAUTHORIZED',
  // WebAuthn
  'E_WEBAUTHN',
] as const;

export type SigilErrorCode = (typeof SIGIL_ERROR_CODES)[number];

/**
 * The details a program may branch on, by code: as stable as the codes themselves. Any other
 * `detail` (a PKCS#11 `CKR_*` name, the part of a proof that failed) is a diagnostic, shown or
 * logged, never branched on.
 */
export const SIGIL_ERROR_DETAILS = {
  /** `no-device`: this browser holds no device keys of the account (enrol it first). */
  E_KEY_NOT_FOUND: ['no-device'],
  /** `rotation-needed`: the recipient revoked a device that still holds its current user key; it must rotate. */
  E_KEY_REVOKED: ['rotation-needed'],
  /** `device-exists`: this browser is already a device of the account (sign in instead). */
  E_KEY_POLICY: ['device-exists'],
  /** The directory's own code: `E_CONFLICT` (the id is taken), `E_NOT_FOUND`. */
  E_DIRECTORY: ['E_CONFLICT', 'E_NOT_FOUND'],
  /** `account`: the credential belongs to another account; `root`: it is not a root of it; `credential`: another credential answered. */
  E_UNAUTHORIZED: ['account', 'root', 'credential'],
  /** `sender-account`: the envelope names another sender (or none); `sender-key`: not signed by a key of the sender. */
  E_BAD_SIGNATURE: ['sender-account', 'sender-key'],
} as const satisfies { readonly [C in SigilErrorCode]?: readonly string[] };

/** The codes that have details to branch on. */
export type SigilErrorCodeWithDetail = keyof typeof SIGIL_ERROR_DETAILS;
/** The details of `code` a program may branch on (see {@link SIGIL_ERROR_DETAILS}). */
export type SigilErrorDetail<C extends SigilErrorCodeWithDetail = SigilErrorCodeWithDetail> = (typeof SIGIL_ERROR_DETAILS)[C][number];

const BRAND = Symbol.for('@sigil/error');
const CODES: ReadonlySet<string> = new Set(SIGIL_ERROR_CODES);

export interface SigilErrorOptions {
  /** The underlying error, kept for debugging. Never shown to a remote party. */
  readonly cause?: unknown;
  /** A short machine-readable detail, e.g. the PKCS#11 `CKR_*` name. Never secret. */
  readonly detail?: string;
}

/**
 * Thrown for every expected failure: bad input, failed authentication, a lying directory,
 * a token that is not there.
 *
 * @example
 * ```ts
 * try { await decrypt(envelope, { keys }) }
 * catch (e) { if (SigilError.is(e, 'E_NOT_RECIPIENT')) showNotForYou(); else throw e }
 * ```
 */
export class SigilError extends Error {
  override readonly name = 'SigilError';
  readonly code: SigilErrorCode;
  readonly detail: string | undefined;

  constructor(code: SigilErrorCode, message: string, options: SigilErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.detail = options.detail;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /**
   * Narrows `e` to a SigilError, optionally with one of the given codes. Works across
   * duplicate copies of the package (it checks a registered symbol, not the prototype).
   */
  static is<C extends SigilErrorCode>(e: unknown, ...codes: C[]): e is SigilError & { code: C } {
    if (typeof e !== 'object' || e === null || !(BRAND in e)) return false;
    const code = (e as { code?: unknown }).code;
    if (typeof code !== 'string' || !CODES.has(code)) return false;
    return codes.length === 0 || (codes as string[]).includes(code);
  }

  /**
   * Narrows `e` to a SigilError with this code and this detail. The detail is typed by the code
   * (a misspelt or unknown detail does not compile), so programs branch on a checked value rather
   * than on a free string.
   *
   * @example
   * ```ts
   * catch (e) { if (SigilError.hasDetail(e, 'E_KEY_REVOKED', 'rotation-needed')) askThemToRotate(); else throw e }
   * ```
   */
  static hasDetail<C extends SigilErrorCodeWithDetail>(e: unknown, code: C, detail: SigilErrorDetail<C>): e is SigilError & { code: C; detail: SigilErrorDetail<C> } {
    return SigilError.is(e, code) && e.detail === detail;
  }
}
