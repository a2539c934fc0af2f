// @sigil/sdk/testing: for implementers of a KeyBackend, the conformance suite every backend of
// Sigil passes (software and PKCS#11 alike). It registers vitest tests: import it only from test
// files (vitest is an optional peer dependency of the sdk for this entry alone).
export { describeKeyBackendConformance } from './key-backend-conformance.js';
export type { ConformanceTarget } from './key-backend-conformance.js';
