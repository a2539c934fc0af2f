// The worker-thread side of `execution: 'auto'` and `'workers'` (see worker-pool.ts for the main side).
//
// One worker holds one session on the token and runs the ECDSA sign and ECDH derive calls of
// each batch it is sent with the *sync* pkcs11js calls, one after the other, then answers the
// whole batch in one message. Why threads at all: SoftHSM does part of each call outside its
// locks, so two threads with a session each get more done than one (recipes/softhsm.md); why
// batches: a message between threads costs about as much as a call, so it is paid once per
// batch rather than once per call.
//
// Deliberately free of Sigil imports (only pkcs11js and node:worker_threads): the main thread
// checks keys, policy and usage before anything is sent here, and it alone turns failures into
// SigilErrors through the one CKR table (ckr.ts). What comes back for a failed call is a number:
// the CKR_* value, or FAILED_WITHOUT_CKR. Messages never cross.
//
// PKCS#11 state is per process (PKCS#11 2.40 §5.4, §5.6): C_Initialize here finds the module
// already initialized by the main thread and C_Login finds the user already logged in; both
// mean success. This file never calls C_Finalize (it would pull the token from under every
// other thread) and never unloads the library.
import { parentPort, workerData } from 'node:worker_threads';
import pkcs11js from 'pkcs11js';
import type { Mechanism } from 'pkcs11js';
import { DERIVED_SECRET_TEMPLATE } from './derived-secret.js';
import { decodeCalls, encodeResults, FAILED_WITHOUT_CKR, OP_SIGN, type WorkerBatch, type WorkerCall, type WorkerInit, type WorkerReply } from './worker-protocol.js';

const init = workerData as WorkerInit;
const port = parentPort;
if (port === null) throw new Error('token-worker.js runs as a worker thread only');
const reconnectCodes = new Set(init.reconnectCodes);

const live = new Int32Array(init.generation);

const lib = new pkcs11js.PKCS11();
lib.load(init.module);
// The main thread initialized the module before starting this worker, so this returns
// CKR_CRYPTOKI_ALREADY_INITIALIZED (success). It is not repeated on reopen: after a
// C_Finalize it is the main thread's reconnect that initializes the module again.
try {
  lib.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
} catch (e) {
  if (ckrOf(e) !== pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED) throw e;
}
let session: Buffer | undefined;
/** The generation the session was opened for (or the open attempted for), and how that failed. */
let openedFor = 0;
let failure: number | undefined;

function ckrOf(e: unknown): number {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'number') return code;
  // C_CreateObject & co. throw the addon's raw Error (see ckr.ts); its stack holds the code.
  const stack = (e as { stack?: unknown } | null)?.stack;
  const m = typeof stack === 'string' ? /CKR_[^:]+:(\d+)/.exec(stack) : null;
  return m?.[1] === undefined ? FAILED_WITHOUT_CKR : Number(m[1]);
}

/**
 * This worker's session for `generation`. Opened once per generation of the main thread's
 * connection, never again within one: if it is lost, the calls of that generation fail with
 * the CKR that lost it until the main thread has reconnected and sends a new generation.
 */
function sessionFor(generation: number): Buffer {
  if (openedFor !== generation) {
    drop();
    openedFor = generation;
    failure = undefined;
    try {
      session = open();
    } catch (e) {
      failure = ckrOf(e);
    }
  }
  if (failure !== undefined || session === undefined) {
    throw Object.assign(new Error('no session'), { code: failure ?? pkcs11js.CKR_SESSION_HANDLE_INVALID });
  }
  return session;
}

function open(): Buffer {
  const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trim() === init.token);
  if (slot === undefined) throw Object.assign(new Error('token not found'), { code: pkcs11js.CKR_TOKEN_NOT_PRESENT });
  const s = lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
  try {
    lib.C_Login(s, pkcs11js.CKU_USER, init.pin);
  } catch (e) {
    if (ckrOf(e) !== pkcs11js.CKR_USER_ALREADY_LOGGED_IN) {
      lib.C_CloseSession(s);
      throw e;
    }
  }
  return s;
}

function drop(): void {
  const s = session;
  session = undefined;
  if (s === undefined) return;
  try {
    lib.C_CloseSession(s);
  } catch {
    // already invalid: the module was finalized or the session closed under us
  }
}

function run(call: WorkerCall): Buffer {
  // The main thread has retired the connection this call's key handle came from: it retries.
  if (Atomics.load(live, 0) !== call.generation) throw Object.assign(new Error('stale'), { code: pkcs11js.CKR_SESSION_HANDLE_INVALID });
  const s = sessionFor(call.generation);
  const key = Buffer.from(call.key.buffer, call.key.byteOffset, call.key.byteLength);
  const input = Buffer.from(call.input.buffer, call.input.byteOffset, call.input.byteLength);
  if (call.op === OP_SIGN) {
    lib.C_SignInit(s, { mechanism: pkcs11js.CKM_ECDSA }, key);
    return lib.C_Sign(s, input, Buffer.alloc(64));
  }
  const mechanism = {
    mechanism: pkcs11js.CKM_ECDH1_DERIVE,
    parameter: { type: pkcs11js.CK_PARAMS_EC_DH, kdf: pkcs11js.CKD_NULL, publicData: input },
  } as Mechanism;
  const secret = lib.C_DeriveKey(s, mechanism, key, DERIVED_SECRET_TEMPLATE);
  try {
    const [attr] = lib.C_GetAttributeValue(s, secret, [{ type: pkcs11js.CKA_VALUE }]);
    return attr?.value ?? Buffer.alloc(0);
  } finally {
    lib.C_DestroyObject(s, secret);
  }
}

port.on('message', (message: WorkerBatch | 'close') => {
  if (message === 'close') {
    drop();
    port.close();
    return;
  }
  const results: (Uint8Array | number)[] = [];
  for (const call of decodeCalls(message.calls)) {
    try {
      results.push(run(call));
    } catch (e) {
      const ckr = ckrOf(e);
      if (reconnectCodes.has(ckr) && failure === undefined) {
        drop();
        failure = ckr;
      }
      results.push(ckr);
    }
  }
  const reply: WorkerReply = { results: encodeResults(results) };
  port.postMessage(reply);
  // postMessage copied the outputs: no derived secret stays behind in this thread.
  reply.results.fill(0);
  for (const r of results) if (typeof r !== 'number') r.fill(0);
});

// Report whether the session could be opened; the main thread waits for this at open().
try {
  sessionFor(Atomics.load(live, 0));
  port.postMessage({ ready: 0 });
} catch (e) {
  port.postMessage({ ready: ckrOf(e) });
}
