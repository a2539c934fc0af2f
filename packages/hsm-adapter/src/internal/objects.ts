// Object templates and look-ups on the token (PKCS#11 2.40 §4: object classes and attributes).
import pkcs11js from 'pkcs11js';
import type { Attribute, PKCS11, Template } from 'pkcs11js';
import type { KeyUsage } from '@sigil/sdk/backend';
import { P256_EC_PARAMS } from './ec.js';

/**
 * Attributes of a private key that Sigil generates. Sensitive and never extractable: once set,
 * PKCS#11 lets CKA_SENSITIVE only go to true and CKA_EXTRACTABLE only to false (§4.9, table 36
 * footnote 11), and SoftHSM answers CKR_ATTRIBUTE_READ_ONLY to any attempt to weaken them.
 * One purpose per key: CKA_SIGN or CKA_DERIVE, never both (NIST SP 800-57 §5.2).
 */
export function privateKeyTemplate(usage: KeyUsage, label: string): Template {
  return [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
    { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_EC },
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_PRIVATE, value: true },
    { type: pkcs11js.CKA_SENSITIVE, value: true },
    { type: pkcs11js.CKA_EXTRACTABLE, value: false },
    { type: pkcs11js.CKA_LABEL, value: label },
    { type: pkcs11js.CKA_SIGN, value: usage === 'sign' },
    { type: pkcs11js.CKA_DERIVE, value: usage === 'agree' },
    { type: pkcs11js.CKA_DECRYPT, value: false },
    { type: pkcs11js.CKA_UNWRAP, value: false },
    { type: pkcs11js.CKA_SIGN_RECOVER, value: false },
  ];
}

export function publicKeyTemplate(usage: KeyUsage, label: string): Template {
  return [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY },
    { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_EC },
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_PRIVATE, value: false },
    { type: pkcs11js.CKA_LABEL, value: label },
    { type: pkcs11js.CKA_EC_PARAMS, value: P256_EC_PARAMS },
    { type: pkcs11js.CKA_VERIFY, value: usage === 'sign' },
    { type: pkcs11js.CKA_ENCRYPT, value: false },
    { type: pkcs11js.CKA_WRAP, value: false },
  ];
}

/** An AES-256 key on the token for wrapping backups and escrow shares; never leaves it. */
export function wrappingKeyTemplate(label: string, id: Buffer): Template {
  return [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
    { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
    { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_PRIVATE, value: true },
    { type: pkcs11js.CKA_SENSITIVE, value: true },
    { type: pkcs11js.CKA_EXTRACTABLE, value: false },
    { type: pkcs11js.CKA_LABEL, value: label },
    { type: pkcs11js.CKA_ID, value: id },
    { type: pkcs11js.CKA_ENCRYPT, value: true },
    { type: pkcs11js.CKA_DECRYPT, value: true },
    { type: pkcs11js.CKA_WRAP, value: false },
    { type: pkcs11js.CKA_UNWRAP, value: false },
    { type: pkcs11js.CKA_SIGN, value: false },
    { type: pkcs11js.CKA_VERIFY, value: false },
    { type: pkcs11js.CKA_DERIVE, value: false },
  ];
}

export { DERIVED_SECRET_TEMPLATE } from './derived-secret.js';

/** A session (temporary) public key object for C_Verify. */
export function verifyKeyTemplate(ecPoint: Buffer): Template {
  return [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY },
    { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_EC },
    { type: pkcs11js.CKA_TOKEN, value: false },
    { type: pkcs11js.CKA_EC_PARAMS, value: P256_EC_PARAMS },
    { type: pkcs11js.CKA_EC_POINT, value: ecPoint },
    { type: pkcs11js.CKA_VERIFY, value: true },
  ];
}

/** Every object matching `template` (C_FindObjectsInit / C_FindObjects / C_FindObjectsFinal). */
export function findObjects(lib: PKCS11, session: Buffer, template: Template): Buffer[] {
  lib.C_FindObjectsInit(session, template);
  try {
    const found: Buffer[] = [];
    for (;;) {
      const batch = lib.C_FindObjects(session, 64);
      found.push(...batch);
      if (batch.length < 64) return found;
    }
  } finally {
    lib.C_FindObjectsFinal(session);
  }
}

/** Reads attributes; the result is in the order asked. */
export function readAttributes(lib: PKCS11, session: Buffer, object: Buffer, types: readonly number[]): Buffer[] {
  const template: Attribute[] = types.map((type) => ({ type }));
  return lib.C_GetAttributeValue(session, object, template).map((a) => a.value);
}

/** A CK_BBOOL attribute value (one byte, CK_TRUE = 1). */
export function isTrue(value: Buffer | undefined): boolean {
  return value !== undefined && value.length > 0 && value[0] !== 0;
}
