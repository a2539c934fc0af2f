// The main-thread side of `execution: 'workers'`: token workers (token-worker.ts), each with a
// session of its own, and a batching dispatcher in front of them.
//
// Why batching: an ECDSA sign costs ~40 µs on SoftHSM and a postMessage round trip costs
// about as much, so one message per call loses what the second thread gains (measured:
// 23.7k/s against 33.9k/s sync). So calls made in the same turn of the event loop are taken
// together and split between this thread and the idle workers: one message per worker per
// batch, one reply per batch. A call that is alone (nothing else pending, no batch out) gains
// nothing from a thread and runs at once here, with the caller's own session.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import pkcs11js from 'pkcs11js';
import { meaningOf } from './ckr.js';
import { decodeResults, encodeCalls, FAILED_WITHOUT_CKR, OP_DERIVE, OP_SIGN, type WorkerBatch, type WorkerCall, type WorkerInit, type WorkerReady, type WorkerReply } from './worker-protocol.js';

/**
 * The failure of a call in a worker. With a CKR_* number it looks like a pkcs11js error
 * (`name` 'Pkcs11Error', numeric `code`), so `ckrOf` and the one table in ckr.ts read it
 * exactly as they read a failure on this thread; without one it is a plain Error (E_HSM).
 */
export function workerCallError(code: number): Error {
  if (code === FAILED_WITHOUT_CKR) return new Error('A token worker failed.');
  return Object.assign(new Error(`CKR 0x${code.toString(16)} in a token worker`), { name: 'Pkcs11Error', code });
}

/** The CKR_* values after which ckr.ts says to reconnect: a worker drops its session on them. */
export function reconnectCodes(): number[] {
  return Object.entries(pkcs11js as unknown as Record<string, unknown>)
    .filter((e): e is [string, number] => e[0].startsWith('CKR_') && typeof e[1] === 'number')
    .map(([, value]) => value)
    .filter((value) => meaningOf(value).reconnect === true);
}

/** Resolves on the worker's first message if it opened its session; rejects otherwise. */
function ready(worker: Worker): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = (): void => {
      worker.off('error', onError);
      worker.off('exit', onExit);
      worker.off('message', onMessage);
    };
    const onError = (e: unknown): void => {
      done();
      reject(e);
    };
    const onExit = (): void => onError(workerCallError(FAILED_WITHOUT_CKR));
    const onMessage = (m: WorkerReady): void => {
      done();
      if (m.ready === 0) resolve();
      else reject(workerCallError(m.ready));
    };
    worker.on('error', onError);
    worker.on('exit', onExit);
    worker.on('message', onMessage);
  });
}

/**
 * This thread's share of a batch relative to a worker's, per operation. Every call's checks
 * (key lookup, usage and policy, and for derive the peer-point check) run on this thread before
 * the call is shared out, so this thread has less time left for its own share. For sign they
 * are cheap: an even split. For derive they are not: this thread takes a third of a worker's
 * share (1 of 4 calls with one worker). Measured (4 callers, 1 worker, against one sync caller,
 * on a quiet machine, six runs alternating with four of the even split): derive 1.20x against
 * 1.16x; sign is unchanged (weight 1).
 */
const HERE_WEIGHT: Readonly<Record<WorkerCall['op'], number>> = { [OP_SIGN]: 1, [OP_DERIVE]: 1 / 3 };

interface Pending {
  readonly call: WorkerCall;
  readonly inline: () => Uint8Array;
  readonly resolve: (out: Uint8Array) => void;
  readonly reject: (e: unknown) => void;
}

interface Slot {
  readonly worker: Worker;
  /** The batch this worker is running, if any. */
  batch: Pending[] | undefined;
}

/**
 * How to start a token worker. Built (dist/internal/worker-pool.js, the package's normal use):
 * the compiled token-worker.js beside this file. Run from the TypeScript sources (vitest, tsx),
 * beside this file there is only token-worker.ts, which Node 20 cannot load as it is (and a
 * worker does not get vitest's transform, nor tsx's loader through `--import` in `execArgv`):
 * the worker then starts with a two-line bootstrap that loads it through tsx's `tsImport`. tsx
 * is a dev dependency of the repository, needed only in that mode, never by the built package.
 */
function workerEntry(): { readonly entry: URL | string; readonly eval: boolean } {
  const js = new URL('./token-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return { entry: js, eval: false };
  const ts = new URL('./token-worker.ts', import.meta.url).href;
  // The ESM build of tsx's API (its CommonJS build registers its hooks from a wrong path).
  const api = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  return { entry: `import(${JSON.stringify(api)}).then((tsx) => tsx.tsImport(${JSON.stringify(ts)}, ${JSON.stringify(ts)}));`, eval: true };
}

export class TokenWorkers {
  readonly #slots: Slot[];
  readonly #live: Int32Array;
  readonly #pending: Pending[] = [];
  #scheduled = false;
  #inFlight = 0;

  private constructor(slots: Slot[], live: Int32Array) {
    this.#slots = slots;
    this.#live = live;
    for (const slot of slots) {
      slot.worker.on('message', (reply: WorkerReply) => this.#settle(slot, reply));
      // A worker that dies takes its batch with it: those calls fail (E_HSM), the rest go on.
      slot.worker.on('error', () => undefined);
      slot.worker.on('exit', () => this.#lost(slot));
    }
  }

  /**
   * Starts `count` workers and waits until each has its session open.
   *
   * @throws what {@link workerCallError} makes of the CKR_* value a worker failed to open its session with.
   */
  static async start(options: Omit<WorkerInit, 'generation'>, generation: number, count: number): Promise<TokenWorkers> {
    const { entry, eval: isCode } = workerEntry();
    const shared = new SharedArrayBuffer(4);
    const live = new Int32Array(shared);
    Atomics.store(live, 0, generation);
    const init: WorkerInit = { ...options, generation: shared };
    const slots: Slot[] = [];
    try {
      for (let i = 0; i < count; i++) {
        const worker = new Worker(entry, { workerData: init, eval: isCode });
        slots.push({ worker, batch: undefined });
      }
      await Promise.all(slots.map(({ worker }) => ready(worker)));
    } catch (e) {
      await Promise.all(slots.map((s) => s.worker.terminate()));
      throw e;
    }
    // An idle pool does not keep the process alive; a worker with a batch out is ref'd.
    for (const { worker } of slots) worker.unref();
    return new TokenWorkers(slots, live);
  }

  /** Tells the workers which connection generation is live (0: none). See `WorkerInit.generation`. */
  set generation(value: number) {
    Atomics.store(this.#live, 0, value);
  }

  /**
   * Runs `call` in a worker, or `inline()` on this thread (a lone call, or this thread's
   * share of a batch). Rejects with a {@link workerCallError} (or whatever `inline` threw).
   */
  run(call: WorkerCall, inline: () => Uint8Array): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ call, inline, resolve, reject });
      if (this.#scheduled) return;
      this.#scheduled = true;
      // Nothing out: a microtask is enough to see who else calls in this turn (and is nearly
      // free for a lone caller). With batches out, wait for the end of the turn instead, so
      // replies (messages) are read and the callers they wake join the next batch.
      if (this.#inFlight === 0) queueMicrotask(() => this.#flush());
      else setImmediate(() => this.#flush());
    });
  }

  /** Asks each worker to close its session and waits for it to exit. Call with nothing in flight. */
  async close(): Promise<void> {
    await Promise.all(
      this.#slots.splice(0).map(
        ({ worker }) =>
          new Promise<void>((resolve) => {
            worker.once('exit', () => resolve());
            worker.ref(); // keeps the process alive until the worker has closed its session
            worker.postMessage('close');
          }),
      ),
    );
  }

  #flush(): void {
    this.#scheduled = false;
    const pending = this.#pending;
    if (pending.length === 0) return;
    // This thread and each worker take an equal share: idle workers get theirs first, so they
    // run while this thread runs its own; what is left beyond this thread's share (when some
    // workers are still out) waits for the next worker to come back (#settle flushes again).
    // A lone call is this thread's share. Why this thread works too: it is awake for the
    // callers anyway, and leaving it idle would mean three busy threads on two cores, or a
    // message for every call. Measured here (ECDSA sign, 4 callers, 1 worker, against one sync
    // caller, with the control at 1.83x): this policy 1.28x; every call to the workers 0.81x;
    // this thread waiting while every worker is out 0.90x.
    // Shares are weighted per operation (HERE_WEIGHT): with weight w and k workers, this thread
    // takes ceil(n·w / (k + w)) calls and each idle worker ceil(n / (k + w)); w = 1 is an even split,
    // and a batch of both operations takes the mean weight of its calls.
    let weight = 0;
    for (const p of pending) weight += HERE_WEIGHT[p.call.op];
    weight /= pending.length;
    const k = this.#slots.length;
    const here = Math.ceil((pending.length * weight) / (k + weight));
    const share = Math.ceil(pending.length / (k + weight));
    for (const slot of this.#slots) {
      if (pending.length <= here) break;
      if (slot.batch === undefined) {
        const count = Math.min(share, pending.length - 1);
        this.#send(slot, pending.splice(pending.length - count, count));
      }
    }
    for (const p of pending.splice(0, here)) {
      try {
        p.resolve(p.inline());
      } catch (e) {
        p.reject(e);
      }
    }
  }

  #send(slot: Slot, batch: Pending[]): void {
    slot.batch = batch;
    this.#inFlight++;
    slot.worker.ref();
    const message: WorkerBatch = { calls: encodeCalls(batch.map((p) => p.call)) };
    slot.worker.postMessage(message);
  }

  #settle(slot: Slot, reply: WorkerReply): void {
    const batch = slot.batch;
    if (batch === undefined) return;
    slot.batch = undefined;
    this.#inFlight--;
    slot.worker.unref();
    const results = decodeResults(reply.results);
    reply.results.fill(0); // outputs were copied out; derived secrets are not left in the batch buffer
    for (let i = 0; i < batch.length; i++) {
      const r = results[i];
      if (r instanceof Uint8Array) batch[i]!.resolve(r);
      else batch[i]!.reject(workerCallError(r ?? FAILED_WITHOUT_CKR));
    }
    // Whatever queued while this worker was busy goes out at the end of this turn, joined by
    // the calls of the callers just woken.
    if (this.#pending.length > 0 && !this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  #lost(slot: Slot): void {
    const i = this.#slots.indexOf(slot);
    if (i >= 0) this.#slots.splice(i, 1);
    const batch = slot.batch;
    slot.batch = undefined;
    if (batch !== undefined) {
      this.#inFlight--;
      for (const p of batch) p.reject(workerCallError(FAILED_WITHOUT_CKR));
    }
    // With no worker left, calls run inline (see #flush).
    if (this.#pending.length > 0 && !this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
  }
}
