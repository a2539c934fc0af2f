// One loaded PKCS#11 module per library path per process. A Cryptoki library is process-wide
// state (PKCS#11 2.40 §5.4: C_Initialize/C_Finalize act on the whole application), so every
// backend on the same module shares one instance and the last one to close finalizes it:
// finalizing while another user still has sessions would pull the token from under it.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import pkcs11js from 'pkcs11js';
import type { PKCS11 } from 'pkcs11js';
import { SigilError } from '@sigil/sdk/errors';
import { ckrOf, toSigilError } from './ckr.js';

export interface LoadedModule {
  readonly path: string;
  readonly lib: PKCS11;
  refs: number;
  /**
   * Keyed digests of the PINs that logged in to each token (by label) in this process. A
   * second C_Login on a token that is already logged in returns CKR_USER_ALREADY_LOGGED_IN
   * whatever PIN it is given (PKCS#11 login state is per application, §5.6): without this,
   * a second backend with a wrong PIN would be let in by the first one's login.
   */
  readonly pins: Map<string, Buffer>;
  /**
   * Sessions leased out by every backend on this module right now (some of them in a call on
   * a worker or libuv thread). A re-initialisation waits for none: C_Finalize while another
   * thread is inside the library is undefined behaviour (PKCS#11 2.40 §5.4).
   */
  busy: number;
  /** Called, and cleared, when `busy` falls to 0 (see reconnect.ts). */
  readonly idle: (() => void)[];
}

const modules = new Map<string, LoadedModule>();
// A per-process key, so the PIN digests above are useless outside this process.
const PIN_KEY = randomBytes(32);

function pinDigest(pin: string): Buffer {
  return createHmac('sha256', PIN_KEY).update(pin, 'utf8').digest();
}

/** Loads (once) and initializes the module at `path`, and counts one more user of it. */
export function acquireModule(path: string): LoadedModule {
  let m = modules.get(path);
  if (m === undefined) {
    if (!existsSync(path)) {
      throw new SigilError('E_HSM_UNAVAILABLE', `PKCS#11 module not found: ${path}. Install it or set the module path.`, {
        detail: 'module-not-found',
      });
    }
    const lib = new pkcs11js.PKCS11();
    try {
      lib.load(path);
    } catch (cause) {
      throw new SigilError('E_HSM_UNAVAILABLE', `PKCS#11 module could not be loaded: ${path}.`, { cause, detail: 'module-load' });
    }
    m = { path, lib, refs: 0, pins: new Map(), busy: 0, idle: [] };
    modules.set(path, m);
  }
  initializeModule(m);
  m.refs++;
  return m;
}

/**
 * C_Initialize with CKF_OS_LOCKING_OK: without it SoftHSM turns its locking off, and the
 * session pool, the *Async calls and worker threads all need it (recipes/softhsm.md).
 * CKR_CRYPTOKI_ALREADY_INITIALIZED means another user of the module in this process got
 * there first: success. Called again on reconnect, after someone finalized the module.
 */
export function initializeModule(m: LoadedModule): void {
  try {
    m.lib.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
    m.pins.clear(); // a fresh initialisation has no login state
  } catch (e) {
    if (ckrOf(e) !== pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED) throw toSigilError(e, 'initializing the module');
  }
}

/** One more session of this module leased out (see `LoadedModule.busy`). */
export function leaseTaken(m: LoadedModule): void {
  m.busy++;
}

/** One leased session given back; wakes whoever waits for the module to be idle. */
export function leaseReturned(m: LoadedModule): void {
  m.busy--;
  if (m.busy === 0) for (const wake of m.idle.splice(0)) wake();
}

/** Logs in as the user; see `LoadedModule.pins` for why an existing login is checked. */
export function login(m: LoadedModule, session: Buffer, tokenLabel: string, pin: string): void {
  const digest = pinDigest(pin);
  try {
    m.lib.C_Login(session, pkcs11js.CKU_USER, pin);
    m.pins.set(tokenLabel, digest);
  } catch (e) {
    if (ckrOf(e) !== pkcs11js.CKR_USER_ALREADY_LOGGED_IN) throw toSigilError(e, `logging in to token "${tokenLabel}"`);
    const known = m.pins.get(tokenLabel);
    // Logged in by code outside Sigil in this process: its PIN cannot be compared. Accept, as
    // the token itself does.
    if (known !== undefined && !timingSafeEqual(known, digest)) {
      throw new SigilError('E_HSM_PIN', `The token rejected the PIN: check the PIN configured for token "${tokenLabel}".`, {
        detail: 'CKR_PIN_INCORRECT',
      });
    }
  }
}

/** One user fewer; the last one finalizes and unloads the module. Never throws. */
export function releaseModule(m: LoadedModule): void {
  m.refs--;
  if (m.refs > 0) return;
  modules.delete(m.path);
  try {
    m.lib.C_Finalize();
  } catch {
    // CKR_CRYPTOKI_NOT_INITIALIZED: someone finalized it already; nothing left to release.
  }
  try {
    m.lib.close();
  } catch {
    // Unloading is best effort; the library stays mapped until the process exits.
  }
}
