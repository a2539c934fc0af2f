// Signed statements: the unit that is stored, logged and served (docs/STATEMENTS.md §6).
// `u32 length || statement || proof`, where the proof is an ECDSA P-256 signature over the
// domain-separated statement bytes, or a WebAuthn assertion whose challenge is the labelled hash
// of the statement (contexts.ts): never a value a directory's sign-in nonce can produce.
import type { KeyBackend, KeyRef } from '../backend/key-backend.js';
import { concatBytes } from '../internal/bytes.js';
import { derToP1363 } from '../internal/ecdsa.js';
import { contextPrefix, webAuthnStatementChallenge } from './contexts.js';
import { decodeStatement, encodeStatement, STATEMENT_LIMITS, type Statement } from './statement.js';
import { Reader, Writer, formatError } from './wire.js';
import type { WebAuthnAssertion } from './webauthn.js';

/**
 * The domain-separation prefix of ECDSA statement signatures (§6.1):
 * `"sigil/v1 statement-signature" || 0x00`. No other Sigil signature input starts with it.
 */
export const STATEMENT_SIGNATURE_CONTEXT: Uint8Array = contextPrefix('statement');

/** Proof types and their wire values (§6). */
export const PROOF_TYPES = { ecdsa: 1, webauthn: 2 } as const;

/** ECDSA P-256 / SHA-256 signature (IEEE P1363 `r || s`) by a service root or a device key. */
export interface EcdsaProof {
  readonly type: 'ecdsa';
  readonly signature: Uint8Array;
}

/** A WebAuthn assertion by a WebAuthn root whose challenge is `webAuthnStatementChallenge(statementHash(statement))`. */
export interface WebAuthnProof extends WebAuthnAssertion {
  readonly type: 'webauthn';
}

export type StatementProof = EcdsaProof | WebAuthnProof;

/** A decoded signed statement. Unauthenticated until `applyStatement` has checked it. */
export interface SignedStatement {
  /** The canonical statement bytes (what is hashed and signed). */
  readonly statementBytes: Uint8Array;
  readonly statement: Statement;
  readonly proof: StatementProof;
}

const AUTH_DATA = { min: 37, max: 1024 } as const;
const CLIENT_DATA = { min: 2, max: 4096 } as const;
const DER_SIG = { min: 8, max: 72 } as const;

/**
 * SHA-256 of the statement bytes: the statement's identity and the `prev` link of the next
 * statement (§3.3). A WebAuthn root does not sign it as is: its challenge is
 * `webAuthnStatementChallenge(statementHash)` (§6.2).
 *
 * @example
 * ```ts
 * const head = await statementHash(encodeStatement(draft)); // the next statement's prev
 * ```
 */
export async function statementHash(statementBytes: Uint8Array): Promise<Uint8Array> {
  if (!(statementBytes instanceof Uint8Array)) throw new TypeError('"statementBytes" expected Uint8Array');
  return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', new Uint8Array(statementBytes)));
}

/** The exact bytes an ECDSA proof signs: `STATEMENT_SIGNATURE_CONTEXT || statement` (§6.1). */
export function statementSignatureInput(statementBytes: Uint8Array): Uint8Array {
  return new Writer().bytes(STATEMENT_SIGNATURE_CONTEXT).bytes(statementBytes).finish();
}

/**
 * Encodes a signed statement (§6). The proof's shape is checked here; its validity is not.
 *
 * @throws TypeError / RangeError for fields out of range.
 */
export function encodeSignedStatement(statementBytes: Uint8Array, proof: StatementProof): Uint8Array {
  if (!(statementBytes instanceof Uint8Array)) throw new TypeError('"statementBytes" expected Uint8Array');
  if (statementBytes.length < 1 || statementBytes.length > STATEMENT_LIMITS.maxStatementBytes) {
    throw new RangeError(`"statementBytes" expected 1 to ${STATEMENT_LIMITS.maxStatementBytes} bytes, got length=${statementBytes.length}`);
  }
  const w = new Writer().u32(statementBytes.length).bytes(statementBytes);
  if (proof?.type === 'ecdsa') {
    checkLength('signature', proof.signature, 64, 64);
    w.u8(PROOF_TYPES.ecdsa).bytes(proof.signature);
  } else if (proof?.type === 'webauthn') {
    checkLength('authenticatorData', proof.authenticatorData, AUTH_DATA.min, AUTH_DATA.max);
    checkLength('clientDataJSON', proof.clientDataJSON, CLIENT_DATA.min, CLIENT_DATA.max);
    checkLength('signature', proof.signature, DER_SIG.min, DER_SIG.max);
    w.u8(PROOF_TYPES.webauthn)
      .u16(proof.authenticatorData.length)
      .bytes(proof.authenticatorData)
      .u16(proof.clientDataJSON.length)
      .bytes(proof.clientDataJSON)
      .u8(proof.signature.length)
      .bytes(proof.signature);
  } else {
    throw new TypeError(`"proof.type" expected 'ecdsa' or 'webauthn'`);
  }
  return w.finish();
}

/**
 * Decodes a signed statement (§6) and the statement inside it (§3). Rejects every non-canonical
 * form, including a WebAuthn signature that is not strict DER.
 *
 * @throws SigilError `E_FORMAT` (or `E_UNSUPPORTED_VERSION`, `E_BAD_PUBLIC_KEY`) for bad bytes.
 */
export function decodeSignedStatement(bytes: Uint8Array): SignedStatement {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('"bytes" expected Uint8Array');
  const r = new Reader(bytes);
  const n = r.u32('statement length');
  if (n < 1 || n > STATEMENT_LIMITS.maxStatementBytes) throw formatError('statement length out of range');
  const statementBytes = r.bytes(n, 'statement');
  const statement = decodeStatement(statementBytes);
  const type = r.u8('proof type');
  let proof: StatementProof;
  if (type === PROOF_TYPES.ecdsa) {
    proof = { type: 'ecdsa', signature: r.bytes(64, 'signature') };
  } else if (type === PROOF_TYPES.webauthn) {
    const authenticatorData = r.bytes(lengthIn(r.u16('authenticator data length'), AUTH_DATA, 'authenticator data'), 'authenticator data');
    const clientDataJSON = r.bytes(lengthIn(r.u16('client data length'), CLIENT_DATA, 'client data'), 'client data');
    const signature = r.bytes(lengthIn(r.u8('signature length'), DER_SIG, 'signature'), 'signature');
    checkStrictDer(signature);
    proof = { type: 'webauthn', authenticatorData, clientDataJSON, signature };
  } else {
    throw formatError('unknown proof type');
  }
  r.end('signed statement');
  return { statementBytes, statement, proof };
}

/**
 * Encodes `statement` and signs it with an ECDSA key held by a KeyBackend: a service root (a
 * PKCS#11 token through Pkcs11KeyBackend) or a device signing key (§6.1).
 *
 * @throws RangeError if `statement.signer` is not `signer.ref.id`.
 * @throws SigilError from the backend (`E_KEY_NOT_FOUND`, `E_KEY_USAGE`, `E_HSM*`).
 * @example
 * ```ts
 * const signed = await signStatement({ kind: 'genesis', ...genesisHeader('svc@example.com', root.id, Date.now()),
 *   roots: [{ type: 'service', publicKey: root.publicKey }] }, { backend, ref: root });
 * ```
 */
export async function signStatement(statement: Statement, signer: { backend: KeyBackend; ref: KeyRef }): Promise<Uint8Array> {
  if (typeof signer !== 'object' || signer === null) throw new TypeError('"signer" expected { backend, ref }');
  if (statement?.signer !== signer.ref?.id) {
    throw new RangeError(`"statement.signer" expected the signing key's id ${String(signer.ref?.id)}, got ${String(statement?.signer)}`);
  }
  const statementBytes = encodeStatement(statement);
  const signature = await signer.backend.sign(signer.ref, statementSignatureInput(statementBytes));
  return encodeSignedStatement(statementBytes, { type: 'ecdsa', signature });
}

/**
 * Encodes `statement` and has a WebAuthn root sign it: `getAssertion` receives the challenge
 * (`webAuthnStatementChallenge` of the statement hash: SHA-256("sigil/v2 webauthn-statement" ||
 * 0x00 || SHA-256(statement))) and returns the authenticator's response, e.g. from
 * `navigator.credentials.get({ publicKey: { challenge, rpId, allowCredentials: [root] } })` (§6.2).
 *
 * @example
 * ```ts
 * const signed = await signStatementWithWebAuthn(draft, async (challenge) => {
 *   const c = await navigator.credentials.get({ publicKey: { challenge, rpId, userVerification: 'required' } });
 *   const r = (c as PublicKeyCredential).response as AuthenticatorAssertionResponse;
 *   return { authenticatorData: new Uint8Array(r.authenticatorData),
 *            clientDataJSON: new Uint8Array(r.clientDataJSON), signature: new Uint8Array(r.signature) };
 * });
 * ```
 */
export async function signStatementWithWebAuthn(
  statement: Statement,
  getAssertion: (challenge: Uint8Array) => Promise<WebAuthnAssertion>,
): Promise<Uint8Array> {
  const statementBytes = encodeStatement(statement);
  const a = await getAssertion(await webAuthnStatementChallenge(await statementHash(statementBytes)));
  return encodeSignedStatement(statementBytes, {
    type: 'webauthn',
    authenticatorData: a.authenticatorData,
    clientDataJSON: a.clientDataJSON,
    signature: a.signature,
  });
}

function checkLength(name: string, v: unknown, min: number, max: number): void {
  if (!(v instanceof Uint8Array)) throw new TypeError(`"${name}" expected Uint8Array`);
  if (v.length < min || v.length > max) {
    throw new RangeError(
      min === max
        ? `"${name}" expected Uint8Array of length ${min}, got length=${v.length}`
        : `"${name}" expected ${min} to ${max} bytes, got length=${v.length}`,
    );
  }
}

function lengthIn(n: number, range: { min: number; max: number }, what: string): number {
  if (n < range.min || n > range.max) throw formatError(`${what} length out of range`);
  return n;
}

/** ECDSA-Sig-Value in DER (RFC 3279 §2.2.3), strict: the one encoding noble re-encodes. */
function checkStrictDer(der: Uint8Array): void {
  if (derToP1363(der) === undefined) throw formatError('signature is not strict DER');
}
