// @sigil/hsm-adapter public API. Every export is listed by name. Test fixtures (a throwaway
// SoftHSM token) are in the subpath @sigil/hsm-adapter/testing.
export { Pkcs11KeyBackend } from './pkcs11-key-backend.js';
export type { Pkcs11KeyBackendOptions, WrappingKeyRef, WrapOptions } from './pkcs11-key-backend.js';
