// @sigil/hsm-adapter/testing: the kit for tests, users' CI, benchmarks and the walk-through.
// Never for production keys, and kept out of the root entry point so that no production
// import pulls it in (STYLE.md: test fixtures never ship in a production entry point).
// Two more subpaths: ./testing/vitest-setup (a vitest globalSetup) and ./testing/node-test.
export { findSoftHsmModule, SOFTHSM_MODULE_CANDIDATES, SOFTHSM_MODULE_ENV } from './discovery.js';
export type { FindSoftHsmModuleOptions, SoftHsmModuleCandidate } from './discovery.js';
export { createSoftHsmTestToken, DEFAULT_SOFTHSM_MODULE, randomPin } from './softhsm-test-token.js';
export type { SoftHsmTestToken, SoftHsmTestTokenOptions } from './softhsm-test-token.js';
export { SOFTHSM_ROOT_ENV, testWorkerId, WORKER_TOKEN_LABEL, workerSoftHsmToken } from './worker-token.js';
export { seedKeys } from './seed.js';
export type { SeedKey } from './seed.js';
export { FAULTABLE_METHODS, injectFaults } from './faults.js';
export type { Fault, FaultableMethod, FaultInjecting, FaultInjector, InjectOptions } from './faults.js';
