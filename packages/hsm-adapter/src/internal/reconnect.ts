// Telling "the token went away" from "the key is not there", and getting a vanished token back.
//
// Why this is needed, measured on SoftHSM 2.6.1 with its token directory moved away under an
// open, logged-in session: C_GetSessionInfo still succeeds, a cached key handle fails with
// CKR_OBJECT_HANDLE_INVALID (which alone reads as "key deleted"), C_FindObjects finds nothing
// (which reads as "no such key"), and C_GetTokenInfo on the slot fails with
// CKR_GENERAL_ERROR. Once the directory is back, all of that stays so: SoftHSM reads its
// token directory at C_Initialize only, so the token reappears only after C_Finalize and
// C_Initialize. Hence two rules: a failure or an empty answer is checked against the token's
// presence before it is reported (`assertTokenPresent`), and a reconnect that cannot find the
// token it had re-initialises the module once (`reinitializeModule`).
import pkcs11js from 'pkcs11js';
import type { PKCS11 } from 'pkcs11js';
import { SigilError } from '@sigil/sdk/errors';
import { ckrOf, meaningOf } from './ckr.js';
import { initializeModule, type LoadedModule } from './module-registry.js';

/**
 * How long a re-initialisation waits for the calls in flight on the module (all backends) to
 * finish before giving up with `E_HSM_UNAVAILABLE`. It is a wait on those calls' own ends,
 * not a poll: a call on a token that hangs is the only way to reach it.
 */
export const REINITIALIZE_WAIT_MS = 5_000;

/**
 * The error for a token that is gone, as a pkcs11js error with CKR_TOKEN_NOT_PRESENT: the one
 * table in ckr.ts reads it as E_HSM_UNAVAILABLE with a reconnect, exactly as it reads the same
 * value from a token that says so itself (a removable token does; SoftHSM does not).
 */
export function tokenNotPresent(cause: unknown): Error {
  const code = pkcs11js.CKR_TOKEN_NOT_PRESENT;
  return Object.assign(new Error(`CKR_TOKEN_NOT_PRESENT:${code}`, { cause }), { name: 'Pkcs11Error', code });
}

/**
 * Throws {@link tokenNotPresent} unless the slot still holds the token with this label
 * (C_GetTokenInfo, PKCS#11 2.40 §5.5). A failure that the table already reads as a reconnect
 * (CKR_DEVICE_REMOVED, CKR_CRYPTOKI_NOT_INITIALIZED…) is thrown as it is.
 */
export function assertTokenPresent(lib: PKCS11, slot: Buffer, label: string): void {
  let present: boolean;
  let cause: unknown;
  try {
    present = lib.C_GetTokenInfo(slot).label.trim() === label;
  } catch (e) {
    const ckr = ckrOf(e);
    if (ckr === undefined || meaningOf(ckr).reconnect === true) throw e;
    present = false;
    cause = e;
  }
  if (!present) throw tokenNotPresent(cause);
}

/**
 * The slot holding the token with this label, or undefined. A slot whose token cannot be read
 * (SoftHSM's answer for a token whose directory is gone) is not that token. Slots are found
 * by label: SoftHSM gives a token a new random slot id when it is initialised, and slot order
 * is not stable on any module.
 */
export function findSlot(lib: PKCS11, label: string): Buffer | undefined {
  for (const slot of lib.C_GetSlotList(true)) {
    let tokenLabel: string;
    try {
      tokenLabel = lib.C_GetTokenInfo(slot).label.trim();
    } catch (e) {
      const ckr = ckrOf(e);
      if (ckr === undefined || meaningOf(ckr).reconnect === true) throw e;
      continue;
    }
    if (tokenLabel === label) return slot;
  }
  return undefined;
}

/**
 * C_Finalize then C_Initialize (PKCS#11 2.40 §5.4), so that the module looks for its tokens
 * again. Waits first until no session of the module is leased out by any backend in this
 * process (at most {@link REINITIALIZE_WAIT_MS}): finalizing under a call running on another
 * thread is undefined behaviour. Every other user of the module then finds its sessions
 * invalid and reconnects once, as after any C_Finalize.
 *
 * @throws {SigilError} `E_HSM_UNAVAILABLE` (`detail: 'module-busy'`) if calls are still in
 *   flight after the wait; whatever `initializeModule` throws.
 */
export function reinitializeModule(m: LoadedModule, waitMs = REINITIALIZE_WAIT_MS): Promise<void> {
  // Backends on the same module that lost their token together re-initialise it once.
  let running = reinitializing.get(m);
  if (running === undefined) {
    running = finalizeWhenIdle(m, Date.now() + waitMs).finally(() => reinitializing.delete(m));
    reinitializing.set(m, running);
  }
  return running;
}

const reinitializing = new WeakMap<LoadedModule, Promise<void>>();

async function finalizeWhenIdle(m: LoadedModule, deadline: number): Promise<void> {
  // A loop because a call may start between the wake-up and this continuation; each turn
  // waits for an event (the module going idle, or the deadline), never spins.
  while (m.busy > 0) {
    if (!(await idleBefore(m, deadline))) {
      throw new SigilError('E_HSM_UNAVAILABLE', `The token is not available, and PKCS#11 module ${m.path} could not be re-initialised to look for it: calls were still running on it after ${REINITIALIZE_WAIT_MS} ms.`, {
        detail: 'module-busy',
      });
    }
  }
  try {
    m.lib.C_Finalize();
  } catch {
    // CKR_CRYPTOKI_NOT_INITIALIZED: finalized already, which is what was wanted.
  }
  initializeModule(m);
}

/** Resolves true when `m.busy` falls to 0, false at the deadline. */
function idleBefore(m: LoadedModule, deadline: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const wake = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      const i = m.idle.indexOf(wake);
      if (i >= 0) m.idle.splice(i, 1);
      resolve(false);
    }, Math.max(0, deadline - Date.now()));
    m.idle.push(wake);
  });
}
