// @sigil/hsm-adapter/testing: fixtures for tests, benchmarks and the walk-through. Never for
// production keys, and kept out of the root entry point so that no production import pulls
// them in (STYLE.md: test fixtures never ship in a production entry point).
export { createSoftHsmTestToken, DEFAULT_SOFTHSM_MODULE } from './softhsm-test-token.js';
export type { SoftHsmTestToken, SoftHsmTestTokenOptions } from './softhsm-test-token.js';
