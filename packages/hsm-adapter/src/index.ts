// @sigil/hsm-adapter public API. Every export is listed by name. Test fixtures (a throwaway
// SoftHSM token) are in the subpath @sigil/hsm-adapter/testing.
export { Pkcs11KeyBackend } from './pkcs11-key-backend.js';
export type { MechanismDescription, Pkcs11KeyBackendOptions, TokenDescription, WrappingKeyRef, WrapOptions } from './pkcs11-key-backend.js';
export { SIGIL_MECHANISMS } from './internal/mechanisms.js';
export type { SigilMechanism } from './internal/mechanisms.js';
