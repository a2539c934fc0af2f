// @sigil/hsm-adapter/testing/node-test: the kit for node:test. `node --test` runs each test
// file in a process of its own, and SoftHSM reads SOFTHSM2_CONF once per process, so the
// token here is one per file: made in `before`, deleted in `after`.
import { after, before } from 'node:test';
import type { KeyRef } from '@sigil/sdk/backend';
import { Pkcs11KeyBackend, type Pkcs11KeyBackendOptions } from '../pkcs11-key-backend.js';
import { seedKeys, type SeedKey } from './seed.js';
import { createSoftHsmTestToken, type SoftHsmTestToken } from './softhsm-test-token.js';

export interface UseSoftHsmTokenOptions {
  /** Token label (default `sigil-test`). */
  readonly label?: string | undefined;
  /** Keys to have on the token before the first test (see `seedKeys`). */
  readonly keys?: readonly SeedKey[] | undefined;
  /** Options of the backend, other than where the token is (default: Pkcs11KeyBackend's). */
  readonly backend?: Omit<Pkcs11KeyBackendOptions, 'module' | 'token' | 'pin'> | undefined;
}

/** What a test file gets: readable from the first test on (before that, the getters throw). */
export interface SoftHsmTestContext {
  readonly token: SoftHsmTestToken;
  /** A backend open on the token, closed in `after`. */
  readonly backend: Pkcs11KeyBackend;
  /** The seeded keys, by label. */
  readonly keys: Readonly<Record<string, KeyRef>>;
}

/**
 * `useSoftHsmToken({ label?, keys?, backend? }) → SoftHsmTestContext`
 *
 * Registers node:test `before` and `after` hooks at the level it is called (top level: the
 * whole file) that make a throwaway SoftHSM token with random PINs, open a Pkcs11KeyBackend on
 * it and generate the `keys` on it; and then close the backend and delete the token.
 *
 * @throws {Error} from a getter read before the `before` hook ran. The hook itself fails the
 *   tests with `E_HSM_UNAVAILABLE` when SoftHSM is not installed.
 * @example
 * ```ts
 * import { test } from 'node:test';
 * import { useSoftHsmToken } from '@sigil/hsm-adapter/testing/node-test';
 * const hsm = useSoftHsmToken({ keys: [{ label: 'directory-log', usage: 'sign' }] });
 * test('signs', async () => { await hsm.backend.sign(hsm.keys['directory-log']!, data) });
 * ```
 */
export function useSoftHsmToken(options: UseSoftHsmTokenOptions = {}): SoftHsmTestContext {
  let ready: SoftHsmTestContext | undefined;
  let token: SoftHsmTestToken | undefined;
  let backend: Pkcs11KeyBackend | undefined;
  before(async () => {
    token = await createSoftHsmTestToken({ label: options.label });
    backend = await Pkcs11KeyBackend.open({ ...options.backend, ...token.location });
    const keys = await seedKeys(backend, options.keys ?? []);
    ready = { token, backend, keys };
  });
  after(async () => {
    await backend?.close();
    await token?.remove();
  });
  const get = (): SoftHsmTestContext => {
    if (ready === undefined) throw new Error('useSoftHsmToken: the token is ready in the tests, not while the file is loading (its before hook has not run)');
    return ready;
  };
  return {
    get token() {
      return get().token;
    },
    get backend() {
      return get().backend;
    },
    get keys() {
      return get().keys;
    },
  };
}
