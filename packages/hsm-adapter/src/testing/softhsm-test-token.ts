// A throwaway SoftHSM token for tests, benchmarks and the walk-through. Not for production:
// it invents its own PINs and deletes the token when done. It lives in the package (rather
// than under test/) so that users' CI, the plain-JS walk-through and the benchmark can use it.
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SigilError } from '@sigil/sdk/errors';
import { findSoftHsmModule } from './discovery.js';

const run = promisify(execFile);

/**
 * Debian's compatibility path of the SoftHSM module.
 * @deprecated Use {@link findSoftHsmModule}, which also knows Fedora, Alpine and Homebrew.
 */
export const DEFAULT_SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

export interface SoftHsmTestTokenOptions {
  /** Token label (default `sigil-test`). */
  readonly label?: string | undefined;
  /** User PIN (default: random, see {@link randomPin}). */
  readonly pin?: string | undefined;
  /** Security officer PIN (default: random). */
  readonly soPin?: string | undefined;
  /** Module path (default: {@link findSoftHsmModule}, which reads SOFTHSM2_MODULE first). */
  readonly module?: string | undefined;
  /** The directory to make the token in (default: a fresh temporary one). It must be empty. */
  readonly dir?: string | undefined;
}

export interface SoftHsmTestToken {
  readonly module: string;
  readonly label: string;
  readonly pin: string;
  readonly soPin: string;
  /** Where the token is, as `Pkcs11KeyBackend.open` (and the server's log-key options) take it. */
  readonly location: { readonly module: string; readonly token: string; readonly pin: string };
  /** The directory that holds the config and the token files. */
  readonly dir: string;
  /** The SOFTHSM2_CONF file of this token; pass `env` to child processes that must see it. */
  readonly conf: string;
  readonly env: { readonly SOFTHSM2_CONF: string };
  /** Initialises one more token, with its own label and PINs, in the same directory. */
  addToken(options: { readonly label: string; readonly pin: string; readonly soPin?: string | undefined }): Promise<void>;
  /** Restores SOFTHSM2_CONF and deletes the directory. Idempotent. */
  remove(): Promise<void>;
}

/**
 * `randomPin() → string`: 16 hex digits (64 bits) from `crypto.getRandomValues`, so that no
 * test PIN is ever a constant a real token could end up with.
 */
export function randomPin(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Creates a SoftHSM token in a fresh temporary directory (or `options.dir`) with its own
 * configuration (`directories.tokendir`), through `softhsm2-util --init-token --free`. Nothing
 * global is touched: not /etc/softhsm, not the system token directory.
 *
 * SoftHSM reads `SOFTHSM2_CONF` when the module is initialised, once per process, so this sets
 * `process.env.SOFTHSM2_CONF` for the current process (restored by `remove()`): create the token
 * before opening a backend on it, and use one token directory per process (`addToken` puts
 * more tokens in it).
 *
 * For tests and demos only.
 *
 * @throws {SigilError} `E_HSM_UNAVAILABLE` (`detail: 'module-not-found'`) when no SoftHSM module
 *   is found (the message lists the paths tried), or (`detail: 'softhsm2-util-not-found'`) when
 *   `softhsm2-util` is not on PATH.
 * @throws {Error} if softhsm2-util fails (its stderr is in the message).
 * @example
 * ```ts
 * const token = await createSoftHsmTestToken({ label: 'ci' });
 * const keys = await Pkcs11KeyBackend.open(token.location);
 * // ...
 * await keys.close();
 * await token.remove();
 * ```
 */
export async function createSoftHsmTestToken(options: SoftHsmTestTokenOptions = {}): Promise<SoftHsmTestToken> {
  const module = options.module ?? findSoftHsmModule();
  const label = options.label ?? 'sigil-test';
  const pin = options.pin ?? randomPin();
  const soPin = options.soPin ?? randomPin();
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'sigil-softhsm-')));
  const tokens = join(dir, 'tokens');
  const conf = join(dir, 'softhsm2.conf');
  const env = { SOFTHSM2_CONF: conf };
  const init = (l: string, p: string, so: string) => initToken(env, l, p, so);
  try {
    await mkdir(tokens, { recursive: true });
    await writeFile(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
    await init(label, pin, soPin);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  const previous = process.env['SOFTHSM2_CONF'];
  process.env['SOFTHSM2_CONF'] = conf;
  let removed = false;
  return {
    module,
    label,
    pin,
    soPin,
    location: { module, token: label, pin },
    dir,
    conf,
    env,
    addToken: (o) => init(o.label, o.pin, o.soPin ?? randomPin()),
    async remove() {
      if (removed) return;
      removed = true;
      if (process.env['SOFTHSM2_CONF'] === conf) {
        if (previous === undefined) delete process.env['SOFTHSM2_CONF'];
        else process.env['SOFTHSM2_CONF'] = previous;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function initToken(env: { readonly SOFTHSM2_CONF: string }, label: string, pin: string, soPin: string): Promise<void> {
  try {
    await run('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', soPin], {
      env: { ...process.env, ...env },
    });
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ENOENT') {
      throw new SigilError('E_HSM_UNAVAILABLE', 'softhsm2-util is not on PATH: install SoftHSM 2 (apt-get install softhsm2, dnf install softhsm, apk add softhsm, brew install softhsm).', {
        cause: e,
        detail: 'softhsm2-util-not-found',
      });
    }
    const stderr = (e as { stderr?: unknown }).stderr;
    throw new Error(`softhsm2-util --init-token failed: ${String(stderr ?? e)}`, { cause: e });
  }
}
