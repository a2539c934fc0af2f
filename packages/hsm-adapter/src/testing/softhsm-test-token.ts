// A throwaway SoftHSM token for tests, benchmarks and the walk-through. Not for production:
// it invents its own PINs and deletes the token when done. It lives in the package (rather
// than under test/) so that the plain-JS walk-through and benchmark can use the built code too.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Debian's path of the SoftHSM module; override with the environment variable SIGIL_PKCS11_MODULE. */
export const DEFAULT_SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

export interface SoftHsmTestTokenOptions {
  /** Token label (default `sigil-test`). */
  readonly label?: string | undefined;
  /** User PIN (default: random). */
  readonly pin?: string | undefined;
  /** Security officer PIN (default: random). */
  readonly soPin?: string | undefined;
  /** Module path (default: SIGIL_PKCS11_MODULE or {@link DEFAULT_SOFTHSM_MODULE}). */
  readonly module?: string | undefined;
}

export interface SoftHsmTestToken {
  readonly module: string;
  readonly label: string;
  readonly pin: string;
  readonly soPin: string;
  /** Where the token is, as `Pkcs11KeyBackend.open` (and the server's log-key options) take it. */
  readonly location: { readonly module: string; readonly token: string; readonly pin: string };
  /** The temporary directory that holds the config and the token files. */
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
 * Creates a SoftHSM token in a fresh temporary directory with its own configuration
 * (`directories.tokendir`), through `softhsm2-util --init-token --free`. Nothing global is
 * touched: not /etc/softhsm, not the system token directory.
 *
 * SoftHSM reads `SOFTHSM2_CONF` when the module is initialised, once per process, so this sets
 * `process.env.SOFTHSM2_CONF` for the current process (restored by `remove()`): create the token
 * before opening a backend on it, and use one token directory per process (`addToken` puts
 * more tokens in it).
 *
 * For tests and demos only.
 *
 * @throws {Error} if softhsm2-util is missing or fails (its stderr is in the message).
 */
export async function createSoftHsmTestToken(options: SoftHsmTestTokenOptions = {}): Promise<SoftHsmTestToken> {
  const module = options.module ?? process.env['SIGIL_PKCS11_MODULE'] ?? DEFAULT_SOFTHSM_MODULE;
  const label = options.label ?? 'sigil-test';
  const pin = options.pin ?? randomBytes(6).toString('hex');
  const soPin = options.soPin ?? randomBytes(6).toString('hex');
  const dir = await mkdtemp(join(tmpdir(), 'sigil-softhsm-'));
  const tokens = join(dir, 'tokens');
  const conf = join(dir, 'softhsm2.conf');
  await mkdir(tokens);
  await writeFile(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  const env = { SOFTHSM2_CONF: conf };
  const init = async (l: string, p: string, so: string): Promise<void> => {
    try {
      await run('softhsm2-util', ['--init-token', '--free', '--label', l, '--pin', p, '--so-pin', so], {
        env: { ...process.env, ...env },
      });
    } catch (e) {
      const stderr = (e as { stderr?: unknown }).stderr;
      throw new Error(`softhsm2-util --init-token failed (is softhsm2 installed?): ${String(stderr ?? e)}`, { cause: e });
    }
  };
  try {
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
    addToken: (o) => init(o.label, o.pin, o.soPin ?? randomBytes(6).toString('hex')),
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
