// One connection to the token: its slot (found by label), the pool's sessions, one login, the
// mechanism list, and the key indexes whose object handles are valid only while it lives.
// A connection is never repaired: when the token, a session or the module goes away it is
// retired and the session pool opens a new one (session-pool.ts).
import pkcs11js from 'pkcs11js';
import { SigilError } from '@sigil/sdk/errors';
import { toSigilError } from './ckr.js';
import { KeyIndex } from './key-index.js';
import { initializeModule, login, type LoadedModule } from './module-registry.js';
import { assertTokenPresent, findSlot, reinitializeModule } from './reconnect.js';
import { WrappingKeyIndex } from './wrapping.js';

// CK_SLOT_INFO flag (PKCS#11 2.40 §3.2); pkcs11js exports no name for it.
const CKF_HW_SLOT = 0x4;

export interface Connection {
  readonly slot: Buffer;
  readonly sessions: readonly Buffer[];
  /** Sessions not leased out right now. */
  readonly free: Buffer[];
  /** Tells token workers which key handles are current (see worker-protocol.ts). */
  readonly generation: number;
  readonly mechanisms: Set<number>;
  readonly hardware: boolean;
  readonly keys: KeyIndex;
  readonly wrappingKeys: WrappingKeyIndex;
  /**
   * Throws a CKR_TOKEN_NOT_PRESENT error (a reconnect, in ckr.ts's table) unless the slot still
   * holds the token: asked before a failure or an empty answer is reported (reconnect.ts).
   */
  readonly assertPresent: () => void;
  live: boolean;
}

/** Which token to open, and how. */
export interface TokenTarget {
  readonly token: string;
  readonly pin: string;
  /** Sessions in the pool. */
  readonly sessions: number;
}

/**
 * Initializes the module if it needs it (after someone finalized it), finds the token by
 * label, refuses a locked user PIN before trying it, opens the sessions and logs in once
 * (login state is per application, PKCS#11 2.40 §5.6: one C_Login covers every session).
 *
 * `reconnecting`: this backend had the token before. If the token is not found now, the module
 * is re-initialised once and asked again (SoftHSM reads its token directory at C_Initialize
 * only; reconnect.ts), and a module that cannot be initialised means the token is unavailable.
 *
 * @throws {SigilError} `E_HSM_UNAVAILABLE` (`detail: 'token-not-found'`, or `'module-busy'`
 *   from the re-initialisation); `E_HSM_PIN_LOCKED`; what `login` and `toSigilError` make of
 *   any other failure.
 */
export async function openConnection(m: LoadedModule, target: TokenTarget, generation: number, reconnecting: boolean): Promise<Connection> {
  const lib = m.lib;
  let slot: Buffer | undefined;
  try {
    initializeModule(m);
    slot = findToken(m, target.token);
    if (slot === undefined && reconnecting) {
      await reinitializeModule(m);
      slot = findToken(m, target.token);
    }
  } catch (e) {
    if (!reconnecting || !SigilError.is(e, 'E_HSM')) throw e;
    // The module that served this token cannot start again (SoftHSM, for one, fails
    // C_Initialize while its token directory is missing): the token is unavailable.
    throw new SigilError('E_HSM_UNAVAILABLE', `Token "${target.token}" is not available: PKCS#11 module ${m.path} could not be initialised again.`, {
      cause: e,
      detail: e.detail ?? 'module-init',
    });
  }
  if (slot === undefined) {
    throw new SigilError('E_HSM_UNAVAILABLE', `No token labelled "${target.token}" in PKCS#11 module ${m.path}.`, {
      detail: 'token-not-found',
    });
  }
  let info;
  try {
    info = lib.C_GetTokenInfo(slot);
  } catch (e) {
    throw toSigilError(e, `reading token "${target.token}"`);
  }
  if ((info.flags & pkcs11js.CKF_USER_PIN_LOCKED) !== 0) {
    throw new SigilError('E_HSM_PIN_LOCKED', `The user PIN of token "${target.token}" is locked: the security officer must reset it.`, {
      detail: 'CKF_USER_PIN_LOCKED',
    });
  }
  const found = slot;
  const assertPresent = (): void => assertTokenPresent(lib, found, target.token);
  const sessions: Buffer[] = [];
  try {
    for (let i = 0; i < target.sessions; i++) {
      sessions.push(lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION));
    }
    login(m, sessions[0]!, target.token, target.pin);
    return {
      slot,
      generation,
      sessions,
      free: [...sessions],
      mechanisms: new Set(lib.C_GetMechanismList(slot)),
      hardware: (lib.C_GetSlotInfo(slot).flags & CKF_HW_SLOT) !== 0,
      keys: new KeyIndex(lib, assertPresent),
      wrappingKeys: new WrappingKeyIndex(lib, assertPresent),
      assertPresent,
      live: true,
    };
  } catch (e) {
    for (const s of sessions) {
      try {
        lib.C_CloseSession(s);
      } catch {
        // gone with the module
      }
    }
    throw toSigilError(e, `opening sessions on token "${target.token}"`);
  }
}

function findToken(m: LoadedModule, label: string): Buffer | undefined {
  try {
    return findSlot(m.lib, label);
  } catch (e) {
    throw toSigilError(e, 'listing the slots');
  }
}

/**
 * Checks the token's mechanism list (read at connect). On a miss, asks the token again
 * through this session: the list may be stale because the module was re-initialized under
 * us, and then the session call fails with a CKR that makes the pool reconnect.
 *
 * @throws {SigilError} `E_HSM_MECHANISM` with the mechanism's name in `detail`.
 */
export function requireMechanism(m: LoadedModule, conn: Connection, session: Buffer, token: string, mechanism: number, name: string): void {
  if (conn.mechanisms.has(mechanism)) return;
  m.lib.C_GetSessionInfo(session);
  const now = m.lib.C_GetMechanismList(conn.slot);
  if (now.includes(mechanism)) {
    conn.mechanisms.add(mechanism);
    return;
  }
  throw new SigilError('E_HSM_MECHANISM', `Token "${token}" does not support ${name}, which Sigil needs.`, {
    detail: name,
  });
}
