// @sigil/hsm-adapter/testing/vitest-setup: a vitest globalSetup (vitest.config `test.globalSetup`).
// It runs once per run in vitest's main process, before any worker starts: it checks that
// SoftHSM is there (one clear error instead of one per test file), makes the root directory
// of the worker tokens (worker-token.ts) and deletes it, with every token, when the run ends.
// It imports nothing from vitest, so the package does not depend on it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findSoftHsmModule } from './discovery.js';
import { SOFTHSM_ROOT_ENV } from './worker-token.js';

/**
 * The globalSetup: resolves to the teardown, as vitest expects.
 *
 * @throws {SigilError} `E_HSM_UNAVAILABLE` (`detail: 'module-not-found'`) when SoftHSM is not
 *   installed: the message names the paths tried and how to install it.
 * @example
 * ```ts
 * // vitest.config.ts
 * export default defineConfig({ test: { globalSetup: ['@sigil/hsm-adapter/testing/vitest-setup'], pool: 'forks' } });
 * ```
 */
export default async function setup(): Promise<() => Promise<void>> {
  findSoftHsmModule();
  const root = await mkdtemp(join(tmpdir(), 'sigil-softhsm-run-'));
  const previous = process.env[SOFTHSM_ROOT_ENV];
  process.env[SOFTHSM_ROOT_ENV] = root;
  return async () => {
    if (previous === undefined) delete process.env[SOFTHSM_ROOT_ENV];
    else process.env[SOFTHSM_ROOT_ENV] = previous;
    await rm(root, { recursive: true, force: true });
  };
}
