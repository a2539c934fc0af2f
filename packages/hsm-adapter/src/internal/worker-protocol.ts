// The messages between the main thread (worker-pool.ts) and a token worker (token-worker.ts).
// Plain data only: structured clone carries them, and errors cross as CKR_* numbers.

export const OP_SIGN = 0;
export const OP_DERIVE = 1;

/** What a failed call reports when the failure carried no CKR_* value (mapped to E_HSM). */
export const FAILED_WITHOUT_CKR = -1;

/** `workerData` of a token worker. */
export interface WorkerInit {
  readonly module: string;
  readonly token: string;
  readonly pin: string;
  /** CKR_* values after which the worker drops its session and opens a new one on the next call (from ckr.ts's table). */
  readonly reconnectCodes: readonly number[];
  /**
   * One Int32: the generation of the main thread's live connection, 0 while it has none. A
   * worker runs a call only while the call's generation is the live one, and opens a session
   * only for a live generation: object handles do not outlive a C_Finalize, and after a new
   * C_Initialize an old handle number may name another object.
   */
  readonly generation: SharedArrayBuffer;
}

/**
 * One call: CKM_ECDSA over a 32-byte digest (`OP_SIGN`), or CKM_ECDH1_DERIVE with a peer point
 * whose derived value is read and destroyed (`OP_DERIVE`). `key` is the private key's object
 * handle as the main thread found it: PKCS#11 gives an object the same handle in every session
 * of an application, so it is valid in the worker's session too.
 */
export interface WorkerCall {
  readonly op: typeof OP_SIGN | typeof OP_DERIVE;
  /** The generation of the connection the key was looked up on (see `WorkerInit.generation`). */
  readonly generation: number;
  readonly key: Uint8Array;
  readonly input: Uint8Array;
}

export interface WorkerBatch {
  readonly id: number;
  readonly calls: readonly WorkerCall[];
}

/** Per call, in order: the output bytes, or the CKR_* value it failed with. */
export interface WorkerReply {
  readonly id: number;
  readonly results: readonly (Uint8Array | number)[];
}

/** The first message of a worker: 0 once its session is open, else the CKR_* value of the failure. */
export interface WorkerReady {
  readonly ready: number;
}
