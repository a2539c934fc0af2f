// One SoftHSM token per test worker. The vitest globalSetup (vitest-setup.ts) makes a root
// directory once per run and names it in SIGIL_SOFTHSM_ROOT, which the worker processes
// inherit; each worker then keeps its token in root/worker-<id>, where the files it runs one
// after another find it again. SoftHSM reads SOFTHSM2_CONF once per process (at C_Initialize),
// and vitest's forks pool runs each file in a process of its own, so a token per worker (not
// per file, not per run) is both safe and cheap.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createSoftHsmTestToken, type SoftHsmTestToken } from './softhsm-test-token.js';

/** The environment variable through which the globalSetup hands its root directory to workers. */
export const SOFTHSM_ROOT_ENV = 'SIGIL_SOFTHSM_ROOT';

/** The label of every worker token (each has a token directory of its own). */
export const WORKER_TOKEN_LABEL = 'sigil-test';

/**
 * `testWorkerId(env?) → string`: vitest's `VITEST_POOL_ID` (1 to maxWorkers, reused by the
 * files a worker runs in turn), else `pid-<process id>` (node --test runs each file in a
 * process of its own).
 */
export function testWorkerId(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const pool = env['VITEST_POOL_ID'];
  return pool !== undefined && /^[0-9]+$/.test(pool) ? pool : `pid-${process.pid}`;
}

interface SavedToken {
  readonly module: string;
  readonly label: string;
  readonly pin: string;
  readonly soPin: string;
}

let current: Promise<SoftHsmTestToken> | undefined;

/**
 * `workerSoftHsmToken() → Promise<SoftHsmTestToken>`
 *
 * This worker's token: with the globalSetup `@sigil/hsm-adapter/testing/vitest-setup`, the
 * token in `$SIGIL_SOFTHSM_ROOT/worker-<id>` (made by the first file of the worker, found
 * again by the next ones, deleted by the globalSetup at the end of the run; its `remove()`
 * only restores SOFTHSM2_CONF). Without it, a token of this process alone, which `remove()`
 * deletes. Called again in the same process, it returns the same token.
 *
 * @throws {SigilError} `E_HSM_UNAVAILABLE` (`detail: 'module-not-found'` or
 *   `'softhsm2-util-not-found'`) as {@link createSoftHsmTestToken}.
 * @example
 * ```ts
 * beforeAll(async () => { keys = await Pkcs11KeyBackend.open((await workerSoftHsmToken()).location) });
 * ```
 */
export function workerSoftHsmToken(): Promise<SoftHsmTestToken> {
  current ??= openWorkerToken().catch((e: unknown) => {
    current = undefined;
    throw e;
  });
  return current;
}

async function openWorkerToken(): Promise<SoftHsmTestToken> {
  const before = process.env['SOFTHSM2_CONF'];
  const root = process.env[SOFTHSM_ROOT_ENV];
  if (root === undefined || root === '') return createSoftHsmTestToken({ label: WORKER_TOKEN_LABEL });
  const dir = join(root, `worker-${testWorkerId()}`);
  const saved = join(dir, 'token.json');
  let token: SoftHsmTestToken;
  try {
    // The PINs of a throwaway token, kept beside it (mode 0600) for the worker's next files.
    const s = JSON.parse(await readFile(saved, 'utf8')) as SavedToken;
    token = reopened(dir, s, before);
  } catch (e) {
    if ((e as { code?: unknown }).code !== 'ENOENT') throw e;
    await mkdir(dir, { recursive: true });
    token = await createSoftHsmTestToken({ label: WORKER_TOKEN_LABEL, dir });
    const s: SavedToken = { module: token.module, label: token.label, pin: token.pin, soPin: token.soPin };
    await writeFile(saved, JSON.stringify(s), { mode: 0o600 });
  }
  return { ...token, remove: restoreOnly(token.conf, before) };
}

/** A worker token made by an earlier file of this worker. */
function reopened(dir: string, s: SavedToken, before: string | undefined): SoftHsmTestToken {
  const conf = join(dir, 'softhsm2.conf');
  const env = { SOFTHSM2_CONF: conf };
  process.env['SOFTHSM2_CONF'] = conf;
  return {
    ...s,
    location: { module: s.module, token: s.label, pin: s.pin },
    dir,
    conf,
    env,
    addToken: () => Promise.reject(new Error('a worker token is shared by the files of its worker: use createSoftHsmTestToken for more tokens')),
    remove: restoreOnly(conf, before),
  };
}

/** A `remove()` that leaves the files to the globalSetup and puts SOFTHSM2_CONF back as it was. */
function restoreOnly(conf: string, previous: string | undefined): () => Promise<void> {
  return async () => {
    if (process.env['SOFTHSM2_CONF'] !== conf) return;
    if (previous === undefined) delete process.env['SOFTHSM2_CONF'];
    else process.env['SOFTHSM2_CONF'] = previous;
  };
}
