// SoftHSM fixtures for the PKCS#11 tests.
//
// `createSoftHsmTestToken` (re-exported from @sigil/hsm-adapter/testing, where the plain-JS walk-through
// and the benchmark can reach it too) makes a throwaway token in a temp dir with its own
// SOFTHSM2_CONF. `importTestKeyToToken` puts a key made elsewhere (a Wycheproof private
// scalar, say) onto the token through raw pkcs11js, so vector suites can run through
// Pkcs11KeyBackend.
import { createECDH, createHash } from 'node:crypto';
import { expect } from 'vitest';
import pkcs11js from 'pkcs11js';
import type { PKCS11, Template } from 'pkcs11js';
import type { KeyUsage } from '@sigil/sdk/backend';
import { ckrOf } from '../../src/internal/ckr.js';

export { createSoftHsmTestToken, DEFAULT_SOFTHSM_MODULE } from '@sigil/hsm-adapter/testing';
export type { SoftHsmTestToken, SoftHsmTestTokenOptions } from '@sigil/hsm-adapter/testing';

/** Where to find a token: what `createSoftHsmTestToken` returns has all three. */
export interface TokenLocation {
  readonly module: string;
  readonly label: string;
  readonly pin: string;
}

export interface ImportTestKeyOptions {
  /** The P-256 private scalar, big-endian. Leading zero bytes are ignored (Wycheproof writes 33 bytes at times). */
  readonly privateKey: Uint8Array;
  /** 'sign' sets CKA_SIGN, 'agree' CKA_DERIVE (only one). */
  readonly usage: KeyUsage;
  /** CKA_LABEL (default `imported`). */
  readonly label?: string | undefined;
  /** CKA_SENSITIVE (default true). Set false only to test that the backend refuses the key. */
  readonly sensitive?: boolean | undefined;
  /** CKA_EXTRACTABLE (default false). Set true only to test that the backend refuses the key. */
  readonly extractable?: boolean | undefined;
  /** CKA_ID (default the 16 bytes of keyIdOf(publicKey), as Sigil sets it). */
  readonly ckaId?: Uint8Array | undefined;
}

export interface ImportedTestKey {
  /** keyIdOf(publicKey): what `Pkcs11KeyBackend.getKey` finds it by. */
  readonly id: string;
  /** The uncompressed SEC1 public key computed from the scalar. */
  readonly publicKey: Uint8Array;
}

const P256_EC_PARAMS = Buffer.from('06082a8648ce3d030107', 'hex');

/**
 * `importTestKeyToToken(token, { privateKey, usage, label?, sensitive?, extractable?, ckaId? })
 *   → Promise<{ id, publicKey }>`
 *
 * Creates a P-256 private key object (CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE true and
 * CKA_EXTRACTABLE false unless asked otherwise, CKA_ID = keyIdOf(publicKey)) and its public key
 * object on the token, through raw pkcs11js. Then `backend.getKey(id)` returns a KeyRef for it.
 * Test only: a real deployment never lets a private key exist outside the token.
 *
 * Safe to call while a Pkcs11KeyBackend on the same module is open in this process (it reuses
 * the module's initialisation and login, and never finalizes a module it did not initialize).
 *
 * @throws {RangeError} if the scalar is longer than 32 significant bytes.
 */
export async function importTestKeyToToken(token: TokenLocation, options: ImportTestKeyOptions): Promise<ImportedTestKey> {
  let start = 0;
  while (start < options.privateKey.length && options.privateKey[start] === 0) start++;
  const significant = options.privateKey.subarray(start);
  if (significant.length > 32) throw new RangeError(`"privateKey" expected at most 32 significant bytes, got ${significant.length}`);
  const scalar = Buffer.alloc(32);
  scalar.set(significant, 32 - significant.length);
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(scalar);
  const publicKey = new Uint8Array(ecdh.getPublicKey());
  const idBytes = createHash('sha256').update(publicKey).digest().subarray(0, 16);
  const ckaId = options.ckaId === undefined ? idBytes : Buffer.from(options.ckaId);
  const label = options.label ?? 'imported';
  const privateTemplate: Template = [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
    { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_EC },
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_PRIVATE, value: true },
    { type: pkcs11js.CKA_SENSITIVE, value: options.sensitive ?? true },
    { type: pkcs11js.CKA_EXTRACTABLE, value: options.extractable ?? false },
    { type: pkcs11js.CKA_LABEL, value: label },
    { type: pkcs11js.CKA_ID, value: ckaId },
    { type: pkcs11js.CKA_EC_PARAMS, value: P256_EC_PARAMS },
    { type: pkcs11js.CKA_VALUE, value: scalar },
    { type: pkcs11js.CKA_SIGN, value: options.usage === 'sign' },
    { type: pkcs11js.CKA_DERIVE, value: options.usage === 'agree' },
  ];
  const publicTemplate: Template = [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY },
    { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_EC },
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_PRIVATE, value: false },
    { type: pkcs11js.CKA_LABEL, value: label },
    { type: pkcs11js.CKA_ID, value: ckaId },
    { type: pkcs11js.CKA_EC_PARAMS, value: P256_EC_PARAMS },
    { type: pkcs11js.CKA_EC_POINT, value: Buffer.concat([Buffer.from([0x04, 0x41]), publicKey]) },
    { type: pkcs11js.CKA_VERIFY, value: options.usage === 'sign' },
  ];
  withTokenSession(token, (lib, session) => {
    lib.C_CreateObject(session, privateTemplate);
    lib.C_CreateObject(session, publicTemplate);
  });
  scalar.fill(0);
  return { id: idBytes.toString('hex'), publicKey };
}

/**
 * Runs `fn` with a logged-in RW session on the token, through a raw pkcs11js instance of the
 * module (the tests' view of the token, independent of the adapter). Synchronous on purpose, so
 * nothing else in the process can interleave with it. Finalizes the module only if this call
 * was the one that initialized it.
 */
export function withTokenSession<T>(token: TokenLocation, fn: (lib: PKCS11, session: Buffer, slot: Buffer) => T): T {
  const lib = new pkcs11js.PKCS11();
  lib.load(token.module);
  let initializedHere = false;
  try {
    lib.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
    initializedHere = true;
  } catch (e) {
    if ((e as { code?: unknown }).code !== pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED) throw e;
  }
  try {
    const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trim() === token.label);
    if (slot === undefined) throw new Error(`no token labelled ${token.label}`);
    const session = lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    try {
      try {
        lib.C_Login(session, pkcs11js.CKU_USER, token.pin);
      } catch (e) {
        if ((e as { code?: unknown }).code !== pkcs11js.CKR_USER_ALREADY_LOGGED_IN) throw e;
      }
      return fn(lib, session, slot);
    } finally {
      lib.C_CloseSession(session);
    }
  } finally {
    if (initializedHere) {
      lib.C_Finalize();
      lib.close();
    }
  }
}

/**
 * The CKR_* code that `fn` fails with (through the adapter's own reading of pkcs11js errors),
 * or undefined if it does not fail.
 */
export function ckrThrownBy(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (e) {
    const code = ckrOf(e);
    if (code === undefined) throw e;
    return code;
  }
  return undefined;
}

/** The handle of the one object of `objectClass` with this CKA_ID (hex), or throws. */
export function findByCkaId(lib: PKCS11, session: Buffer, objectClass: number, idHex: string): Buffer {
  lib.C_FindObjectsInit(session, [
    { type: pkcs11js.CKA_CLASS, value: objectClass },
    { type: pkcs11js.CKA_ID, value: Buffer.from(idHex, 'hex') },
  ]);
  const found = lib.C_FindObjects(session, 2);
  lib.C_FindObjectsFinal(session);
  if (found.length !== 1 || found[0] === undefined) throw new Error(`expected one object with CKA_ID ${idHex}, found ${found.length}`);
  return found[0];
}

/**
 * Proves, by the token's own attributes and by the two ways PKCS#11 has to get a key's value out
 * (reading CKA_VALUE, C_WrapKey), that the private key behind `keyIdHex` cannot leave the token.
 */
export function assertUnexportableOnToken(token: TokenLocation, keyIdHex: string): void {
  withTokenSession(token, (lib, session) => {
    const priv = findByCkaId(lib, session, pkcs11js.CKO_PRIVATE_KEY, keyIdHex);
    const attrs = lib.C_GetAttributeValue(session, priv, [
      { type: pkcs11js.CKA_EXTRACTABLE },
      { type: pkcs11js.CKA_NEVER_EXTRACTABLE },
      { type: pkcs11js.CKA_SENSITIVE },
      { type: pkcs11js.CKA_ALWAYS_SENSITIVE },
      { type: pkcs11js.CKA_TOKEN },
      { type: pkcs11js.CKA_PRIVATE },
    ]);
    expect(attrs.map((a) => a.value[0])).toEqual([0, 1, 1, 1, 1, 1]);
    expect(() => lib.C_GetAttributeValue(session, priv, [{ type: pkcs11js.CKA_VALUE }])).toThrow(
      expect.objectContaining({ code: pkcs11js.CKR_ATTRIBUTE_SENSITIVE }),
    );
    const kek = lib.C_GenerateKey(session, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
      { type: pkcs11js.CKA_TOKEN, value: false },
      { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
      { type: pkcs11js.CKA_WRAP, value: true },
    ]);
    try {
      expect(() => lib.C_WrapKey(session, { mechanism: pkcs11js.CKM_AES_KEY_WRAP_PAD }, kek, priv, Buffer.alloc(512))).toThrow(
        expect.objectContaining({ code: pkcs11js.CKR_KEY_UNEXTRACTABLE }),
      );
    } finally {
      lib.C_DestroyObject(session, kek);
    }
  });
}

/**
 * Proves by reading the token itself that the AES wrapping key with CKA_ID `keyIdHex` is
 * sensitive, never extractable and persistent, and that its value cannot be read.
 */
export function assertWrappingKeyUnexportableOnToken(token: TokenLocation, keyIdHex: string): void {
  withTokenSession(token, (lib, session) => {
    const h = findByCkaId(lib, session, pkcs11js.CKO_SECRET_KEY, keyIdHex);
    const attrs = lib.C_GetAttributeValue(session, h, [
      { type: pkcs11js.CKA_EXTRACTABLE },
      { type: pkcs11js.CKA_SENSITIVE },
      { type: pkcs11js.CKA_TOKEN },
    ]);
    expect(attrs.map((a) => a.value[0])).toEqual([0, 1, 1]);
    expect(() => lib.C_GetAttributeValue(session, h, [{ type: pkcs11js.CKA_VALUE }])).toThrow(
      expect.objectContaining({ code: pkcs11js.CKR_ATTRIBUTE_SENSITIVE }),
    );
  });
}
