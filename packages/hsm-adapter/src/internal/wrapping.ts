// AES-256-GCM wrapping with a key held by the token: the wrapping-key index of a connection,
// and the byte layout `0x01 || IV (12) || ciphertext || tag (16)`.
//
// Why GCM rather than CKM_AES_KEY_WRAP_PAD (RFC 5649), which SoftHSM 2.6.1 also has: KWP wraps
// key *objects*, so a byte string would first have to become an extractable secret object on
// the token, and unwrapping would have to create a readable one; GCM takes the bytes directly
// and binds associated data. Random IVs: at most 2^32 messages per key (SP 800-38D §8.3), far
// beyond backup and escrow volumes.
import pkcs11js from 'pkcs11js';
import type { Mechanism, PKCS11 } from 'pkcs11js';
import { WRAP_FORMAT_VERSION, WRAP_IV_LENGTH, WRAP_TAG_LENGTH, type WrappingKeyRef } from '@sigil/sdk/backend';
import { SigilError } from '@sigil/sdk/errors';
import { ckrOf, meaningOf } from './ckr.js';
import { findObjects, isTrue, readAttributes } from './objects.js';

// The contract (KeyWrapping in @sigil/sdk/backend) owns the types and the layout's constants.
export type { WrappingKeyRef, WrapOptions } from '@sigil/sdk/backend';

export interface WrappingEntry {
  readonly ref: WrappingKeyRef;
  readonly handle: Buffer;
  readonly violation: string | undefined;
}

const WRAP_VERSION = WRAP_FORMAT_VERSION;
const GCM_IV_BYTES = WRAP_IV_LENGTH;
const GCM_TAG_BYTES = WRAP_TAG_LENGTH;

/** Shortest input `unwrap` can take: version, IV and tag around an empty plaintext. */
export const MIN_WRAPPED_BYTES = 1 + GCM_IV_BYTES + GCM_TAG_BYTES;
export { WRAP_VERSION, GCM_IV_BYTES };

/** The wrapping keys of one connection, by CKA_ID (handles live as long as the connection). */
export class WrappingKeyIndex {
  readonly #lib: PKCS11;
  readonly #entries = new Map<string, WrappingEntry>();
  readonly #assertPresent: () => void;

  /** `assertPresent`: throws if the token is gone (see KeyIndex). */
  constructor(lib: PKCS11, assertPresent: () => void) {
    this.#lib = lib;
    this.#assertPresent = assertPresent;
  }

  add(entry: WrappingEntry): void {
    this.#entries.set(entry.ref.id, entry);
  }

  forget(id: string): void {
    this.#entries.delete(id);
  }

  clear(): void {
    this.#entries.clear();
  }

  lookup(session: Buffer, id: string): WrappingEntry | undefined {
    const cached = this.#entries.get(id);
    if (cached !== undefined) return cached;
    const [handle] = findObjects(this.#lib, session, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
      { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
      { type: pkcs11js.CKA_ID, value: Buffer.from(id, 'hex') },
    ]);
    if (handle === undefined) {
      this.#assertPresent();
      return undefined;
    }
    const entry = this.read(session, handle, id);
    this.#entries.set(id, entry);
    return entry;
  }

  /** Reads a wrapping key and judges it: sensitive, never extractable, AES-256. */
  read(session: Buffer, handle: Buffer, id: string): WrappingEntry {
    const [label, sensitive, extractable, length] = readAttributes(this.#lib, session, handle, [
      pkcs11js.CKA_LABEL,
      pkcs11js.CKA_SENSITIVE,
      pkcs11js.CKA_EXTRACTABLE,
      pkcs11js.CKA_VALUE_LEN,
    ]);
    let violation: string | undefined;
    if (isTrue(extractable)) violation = `Wrapping key ${id} is extractable (CKA_EXTRACTABLE true): Sigil will not use it.`;
    else if (!isTrue(sensitive)) violation = `Wrapping key ${id} is not sensitive (CKA_SENSITIVE false): Sigil will not use it.`;
    else if (length === undefined || length.length < 1 || length.readUIntLE(0, Math.min(length.length, 6)) !== 32) {
      violation = `Wrapping key ${id} is not an AES-256 key.`;
    }
    return { ref: Object.freeze({ id, label: (label ?? Buffer.alloc(0)).toString('utf8') }), handle, violation };
  }
}

/**
 * AES-256-GCM of `plaintext` on the token under `key`, laid out as
 * `0x01 || IV || ciphertext || tag`.
 */
export async function sealWithToken(lib: PKCS11, session: Buffer, key: Buffer, iv: Buffer, plaintext: Buffer, aad: Buffer | undefined, asyncCalls: boolean): Promise<Uint8Array> {
  const out = Buffer.alloc(1 + GCM_IV_BYTES + plaintext.length + GCM_TAG_BYTES);
  out[0] = WRAP_VERSION;
  iv.copy(out, 1);
  const body = out.subarray(1 + GCM_IV_BYTES);
  lib.C_EncryptInit(session, gcm(iv, aad), key);
  const ct = asyncCalls ? await lib.C_EncryptAsync(session, plaintext, body) : lib.C_Encrypt(session, plaintext, body);
  if (ct.length !== body.length) throw new SigilError('E_HSM', 'The token returned AES-GCM output of the wrong length.');
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/**
 * Reverses {@link sealWithToken} for input already checked to be at least
 * {@link MIN_WRAPPED_BYTES} long with the right version byte.
 */
export async function openWithToken(lib: PKCS11, session: Buffer, key: Buffer, input: Buffer, aad: Buffer | undefined, asyncCalls: boolean): Promise<Uint8Array> {
  const iv = input.subarray(1, 1 + GCM_IV_BYTES);
  const body = input.subarray(1 + GCM_IV_BYTES);
  const out = Buffer.alloc(body.length);
  lib.C_DecryptInit(session, gcm(iv, aad), key);
  let pt: Buffer;
  try {
    pt = asyncCalls ? await lib.C_DecryptAsync(session, body, out) : lib.C_Decrypt(session, body, out);
  } catch (e) {
    // A failed tag is all the caller learns, whatever the token's CKR for it (SoftHSM
    // reports CKR_ENCRYPTED_DATA_INVALID or CKR_GENERAL_ERROR). Losing the session is not
    // a tag failure: that still reconnects.
    const ckr = ckrOf(e);
    if (ckr !== undefined && meaningOf(ckr).reconnect !== true && meaningOf(ckr).staleHandle !== true) throw authFailed(e);
    throw e;
  }
  return new Uint8Array(pt.buffer, pt.byteOffset, pt.length);
}

/** The one error of a failed unwrap, whatever failed: a constant message, no oracle. */
export function authFailed(cause?: unknown): SigilError {
  return new SigilError('E_AUTH_FAILED', 'The wrapped data did not authenticate.', cause === undefined ? {} : { cause });
}

function gcm(iv: Buffer, aad: Buffer | undefined): Mechanism {
  // CK_GCM_PARAMS (PKCS#11 2.40 §2.12.3); pkcs11js marshals the v2.40 layout that SoftHSM reads.
  return {
    mechanism: pkcs11js.CKM_AES_GCM,
    parameter: { type: pkcs11js.CK_PARAMS_AES_GCM, iv, ivBits: GCM_IV_BYTES * 8, tagBits: GCM_TAG_BYTES * 8, ...(aad ? { aad } : {}) },
  } as Mechanism;
}
