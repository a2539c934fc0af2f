// @sigil/hsm-adapter public API. Every export is listed by name.
export { Pkcs11KeyBackend } from './pkcs11-key-backend.js';
export type { Pkcs11KeyBackendOptions, WrappingKeyRef, WrapOptions } from './pkcs11-key-backend.js';
// Test and demo fixture: a throwaway SoftHSM token (never for production keys).
export { createSoftHsmTestToken, DEFAULT_SOFTHSM_MODULE } from './softhsm-test-token.js';
export type { SoftHsmTestToken, SoftHsmTestTokenOptions } from './softhsm-test-token.js';
