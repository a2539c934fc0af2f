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

/** A batch of calls: `encodeCalls` of them. */
export interface WorkerBatch {
  readonly calls: Uint8Array;
}

/** Per call, in order, the output bytes or the CKR_* value it failed with: `encodeResults`. */
export interface WorkerReply {
  readonly results: Uint8Array;
}

/** The first message of a worker: 0 once its session is open, else the CKR_* value of the failure. */
export interface WorkerReady {
  readonly ready: number;
}

// A batch travels as one byte array each way: cloning one Uint8Array costs a fraction of
// cloning an array of objects holding Buffers, and the clone is paid per batch on both sides.
//
// Request, per call: op (1) | key length (1) | input length (1) | 0 (1) | generation (u32 LE)
//   | key | input.
// Reply, per call: ok (1: 1 = output follows, 0 = failed) | output length (1) | 0 (2)
//   | CKR_* value (u32 LE; FAILED_WITHOUT_CKR as 0xffffffff) | output.
const CALL_HEADER = 8;

export function encodeCalls(calls: readonly WorkerCall[]): Uint8Array {
  let size = 0;
  for (const c of calls) size += CALL_HEADER + c.key.length + c.input.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const c of calls) {
    out[at] = c.op;
    out[at + 1] = c.key.length;
    out[at + 2] = c.input.length;
    view.setUint32(at + 4, c.generation, true);
    out.set(c.key, at + CALL_HEADER);
    out.set(c.input, at + CALL_HEADER + c.key.length);
    at += CALL_HEADER + c.key.length + c.input.length;
  }
  return out;
}

export function decodeCalls(bytes: Uint8Array): WorkerCall[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const calls: WorkerCall[] = [];
  for (let at = 0; at < bytes.length; ) {
    const keyLength = bytes[at + 1]!;
    const inputLength = bytes[at + 2]!;
    const key = bytes.subarray(at + CALL_HEADER, at + CALL_HEADER + keyLength);
    const input = bytes.subarray(at + CALL_HEADER + keyLength, at + CALL_HEADER + keyLength + inputLength);
    calls.push({ op: bytes[at] === OP_SIGN ? OP_SIGN : OP_DERIVE, generation: view.getUint32(at + 4, true), key, input });
    at += CALL_HEADER + keyLength + inputLength;
  }
  return calls;
}

export function encodeResults(results: readonly (Uint8Array | number)[]): Uint8Array {
  let size = 0;
  for (const r of results) size += CALL_HEADER + (typeof r === 'number' ? 0 : r.length);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const r of results) {
    if (typeof r === 'number') {
      view.setUint32(at + 4, r >>> 0, true);
      at += CALL_HEADER;
    } else {
      out[at] = 1;
      out[at + 1] = r.length;
      out.set(r, at + CALL_HEADER);
      at += CALL_HEADER + r.length;
    }
  }
  return out;
}

/** Per call: a copy of its output, or its CKR_* value. The caller zeroes `bytes` afterwards. */
export function decodeResults(bytes: Uint8Array): (Uint8Array | number)[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const results: (Uint8Array | number)[] = [];
  for (let at = 0; at < bytes.length; ) {
    if (bytes[at] === 1) {
      const length = bytes[at + 1]!;
      results.push(bytes.slice(at + CALL_HEADER, at + CALL_HEADER + length));
      at += CALL_HEADER + length;
    } else {
      const ckr = view.getUint32(at + 4, true);
      results.push(ckr === 0xffffffff ? FAILED_WITHOUT_CKR : ckr);
      at += CALL_HEADER;
    }
  }
  return results;
}
