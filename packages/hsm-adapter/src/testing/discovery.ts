// Where SoftHSM's PKCS#11 module is on the machines users' CI runs on. The search is a pure
// function over a list of candidates and an `exists` check, so its order is tested without
// SoftHSM installed (test/testing-discovery.test.ts).
import { existsSync } from 'node:fs';
import { SigilError } from '@sigil/sdk/errors';

/** One place a distribution's package puts `libsofthsm2.so`. */
export interface SoftHsmModuleCandidate {
  readonly path: string;
  /** The distribution or package manager that installs it there, for the error message. */
  readonly from: string;
}

/**
 * Known paths of SoftHSM 2's module, in the order they are tried. Multiarch paths come before
 * the plain ones, because Debian and Ubuntu ship the module at the multiarch path and keep
 * `/usr/lib/softhsm/libsofthsm2.so` as a compatibility link that some releases drop.
 */
export const SOFTHSM_MODULE_CANDIDATES: readonly SoftHsmModuleCandidate[] = [
  { path: '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so', from: 'Debian, Ubuntu (amd64)' },
  { path: '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so', from: 'Debian, Ubuntu (arm64)' },
  { path: '/usr/lib/softhsm/libsofthsm2.so', from: 'Debian, Ubuntu, Alpine' },
  { path: '/usr/lib64/pkcs11/libsofthsm2.so', from: 'Fedora, RHEL' },
  { path: '/usr/lib64/softhsm/libsofthsm2.so', from: 'Fedora, RHEL, openSUSE' },
  { path: '/opt/homebrew/lib/softhsm/libsofthsm2.so', from: 'Homebrew (Apple silicon)' },
  { path: '/usr/local/lib/softhsm/libsofthsm2.so', from: 'Homebrew (Intel), source builds' },
];

/**
 * Environment variables that name the module, in order of precedence. `SOFTHSM2_MODULE` is the
 * kit's own; `SIGIL_PKCS11_MODULE` is what the sigil CLI and the test token have always read.
 */
export const SOFTHSM_MODULE_ENV = ['SOFTHSM2_MODULE', 'SIGIL_PKCS11_MODULE'] as const;

/** How to install SoftHSM, per platform: said when no module is found. */
const INSTALL_HINT =
  'Install SoftHSM 2: apt-get install softhsm2 (Debian, Ubuntu), dnf install softhsm (Fedora), ' +
  'apk add softhsm (Alpine), brew install softhsm (macOS); or set SOFTHSM2_MODULE to the path of libsofthsm2.so.';

export interface FindSoftHsmModuleOptions {
  /** The environment to read the override from (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
  /** Whether a file exists (default `fs.existsSync`). */
  readonly exists?: ((path: string) => boolean) | undefined;
  /** The places to look, in order (default {@link SOFTHSM_MODULE_CANDIDATES}). */
  readonly candidates?: readonly SoftHsmModuleCandidate[] | undefined;
}

/**
 * `findSoftHsmModule({ env?, exists?, candidates? }) → string`
 *
 * The path of SoftHSM's PKCS#11 module: the first of `SOFTHSM2_MODULE`, `SIGIL_PKCS11_MODULE`
 * that is set and non-empty, else the first candidate that exists. A path named by the
 * environment is never passed over for a candidate: if it does not exist, that is the error.
 *
 * @throws {SigilError} `E_HSM_UNAVAILABLE` with `detail: 'module-not-found'`: the message names
 *   every path tried and how to install SoftHSM on each platform.
 * @example
 * ```ts
 * const module = findSoftHsmModule(); // '/usr/lib/softhsm/libsofthsm2.so' on Debian
 * ```
 */
export function findSoftHsmModule(options: FindSoftHsmModuleOptions = {}): string {
  const env = options.env ?? process.env;
  const exists = options.exists ?? existsSync;
  for (const name of SOFTHSM_MODULE_ENV) {
    const named = env[name];
    if (named === undefined || named === '') continue;
    if (exists(named)) return named;
    throw new SigilError('E_HSM_UNAVAILABLE', `${name} names ${named}, which does not exist. ${INSTALL_HINT}`, {
      detail: 'module-not-found',
    });
  }
  const candidates = options.candidates ?? SOFTHSM_MODULE_CANDIDATES;
  for (const candidate of candidates) if (exists(candidate.path)) return candidate.path;
  const tried = candidates.map((c) => `${c.path} (${c.from})`).join(', ');
  throw new SigilError('E_HSM_UNAVAILABLE', `SoftHSM's PKCS#11 module was not found; tried ${tried}. ${INSTALL_HINT}`, {
    detail: 'module-not-found',
  });
}
