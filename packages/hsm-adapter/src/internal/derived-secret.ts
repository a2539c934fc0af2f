// Its own module, importing pkcs11js only, so that the token worker (token-worker.ts) can share
// it without loading the rest of the package.
import pkcs11js from 'pkcs11js';
import type { Template } from 'pkcs11js';

/**
 * The session object ECDH derives into (recipes/softhsm.md): a 32-byte generic secret that is
 * readable so the x coordinate can leave the token for the KDF in software (RFC 9180 §4.1
 * uses the DH output as KDF input), and that is destroyed as soon as it has been read.
 */
export const DERIVED_SECRET_TEMPLATE: Template = [
  { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
  { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_GENERIC_SECRET },
  { type: pkcs11js.CKA_TOKEN, value: false },
  { type: pkcs11js.CKA_SENSITIVE, value: false },
  { type: pkcs11js.CKA_EXTRACTABLE, value: true },
  { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
];
