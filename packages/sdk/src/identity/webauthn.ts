// Verifying a WebAuthn assertion the way a relying party does (W3C WebAuthn Level 3 §7.2,
// "Verifying an Authentication Assertion"), for statements signed by a WebAuthn root
// (docs/STATEMENTS.md §6.2). Composed from WebCrypto (SHA-256) and internal/ecdsa.ts (the
// platform seam's ECDSA verify; strict DER to P1363 by @noble/curves). No CBOR is parsed: an
// assertion's authenticator data needs only its fixed 37-byte prefix (WebAuthn §6.1).
import { SigilError } from '../errors.js';
import { concatBytes, equalConstantTime, toBase64Url } from '../internal/bytes.js';
import { derToP1363, verifyP1363 } from '../internal/ecdsa.js';
import { decodeUtf8, encodeUtf8 } from './wire.js';

/** What a WebAuthn authenticator returns from `navigator.credentials.get()`, as raw bytes. */
export interface WebAuthnAssertion {
  /** `response.authenticatorData` (at least 37 bytes). */
  readonly authenticatorData: Uint8Array;
  /** `response.clientDataJSON`, exactly as the browser produced it. */
  readonly clientDataJSON: Uint8Array;
  /** `response.signature`: an ASN.1 DER ECDSA signature (ES256). */
  readonly signature: Uint8Array;
}

/** The relying-party policy an assertion is checked against. */
export interface WebAuthnPolicy {
  /** The RP ID (or IDs) accepted, e.g. `example.org`. */
  readonly rpId: string | readonly string[];
  /** The exact origins accepted, e.g. `['https://example.org']` (WebAuthn §13.4.9). */
  readonly origins: readonly string[];
  /**
   * Whether the UV flag must be set (default `true`). Set `false` only for accounts whose roots
   * are security keys without a PIN or biometric; user presence (UP) is always required.
   */
  readonly requireUserVerification?: boolean | undefined;
}

export interface VerifyWebAuthnAssertionOptions extends WebAuthnPolicy {
  /** The credential public key, uncompressed SEC1 P-256 (65 bytes). */
  readonly publicKey: Uint8Array;
  /** The RP ID the credential is scoped to; must be one of `rpId`. */
  readonly credentialRpId: string;
  /** The challenge the assertion must carry (raw bytes; compared in base64url form). */
  readonly challenge: Uint8Array;
}

/** Authenticator data flags (WebAuthn §6.1). */
const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_AT = 0x40;
const FLAG_ED = 0x80;
const AUTH_DATA_MIN = 37;
const AUTH_DATA_MAX = 1024;

function fail(detail: string, message: string, cause?: unknown): SigilError {
  return new SigilError('E_WEBAUTHN', message, cause === undefined ? { detail } : { detail, cause });
}

/**
 * Verifies an ES256 WebAuthn assertion against a challenge and a relying-party policy, following
 * WebAuthn L3 §7.2 steps 11–21 (the steps that do not need server-side session state: the
 * signature counter and backup flags are a server's business, not a statement verifier's).
 *
 * Checks: clientDataJSON is UTF-8 JSON with `type` `"webauthn.get"`, `challenge` equal to
 * base64url(challenge), `origin` in `origins`, and no `crossOrigin: true` / `topOrigin`
 * (statements are signed first-party); authenticatorData's rpIdHash is SHA-256(credentialRpId)
 * and credentialRpId is an accepted RP ID; UP set, UV set when required, AT clear; the DER
 * signature (strict DER) verifies over `authenticatorData || SHA-256(clientDataJSON)`.
 *
 * @throws SigilError `E_WEBAUTHN` with `detail` naming the failed check (`client-data`, `type`,
 *   `challenge`, `origin`, `cross-origin`, `rp-id`, `authenticator-data`, `user-presence`,
 *   `user-verification`, `signature`); `E_BAD_PUBLIC_KEY` for a public key not on P-256.
 * @example
 * ```ts
 * await verifyWebAuthnAssertion(assertion, {
 *   publicKey, credentialRpId: 'example.org', challenge,
 *   rpId: 'example.org', origins: ['https://example.org'],
 * });
 * ```
 */
export async function verifyWebAuthnAssertion(
  assertion: WebAuthnAssertion,
  options: VerifyWebAuthnAssertionOptions,
): Promise<void> {
  const subtle = globalThis.crypto.subtle;
  const { authenticatorData, clientDataJSON, signature } = checkAssertion(assertion);
  const rpIds = typeof options.rpId === 'string' ? [options.rpId] : options.rpId;
  if (!Array.isArray(rpIds) || !Array.isArray(options.origins)) {
    throw new TypeError('"rpId" expected a string or string[] and "origins" a string[]');
  }

  // §7.2 steps 11–14: clientDataJSON.
  let clientData: unknown;
  try {
    clientData = JSON.parse(decodeUtf8(clientDataJSON, 'clientDataJSON'));
  } catch (cause) {
    throw fail('client-data', 'The WebAuthn clientDataJSON is not valid UTF-8 JSON.', cause);
  }
  if (typeof clientData !== 'object' || clientData === null || Array.isArray(clientData)) {
    throw fail('client-data', 'The WebAuthn clientDataJSON is not a JSON object.');
  }
  const cd = clientData as Record<string, unknown>;
  if (cd['type'] !== 'webauthn.get') throw fail('type', 'The WebAuthn assertion is not of type webauthn.get.');
  if (typeof cd['challenge'] !== 'string' || cd['challenge'] !== toBase64Url(options.challenge)) {
    throw fail('challenge', 'The WebAuthn assertion signs a different challenge.');
  }
  if (typeof cd['origin'] !== 'string' || !options.origins.includes(cd['origin'])) {
    throw fail('origin', 'The WebAuthn assertion comes from an origin that is not allowed.');
  }
  if (('crossOrigin' in cd && cd['crossOrigin'] !== false) || 'topOrigin' in cd) {
    throw fail('cross-origin', 'The WebAuthn assertion was made in a cross-origin frame.');
  }

  // §7.2 steps 15–17: authenticator data (§6.1: rpIdHash 32 | flags 1 | signCount 4 | ext?).
  if (!rpIds.includes(options.credentialRpId)) {
    throw fail('rp-id', 'The WebAuthn credential belongs to an RP ID that is not allowed.');
  }
  const flags = authenticatorData[32] as number;
  if ((flags & FLAG_AT) !== 0 || ((flags & FLAG_ED) === 0) !== (authenticatorData.length === AUTH_DATA_MIN)) {
    throw fail('authenticator-data', 'The WebAuthn authenticator data is malformed.');
  }
  const rpIdHash = new Uint8Array(await subtle.digest('SHA-256', encodeUtf8(options.credentialRpId) as Uint8Array<ArrayBuffer>));
  if (!equalConstantTime(rpIdHash, authenticatorData.subarray(0, 32))) {
    throw fail('rp-id', 'The WebAuthn assertion was made for another RP ID.');
  }
  if ((flags & FLAG_UP) === 0) throw fail('user-presence', 'The WebAuthn assertion lacks user presence (UP).');
  if ((options.requireUserVerification ?? true) && (flags & FLAG_UV) === 0) {
    throw fail('user-verification', 'The WebAuthn assertion lacks user verification (UV), which the policy requires.');
  }

  // §7.2 steps 19–20: the signature over authData || SHA-256(clientDataJSON).
  // Strict DER only: the one encoding of (r, s) (X.690 §10), converted by @noble/curves.
  const p1363 = derToP1363(signature);
  if (p1363 === undefined) throw fail('signature', 'The WebAuthn signature is not a strict DER ECDSA signature.');
  const clientDataHash = new Uint8Array(await subtle.digest('SHA-256', clientDataJSON as Uint8Array<ArrayBuffer>));
  const ok = await verifyP1363(options.publicKey, concatBytes(authenticatorData, clientDataHash), p1363);
  if (!ok) throw fail('signature', 'The WebAuthn signature does not verify.');
}

function checkAssertion(a: WebAuthnAssertion): WebAuthnAssertion {
  if (typeof a !== 'object' || a === null) throw new TypeError('"assertion" expected an object');
  for (const k of ['authenticatorData', 'clientDataJSON', 'signature'] as const) {
    if (!(a[k] instanceof Uint8Array)) throw new TypeError(`"${k}" expected Uint8Array`);
  }
  if (a.authenticatorData.length < AUTH_DATA_MIN || a.authenticatorData.length > AUTH_DATA_MAX) {
    throw fail('authenticator-data', 'The WebAuthn authenticator data has an impossible length.');
  }
  // Copies: nothing the caller changes after this point (across awaits) affects the check.
  return {
    authenticatorData: new Uint8Array(a.authenticatorData),
    clientDataJSON: new Uint8Array(a.clientDataJSON),
    signature: new Uint8Array(a.signature),
  };
}
