// Signature contexts (docs/SECURITY.md, "Signatures and their contexts"; docs/STATEMENTS.md §6).
// Every signature a Sigil key makes covers `label || 0x00 || payload`, or, for WebAuthn, a
// challenge SHA-256(label || 0x00 || payload). No label contains 0x00 and no two labels are
// equal, so the inputs of two contexts are disjoint: a signature made in one context never
// verifies in another. The labels live here once; docs/SECURITY.md lists them.
//
// Why WebAuthn needs labelled challenges: a sign-in and a statement assertion are both
// `{type:"webauthn.get", challenge, origin}` over the same credential, RP ID and origin. Were
// the sign-in challenge the server's bytes and the statement challenge SHA-256(statement), a
// directory could set its login challenge to the hash of a statement of its choice and keep
// the user's sign-in assertion as that statement's proof. With both challenges hashes of
// differently labelled inputs, no server-chosen nonce yields a statement challenge (short of a
// SHA-256 collision).
import { concatBytes } from '../internal/bytes.js';
import { Writer, encodeUtf8 } from './wire.js';

/**
 * The context labels (ASCII, no 0x00), by what is signed. Each signature input is
 * `utf8(label) || 0x00 || payload` (for WebAuthn: the challenge is SHA-256 of it).
 */
export const SIGNATURE_CONTEXT_LABELS = {
  /** ECDSA statement proof by a service root or device key (STATEMENTS.md §6.1). */
  statement: 'sigil/v1 statement-signature',
  /** WebAuthn statement proof: challenge = SHA-256(label || 0x00 || statementHash) (§6.2). */
  webAuthnStatement: 'sigil/v2 webauthn-statement',
  /** WebAuthn sign-in: challenge = SHA-256(label || 0x00 || server nonce) (DIRECTORY.md). */
  webAuthnSignIn: 'sigil/v2 webauthn-sign-in',
  /** A service session: a service root or device key signs the server's challenge (DIRECTORY.md). */
  serviceSession: 'sigil/v1 service-session',
  /** A device's signing key proves possession inside its certificate (§4.4). */
  devicePossession: 'sigil/v2 device-possession',
  /** An epoch's user key proves possession inside its epoch statement (§4.6). */
  userKeyPossession: 'sigil/v2 user-key-possession',
  /** The sender's envelope header signature, signing mode 0x02 (FORMAT.md §5.1; defined in envelope/format.ts). */
  envelopeHeader: 'sigil/v2 header-signature',
  /**
   * An envelope segment's signature over its ciphertext digest: by the sender's key in signing
   * mode 0x01, by the per-message key in mode 0x02 (FORMAT.md §5.4; defined in envelope/format.ts).
   */
  envelopeSegment: 'sigil/v2 segment-signature',
} as const;

export type SignatureContext = keyof typeof SIGNATURE_CONTEXT_LABELS;

/** `utf8(label) || 0x00`: the prefix of every signature input of `context`. */
export function contextPrefix(context: SignatureContext): Uint8Array {
  return concatBytes(encodeUtf8(SIGNATURE_CONTEXT_LABELS[context]), Uint8Array.of(0));
}

async function sha256(b: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', b as Uint8Array<ArrayBuffer>));
}

function checkBytes(name: string, b: unknown, length?: number): asserts b is Uint8Array {
  if (!(b instanceof Uint8Array)) throw new TypeError(`"${name}" expected Uint8Array`);
  if (length !== undefined && b.length !== length) throw new RangeError(`"${name}" expected Uint8Array of length ${length}, got length=${b.length}`);
}

/**
 * The challenge a WebAuthn root's statement assertion carries (docs/STATEMENTS.md §6.2):
 * SHA-256("sigil/v2 webauthn-statement" || 0x00 || statementHash).
 *
 * @throws TypeError / RangeError unless `statementHash` is 32 bytes.
 */
export async function webAuthnStatementChallenge(statementHash: Uint8Array): Promise<Uint8Array> {
  checkBytes('statementHash', statementHash, 32);
  return sha256(concatBytes(contextPrefix('webAuthnStatement'), statementHash));
}

/**
 * The challenge a WebAuthn sign-in carries, derived by the client from the directory's nonce
 * (the `challenge` of its login options) and recomputed by the directory when it verifies:
 * SHA-256("sigil/v2 webauthn-sign-in" || 0x00 || nonce). Whatever nonce a directory picks, the
 * result is never a statement challenge, so a sign-in assertion never proves a statement.
 *
 * @throws TypeError / RangeError unless `nonce` is 16 to 64 bytes.
 * @example
 * ```ts
 * const challenge = await webAuthnSignInChallenge(fromBase64Url(options.challenge)!);
 * ```
 */
export async function webAuthnSignInChallenge(nonce: Uint8Array): Promise<Uint8Array> {
  checkBytes('nonce', nonce);
  if (nonce.length < 16 || nonce.length > 64) throw new RangeError(`"nonce" expected 16 to 64 bytes, got length=${nonce.length}`);
  return sha256(concatBytes(contextPrefix('webAuthnSignIn'), nonce));
}

/**
 * What a device's signing key signs to prove it holds the key its certificate names
 * (docs/STATEMENTS.md §4.4): `"sigil/v2 device-possession" || 0x00 || u8 len(accountId) ||
 * accountId || signingKey || agreementKey`. Binding the account stops a certificate of one
 * account from lending its proof to another; binding the agreement key says the signing key's
 * holder chose that agreement key.
 */
export function devicePossessionInput(accountId: string, signingKey: Uint8Array, agreementKey: Uint8Array): Uint8Array {
  checkBytes('signingKey', signingKey, 65);
  checkBytes('agreementKey', agreementKey, 65);
  const id = accountIdBytes(accountId);
  return new Writer().bytes(contextPrefix('devicePossession')).u8(id.length).bytes(id).bytes(signingKey).bytes(agreementKey).finish();
}

/**
 * What an epoch's user key signs to prove it is held by the publisher (docs/STATEMENTS.md §4.6):
 * `"sigil/v2 user-key-possession" || 0x00 || u8 len(accountId) || accountId || u32 epoch ||
 * userPublicKey`. Without it an account could publish another account's user public key as its
 * own, and a message "to" it would open at the other account.
 */
export function userKeyPossessionInput(accountId: string, epoch: number, userPublicKey: Uint8Array): Uint8Array {
  checkBytes('userPublicKey', userPublicKey, 65);
  if (!Number.isInteger(epoch) || epoch < 1 || epoch > 0xffffffff) throw new RangeError('"epoch" expected an integer from 1 to 2^32-1');
  const id = accountIdBytes(accountId);
  return new Writer().bytes(contextPrefix('userKeyPossession')).u8(id.length).bytes(id).u32(epoch).bytes(userPublicKey).finish();
}

function accountIdBytes(accountId: string): Uint8Array {
  if (typeof accountId !== 'string' || !/^[\x21-\x7e]{1,128}$/.test(accountId)) {
    throw new RangeError('"accountId" expected 1 to 128 visible ASCII characters');
  }
  return encodeUtf8(accountId);
}
