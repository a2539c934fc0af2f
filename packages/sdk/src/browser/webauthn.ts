// The browser side of WebAuthn ceremonies (W3C WebAuthn L3 §5.1.3 create, §5.1.4 get) through
// @simplewebauthn/browser, with the PRF extension (§10.1.4) evaluated on Sigil's salt.
//
// PRF is detected per credential, from the ceremony's own results (create: `prf.enabled`;
// get: `prf.results` present), never from `PublicKeyCredential.getClientCapabilities()`, which
// reports what the browser supports, not what this authenticator does. The PRF output is
// turned into KEKs here and zeroed: it never leaves this module, and the responses returned
// for the server carry no PRF results (JSON.stringify would turn the ArrayBuffers into `{}`,
// but a future serialiser might not: they are removed, not relied upon to vanish).
//
// Nothing here touches a browser global at import time.
import {
  startAuthentication,
  startRegistration,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/browser';
import { SigilError } from '../errors.js';
import { fromBase64Url, toBase64Url } from '../internal/bytes.js';
import { derToP1363 } from '../internal/ecdsa.js';
import { webAuthnRootFromAttestationObject } from '../identity/cose.js';
import { webAuthnSignInChallenge, webAuthnStatementChallenge } from '../identity/contexts.js';
import { statementHash } from '../identity/signed-statement.js';
import type { WebAuthnRoot } from '../identity/statement.js';
import type { WebAuthnAssertion } from '../identity/webauthn.js';
import { derivePrfKeks, prfSalt, type PrfKeks } from './prf.js';

/** Which protection a credential gives the local key cache: PRF-sealed, or the browser's alone. */
export type WebAuthnMode = 'prf' | 'no-prf';

/** COSE algorithm ES256 (RFC 9053 §2.1): ECDSA P-256 with SHA-256, Sigil's only root algorithm. */
const ES256 = -7;

/** Options common to the ceremonies. */
export interface WebAuthnCeremonyOptions {
  /** Ceremony timeout in milliseconds (overrides the server's `timeout`); a hint to the browser. */
  readonly timeoutMs?: number | undefined;
}

/** The outcome of {@link registerWebAuthnCredential}. */
export interface RegisteredWebAuthnCredential {
  /** The registration response to POST to the server: no PRF results in it. */
  readonly response: RegistrationResponseJSON;
  /** The new credential as a statement names it (ES256 public key, RP ID, credential id). */
  readonly root: WebAuthnRoot;
  /** 'prf' when the authenticator enabled PRF for this credential (`prf.enabled`). */
  readonly mode: WebAuthnMode;
  /**
   * The KEKs, when the authenticator already returned a PRF output at creation (CTAP 2.2
   * hmac-secret-mc); otherwise undefined, and a sign-in (or statement assertion) gives them.
   */
  readonly keks: PrfKeks | undefined;
}

/** The outcome of {@link signInWithWebAuthn}. */
export interface WebAuthnSignIn {
  /** The authentication response to POST to the server: no PRF results in it. */
  readonly response: AuthenticationResponseJSON;
  /** The credential that answered. */
  readonly credentialId: Uint8Array;
  /** The user handle (discoverable credentials), if the authenticator returned one. */
  readonly userHandle: Uint8Array | undefined;
  /** 'prf' when this assertion carried a PRF output. */
  readonly mode: WebAuthnMode;
  /** The KEKs from the PRF output (mode 'prf'), or undefined (mode 'no-prf'). */
  readonly keks: PrfKeks | undefined;
}

/** Which credential signs statements, for {@link assertStatement}. */
export interface StatementAssertionOptions extends WebAuthnCeremonyOptions {
  /** The RP ID the credential is scoped to (the page's registrable domain, e.g. `localhost`). */
  readonly rpId: string;
  /** The root credential's id. */
  readonly credentialId: Uint8Array;
  /** Transport hints of the credential, as the registration reported them (optional). */
  readonly transports?: readonly AuthenticatorTransport[] | undefined;
}

type ExtensionResults = RegistrationResponseJSON['clientExtensionResults'];

interface PrfOutputs {
  enabled?: unknown;
  results?: { first?: unknown; second?: unknown };
}

function checkCeremonyOptions(options: WebAuthnCeremonyOptions): void {
  if (typeof options !== 'object' || options === null) throw new TypeError('"options" expected an object');
  const t = options.timeoutMs;
  if (t !== undefined && (!Number.isInteger(t) || t < 1 || t > 600_000)) {
    throw new RangeError(`"timeoutMs" expected an integer in 1..600000, got ${String(t)}`);
  }
}

function webAuthnFailed(cause: unknown): SigilError {
  // @simplewebauthn/browser wraps the DOMException in a WebAuthnError whose `cause` keeps it;
  // NotAllowedError (cancelled, timed out, no matching credential) is the usual one.
  const inner = (cause as { cause?: unknown })?.cause ?? cause;
  const name = typeof (inner as { name?: unknown })?.name === 'string' ? (inner as { name: string }).name : 'Error';
  return new SigilError('E_WEBAUTHN', 'The WebAuthn ceremony did not complete (cancelled, timed out, or refused by the authenticator).', {
    cause,
    detail: name,
  });
}

function prfOf(results: ExtensionResults | undefined): PrfOutputs | undefined {
  const prf = (results as { prf?: unknown } | undefined)?.prf;
  return typeof prf === 'object' && prf !== null ? (prf as PrfOutputs) : undefined;
}

function asBytes(v: unknown): Uint8Array | undefined {
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  return undefined;
}

/**
 * Takes the PRF output out of the extension results: derives the KEKs, zeroes the output in
 * place (the browser's own buffer included) and returns the results without it.
 */
async function takePrf(results: ExtensionResults): Promise<{ clean: ExtensionResults; keks: PrfKeks | undefined; enabled: boolean | undefined }> {
  const prf = prfOf(results);
  const { prf: _dropped, ...rest } = results as ExtensionResults & { prf?: unknown };
  if (prf === undefined) return { clean: rest as ExtensionResults, keks: undefined, enabled: undefined };
  const enabled = typeof prf.enabled === 'boolean' ? prf.enabled : undefined;
  const clean = { ...rest, prf: enabled === undefined ? {} : { enabled } } as ExtensionResults;
  const first = asBytes(prf.results?.first);
  const second = asBytes(prf.results?.second);
  try {
    if (first === undefined) return { clean, keks: undefined, enabled };
    if (first.length !== 32) throw new SigilError('E_WEBAUTHN', 'The authenticator returned a PRF output of the wrong length.', { detail: 'prf' });
    return { clean, keks: await derivePrfKeks(first), enabled };
  } finally {
    first?.fill(0);
    second?.fill(0);
  }
}

function es256Only(params: PublicKeyCredentialCreationOptionsJSON['pubKeyCredParams']): PublicKeyCredentialCreationOptionsJSON['pubKeyCredParams'] {
  const es256 = Array.isArray(params) ? params.filter((p) => p?.type === 'public-key' && p.alg === ES256) : [];
  if (es256.length === 0) {
    throw new SigilError('E_WEBAUTHN', 'The server did not offer ES256 (P-256) credentials, which Sigil requires.', { detail: 'algorithm' });
  }
  return [{ type: 'public-key', alg: ES256 }];
}

function currentHostname(): string {
  const host = (globalThis as { location?: { hostname?: unknown } }).location?.hostname;
  if (typeof host !== 'string' || host.length === 0) throw new TypeError('"rp.id" is required outside a page');
  return host;
}

/**
 * Creates a WebAuthn credential from the server's registration options
 * (POST /v1/auth/webauthn/register/options), restricted to ES256, with PRF requested on
 * Sigil's salt. Returns the response to send back (POST /v1/auth/webauthn/register/verify),
 * the credential as a statement names it, and the mode the authenticator gave.
 *
 * @throws SigilError `E_WEBAUTHN` if the ceremony fails (detail: the DOMException name, e.g.
 *   `NotAllowedError` for a cancel or timeout) or the server offered no ES256; `E_FORMAT` /
 *   `E_BAD_PUBLIC_KEY` if the authenticator's attestation object is malformed or not ES256.
 * @example
 * ```ts
 * const { options } = await post('/v1/auth/webauthn/register/options', { accountId, displayName });
 * const created = await registerWebAuthnCredential(options);
 * await post('/v1/auth/webauthn/register/verify', { accountId, response: created.response });
 * ```
 */
export async function registerWebAuthnCredential(
  optionsJSON: PublicKeyCredentialCreationOptionsJSON,
  options: WebAuthnCeremonyOptions = {},
): Promise<RegisteredWebAuthnCredential> {
  if (typeof optionsJSON !== 'object' || optionsJSON === null) throw new TypeError('"optionsJSON" expected an object');
  checkCeremonyOptions(options);
  const rpId = optionsJSON.rp?.id ?? currentHostname();
  const request: PublicKeyCredentialCreationOptionsJSON = {
    ...optionsJSON,
    pubKeyCredParams: es256Only(optionsJSON.pubKeyCredParams),
    ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
    // @simplewebauthn/browser passes extensions through unchanged: the salt must be bytes.
    extensions: { ...optionsJSON.extensions, prf: { eval: { first: prfSalt() } } } as NonNullable<PublicKeyCredentialCreationOptionsJSON['extensions']>,
  };
  let response: RegistrationResponseJSON;
  try {
    response = await startRegistration({ optionsJSON: request });
  } catch (cause) {
    throw webAuthnFailed(cause);
  }
  const { clean, keks, enabled } = await takePrf(response.clientExtensionResults);
  const safe: RegistrationResponseJSON = { ...response, clientExtensionResults: clean };
  const attestationObject = fromBase64Url(response.response.attestationObject);
  if (attestationObject === undefined) throw new SigilError('E_FORMAT', 'The attestation object is not base64url.', { detail: 'attestation-object' });
  const root = await webAuthnRootFromAttestationObject(attestationObject, rpId);
  return { response: safe, root, mode: enabled === true || keks !== undefined ? 'prf' : 'no-prf', keks };
}

/**
 * Signs in with a credential from the server's login options (POST /v1/auth/webauthn/login/options:
 * discoverable when it lists no credentials, account-bound otherwise), evaluating PRF on Sigil's
 * salt. The authenticator never signs the server's `challenge` itself: it is a nonce, from which
 * the challenge is derived here as `webAuthnSignInChallenge(nonce)` (and recomputed by the
 * server), so that no bytes a directory picks can come back as a statement's proof
 * (docs/SECURITY.md, "Signatures and their contexts"). Returns the response to send back
 * (POST /v1/auth/webauthn/login/verify), the mode this credential gave and, with PRF, the KEKs.
 *
 * @throws SigilError `E_WEBAUTHN` with detail `challenge` if the nonce is not 16 to 64 bytes.
 *
 * @throws SigilError `E_WEBAUTHN` if the ceremony fails (detail: the DOMException name).
 * @example
 * ```ts
 * const { options } = await post('/v1/auth/webauthn/login/options', {});
 * const signIn = await signInWithWebAuthn(options);
 * const { token, accountId } = await post('/v1/auth/webauthn/login/verify', { response: signIn.response });
 * if (signIn.mode === 'prf') cache = await openWithPrfKek(signIn.keks!.localCache, sealed, { account: accountId });
 * ```
 */
export async function signInWithWebAuthn(
  optionsJSON: PublicKeyCredentialRequestOptionsJSON,
  options: WebAuthnCeremonyOptions = {},
): Promise<WebAuthnSignIn> {
  if (typeof optionsJSON !== 'object' || optionsJSON === null) throw new TypeError('"optionsJSON" expected an object');
  checkCeremonyOptions(options);
  const nonce = typeof optionsJSON.challenge === 'string' ? fromBase64Url(optionsJSON.challenge) : undefined;
  if (nonce === undefined || nonce.length < 16 || nonce.length > 64) {
    throw new SigilError('E_WEBAUTHN', 'The server sent a sign-in nonce that is not 16 to 64 bytes of base64url.', { detail: 'challenge' });
  }
  const request: PublicKeyCredentialRequestOptionsJSON = {
    ...optionsJSON,
    challenge: toBase64Url(await webAuthnSignInChallenge(nonce)),
    ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
    extensions: { ...optionsJSON.extensions, prf: { eval: { first: prfSalt() } } } as NonNullable<PublicKeyCredentialRequestOptionsJSON['extensions']>,
  };
  let response: AuthenticationResponseJSON;
  try {
    response = await startAuthentication({ optionsJSON: request });
  } catch (cause) {
    throw webAuthnFailed(cause);
  }
  const { clean, keks } = await takePrf(response.clientExtensionResults);
  const credentialId = fromBase64Url(response.rawId);
  if (credentialId === undefined || credentialId.length === 0) throw new SigilError('E_WEBAUTHN', 'The credential id is malformed.', { detail: 'credential-id' });
  const handle = response.response.userHandle;
  const userHandle = handle === undefined ? undefined : fromBase64Url(handle);
  return {
    response: { ...response, clientExtensionResults: clean },
    credentialId,
    userHandle,
    mode: keks === undefined ? 'no-prf' : 'prf',
    keks,
  };
}

/**
 * A `getAssertion` for `signStatementWithWebAuthn`: asks the root credential for an assertion
 * over `challenge` (`webAuthnStatementChallenge` of the statement hash, docs/STATEMENTS.md §6.2),
 * with user verification required and no extension, and returns its raw bytes.
 *
 * @throws SigilError `E_WEBAUTHN` if the ceremony fails, another credential answers, or the
 *   assertion is malformed (detail `assertion`, or `signature` for a signature that is not DER).
 * @example
 * ```ts
 * const signed = await signStatementWithWebAuthn(draft, webAuthnStatementSigner({ rpId, credentialId }));
 * ```
 */
export function webAuthnStatementSigner(options: StatementAssertionOptions): (challenge: Uint8Array) => Promise<WebAuthnAssertion> {
  checkCeremonyOptions(options);
  if (typeof options.rpId !== 'string' || options.rpId.length === 0) throw new TypeError('"rpId" expected a non-empty string');
  if (!(options.credentialId instanceof Uint8Array) || options.credentialId.length === 0) {
    throw new TypeError('"credentialId" expected a non-empty Uint8Array');
  }
  const id = toBase64Url(options.credentialId);
  const transports = options.transports === undefined ? undefined : [...options.transports];
  return async (challenge: Uint8Array): Promise<WebAuthnAssertion> => {
    if (!(challenge instanceof Uint8Array) || challenge.length !== 32) {
      throw new RangeError(`"challenge" expected Uint8Array of length 32, got length=${(challenge as Uint8Array)?.length}`);
    }
    const optionsJSON: PublicKeyCredentialRequestOptionsJSON = {
      challenge: toBase64Url(challenge),
      rpId: options.rpId,
      allowCredentials: [{ id, type: 'public-key', ...(transports === undefined ? {} : { transports }) }],
      userVerification: 'required',
      ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
    };
    let response: AuthenticationResponseJSON;
    try {
      response = await startAuthentication({ optionsJSON });
    } catch (cause) {
      throw webAuthnFailed(cause);
    }
    if (response.rawId !== id) throw new SigilError('E_WEBAUTHN', 'Another credential answered the statement assertion.', { detail: 'credential-id' });
    const authenticatorData = fromBase64Url(response.response.authenticatorData);
    const clientDataJSON = fromBase64Url(response.response.clientDataJSON);
    const signature = fromBase64Url(response.response.signature);
    if (authenticatorData === undefined || clientDataJSON === undefined || signature === undefined || authenticatorData.length < 37) {
      throw new SigilError('E_WEBAUTHN', 'The authenticator returned a malformed assertion.', { detail: 'assertion' });
    }
    // The authenticator's output is untrusted input: an ES256 signature must be strict DER
    // (RFC 3279 §2.2.3) before it goes into a statement (docs/STATEMENTS.md §6.2).
    if (derToP1363(signature) === undefined) {
      throw new SigilError('E_WEBAUTHN', 'The authenticator returned a signature that is not an ES256 DER signature.', { detail: 'signature' });
    }
    return { authenticatorData, clientDataJSON, signature };
  };
}

/**
 * A WebAuthn assertion by the root credential whose challenge is
 * `webAuthnStatementChallenge(SHA-256(statementBytes))` (docs/STATEMENTS.md §6.2): the proof of a
 * statement signed by a WebAuthn root.
 *
 * @throws SigilError `E_WEBAUTHN` as {@link webAuthnStatementSigner}.
 * @example
 * ```ts
 * const proof = await assertStatement(encodeStatement(draft), { rpId: location.hostname, credentialId });
 * ```
 */
export async function assertStatement(statementBytes: Uint8Array, options: StatementAssertionOptions): Promise<WebAuthnAssertion> {
  const sign = webAuthnStatementSigner(options);
  return sign(await webAuthnStatementChallenge(await statementHash(statementBytes)));
}
