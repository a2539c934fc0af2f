// C2SP signed-note (c2sp.org/signed-note) with signature type 0x02: ECDSA over SHA-256 "as
// implemented by github.com/transparency-dev/witness", the type that Rekor and the Pixel binary
// transparency log use. It fits Sigil exactly: the log key is a P-256 key in a KeyBackend (an
// HSM in production), and the key ID is SHA-256(DER SubjectPublicKeyInfo)[:4].
//
// Signature bytes on the wire are ASN.1 DER (Go's ecdsa.SignASN1); KeyBackend and WebCrypto
// speak IEEE P1363 (r || s). @noble/curves converts between the two; the DER we accept must
// re-encode to itself, so a BER or padded encoding of a valid signature is rejected.
import { p256 } from '@noble/curves/nist.js';
import { SigilError } from '../errors.js';
import type { KeyBackend, KeyRef } from '../backend/key-backend.js';
import { concatBytes, toHex } from '../internal/bytes.js';
import { checkP256PublicKey, importP256PublicKey } from '../internal/p256.js';
import { fromBase64, toBase64 } from './base64.js';

/** The signed-note signature type of ECDSA (c2sp.org/signed-note, "Signature types"). */
export const NOTE_SIGNATURE_TYPE_ECDSA = 0x02;

/** Largest note accepted: room for 16 post-quantum cosignatures, which the spec requires. */
export const MAX_NOTE_LENGTH = 128 * 1024;
/** Most signature lines accepted in one note (the spec requires at least 16). */
export const MAX_NOTE_SIGNATURES = 32;

// DER SubjectPublicKeyInfo header of an uncompressed P-256 key (RFC 5480 §2: id-ecPublicKey,
// secp256r1), followed by the 65-byte point.
const P256_SPKI_PREFIX = Uint8Array.of(
  0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
  0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
);

const EM_DASH_SPACE = '\u2014 ';

function fail(message: string, detail: string): never {
  throw new SigilError('E_DIRECTORY_PROOF', message, { detail });
}

/** A log's public key as a signed-note verifier: `name`, 32-bit key ID and P-256 point. */
export interface LogVerifierKey {
  readonly name: string;
  /** SHA-256(DER SPKI)[:4] as a big-endian uint32. */
  readonly keyId: number;
  /** Uncompressed SEC1 P-256 point, 65 bytes. */
  readonly publicKey: Uint8Array;
  /** The vkey text: `name+hex(keyId)+base64(0x02 || DER SPKI)`. */
  readonly vkey: string;
}

/** One signature line of a note, not yet verified. */
export interface NoteSignature {
  readonly name: string;
  readonly keyId: number;
  readonly signature: Uint8Array;
}

/** A note split into its text (final newline included) and signature lines. Nothing verified. */
export interface ParsedNote {
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

/** Key names: non-empty, no Unicode space, no '+', no control character. */
export function isValidKeyName(name: string): boolean {
  return typeof name === 'string' && name.length > 0 && !/[\s+\u0000-\u001f]/u.test(name);
}

function spkiOf(publicKey: Uint8Array): Uint8Array {
  return concatBytes(P256_SPKI_PREFIX, publicKey);
}

async function keyIdOfSpki(spki: Uint8Array): Promise<number> {
  const d = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', spki as Uint8Array<ArrayBuffer>));
  return new DataView(d.buffer).getUint32(0, false);
}

/**
 * Builds the verifier key of a log from its name and P-256 public key.
 *
 * @example
 * ```ts
 * const key = await logVerifierKey('sigil.example/log', ref.publicKey);
 * console.log(key.vkey); // sigil.example/log+1a2b3c4d+AjBZMBMG...
 * ```
 * @throws SigilError `E_BAD_PUBLIC_KEY` if the key is not a valid uncompressed P-256 point.
 * @throws TypeError if the name is not a valid key name.
 */
export async function logVerifierKey(name: string, publicKey: Uint8Array): Promise<LogVerifierKey> {
  if (!isValidKeyName(name)) throw new TypeError(`"name" expected a non-empty key name without spaces or '+'`);
  checkP256PublicKey(publicKey);
  const spki = spkiOf(publicKey);
  const keyId = await keyIdOfSpki(spki);
  const vkey = `${name}+${keyId.toString(16).padStart(8, '0')}+${toBase64(concatBytes(Uint8Array.of(NOTE_SIGNATURE_TYPE_ECDSA), spki))}`;
  return Object.freeze({ name, keyId, publicKey: new Uint8Array(publicKey), vkey });
}

/**
 * Parses a pinned verifier key (`name+hex(keyId)+base64(0x02 || DER SPKI)`), strictly: the key
 * must be an uncompressed P-256 SPKI, and the key ID must be the one the key implies.
 *
 * @throws SigilError `E_FORMAT` for a malformed vkey or a key ID that does not match the key;
 *   `E_BAD_PUBLIC_KEY` if the point is not on the curve.
 */
export async function parseLogVerifierKey(vkey: string): Promise<LogVerifierKey> {
  if (typeof vkey !== 'string') throw new TypeError(`"vkey" expected string, got ${typeof vkey}`);
  const bad = (why: string): never => {
    throw new SigilError('E_FORMAT', `The log verifier key is malformed (${why}).`, { detail: 'vkey' });
  };
  // Name and key ID contain no '+'; the base64 part may.
  const first = vkey.indexOf('+');
  const second = first < 0 ? -1 : vkey.indexOf('+', first + 1);
  if (second < 0) return bad('parts');
  const name = vkey.slice(0, first);
  const idHex = vkey.slice(first + 1, second);
  const material = vkey.slice(second + 1);
  if (!isValidKeyName(name)) return bad('name');
  if (!/^[0-9a-f]{8}$/.test(idHex)) return bad('key id');
  const bytes = fromBase64(material);
  if (bytes === undefined) return bad('base64');
  if (bytes[0] !== NOTE_SIGNATURE_TYPE_ECDSA) return bad('signature type');
  const spki = bytes.subarray(1);
  if (spki.length !== P256_SPKI_PREFIX.length + 65 || toHex(spki.subarray(0, P256_SPKI_PREFIX.length)) !== toHex(P256_SPKI_PREFIX)) {
    return bad('not an uncompressed P-256 SubjectPublicKeyInfo');
  }
  const key = await logVerifierKey(name, spki.subarray(P256_SPKI_PREFIX.length));
  if (key.vkey !== vkey) return bad('key id does not match the key');
  return key;
}

/**
 * Splits a signed note into text and signature lines (c2sp.org/signed-note, "Format"), strictly.
 * Verifies nothing: use {@link verifyNote}.
 *
 * @throws SigilError `E_DIRECTORY_PROOF` for anything that is not a well-formed note.
 */
export function parseNote(note: string): ParsedNote {
  if (typeof note !== 'string') throw new TypeError(`"note" expected string, got ${typeof note}`);
  if (note.length > MAX_NOTE_LENGTH) fail('The signed note is too large.', 'note-too-large');
  // Valid UTF-8 (no lone surrogate) and no control character but newline.
  if (/[\u0000-\u0009\u000b-\u001f]/.test(note) || /\p{Cs}/u.test(note)) fail('The signed note has a forbidden character.', 'note-format');
  if (!note.endsWith('\n')) fail('The signed note does not end with a newline.', 'note-format');
  const split = note.lastIndexOf('\n\n');
  if (split < 0) fail('The signed note has no signature block.', 'note-format');
  const text = note.slice(0, split + 1);
  const lines = note.slice(split + 2, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) fail('The signed note has too many signatures.', 'note-too-large');
  const signatures = lines.map((line): NoteSignature => {
    if (!line.startsWith(EM_DASH_SPACE)) fail('A signature line of the note is malformed.', 'note-format');
    const fields = line.slice(EM_DASH_SPACE.length).split(' ');
    const [name, b64] = fields;
    if (fields.length !== 2 || name === undefined || b64 === undefined || !isValidKeyName(name)) {
      fail('A signature line of the note is malformed.', 'note-format');
    }
    const raw = fromBase64(b64);
    if (raw === undefined || raw.length < 5) fail('A note signature is not valid base64.', 'note-format');
    const keyId = new DataView(raw.buffer, raw.byteOffset).getUint32(0, false);
    return { name, keyId, signature: raw.subarray(4) };
  });
  return { text, signatures };
}

/**
 * Verifies a signed note against one pinned ECDSA P-256 key and returns its text.
 *
 * Per the spec, signatures of other keys are ignored; at least one signature of this key (same
 * name and key ID) must be present, and every one present must verify.
 *
 * @throws SigilError `E_DIRECTORY_PROOF` if the note is malformed, unsigned by the key, or a
 *   signature does not verify.
 */
export async function verifyNote(note: string, key: LogVerifierKey): Promise<string> {
  const parsed = parseNote(note);
  const mine = parsed.signatures.filter((s) => s.name === key.name && s.keyId === key.keyId);
  if (mine.length === 0) fail('The note carries no signature by the log key.', 'no-signature');
  const publicKey = await importP256PublicKey(globalThis.crypto.subtle, key.publicKey, 'ECDSA');
  const message = new TextEncoder().encode(parsed.text);
  for (const s of mine) {
    const p1363 = derToP1363(s.signature);
    const ok =
      p1363 !== undefined &&
      (await globalThis.crypto.subtle.verify(
        { name: 'ECDSA', hash: 'SHA-256' },
        publicKey,
        p1363 as Uint8Array<ArrayBuffer>,
        message as Uint8Array<ArrayBuffer>,
      ));
    if (!ok) fail('The signature of the log key on the note does not verify.', 'bad-signature');
  }
  return parsed.text;
}

/**
 * Signs a note text with a P-256 key held by a KeyBackend (an HSM or a software key) and returns
 * the signed note. The key name must be a valid key name; the text must end with a newline.
 *
 * @throws SigilError from the backend (`E_KEY_NOT_FOUND`, `E_KEY_USAGE`, `E_HSM*`).
 * @throws TypeError on a malformed text or name.
 */
export async function signNote(text: string, name: string, backend: KeyBackend, key: KeyRef): Promise<string> {
  if (typeof text !== 'string' || !text.endsWith('\n') || text.includes('\n\n') || /[\u0000-\u0009\u000b-\u001f]|\p{Cs}/u.test(text)) {
    throw new TypeError('"text" expected note text ending in a newline, without empty lines or control characters');
  }
  const verifier = await logVerifierKey(name, key.publicKey);
  const p1363 = await backend.sign(key, new TextEncoder().encode(text));
  const der = p256.Signature.fromBytes(p1363, 'compact').toBytes('der');
  const id = new Uint8Array(4);
  new DataView(id.buffer).setUint32(0, verifier.keyId, false);
  return `${text}\n${EM_DASH_SPACE}${name} ${toBase64(concatBytes(id, der))}\n`;
}

function derToP1363(der: Uint8Array): Uint8Array | undefined {
  try {
    const sig = p256.Signature.fromBytes(der, 'der');
    if (toHex(sig.toBytes('der')) !== toHex(der)) return undefined; // not canonical DER
    return sig.toBytes('compact');
  } catch {
    return undefined;
  }
}
