// The main-thread side of `execution: 'auto'` and `'workers'`: token workers (token-worker.ts),
// each with a session of its own, and a batching dispatcher in front of them.
//
// Why batching: an ECDSA sign costs ~40 µs on SoftHSM and a postMessage round trip costs
// about as much, so a message per call with this thread waiting on it loses what the second
// thread gains (measured: 23.7k/s against 33.9k/s sync). So calls made in the same turn of the
// event loop are taken together and split between this thread and the workers, one reply per
// batch, and a worker is sent its next batches while it still runs one (see #flush). A call
// that is alone (nothing else pending, nothing out) gains nothing from a thread and runs at
// once here, with the caller's own session.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import pkcs11js from 'pkcs11js';
import { meaningOf } from './ckr.js';
import { decodeResults, encodeCalls, FAILED_WITHOUT_CKR, type WorkerBatch, type WorkerCall, type WorkerInit, type WorkerReady, type WorkerReply } from './worker-protocol.js';

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
 * This thread's share of the calls in flight relative to one worker's. Besides its own share,
 * this thread runs every call's checks (key lookup, usage, policy, the peer-point check of a
 * derive), sends the batches and reads the replies; a worker only calls the token. A third:
 * with one worker, 1 of 4 callers' calls runs here and 3 are out at the worker.
 */
const HERE_SHARE = 1 / 3;

/**
 * Batches a worker may hold at once: the one it runs and up to two queued behind it. This
 * thread reads a reply only between its own (sync) token calls, so a worker that is sent its
 * next batch only after its reply has been read sits idle for up to one call of this thread
 * each time (measured: idle a quarter of the time in derive batches). With its share split
 * into three messages, it still has work queued when one of them comes back.
 */
const QUEUED_BATCHES = 3;

interface Pending {
  readonly call: WorkerCall;
  readonly inline: () => Uint8Array;
  readonly resolve: (out: Uint8Array) => void;
  readonly reject: (e: unknown) => void;
}

interface Slot {
  readonly worker: Worker;
  /** The batches sent to this worker and not answered yet, oldest (the one running) first. */
  readonly batches: Pending[][];
  /** How many calls those batches hold. */
  calls: number;
}

/** How a token worker is started: a module URL, or code to `eval` (see {@link workerEntry}). */
export interface WorkerEntry {
  readonly entry: URL | string;
  readonly eval: boolean;
}

/**
 * How to start a token worker, or undefined when there is no worker script to start (then
 * the backend runs every call on the calling thread). Built (dist/internal/worker-pool.js, the
 * package's normal use): the compiled token-worker.js beside this file. Run from the
 * TypeScript sources (vitest, tsx), beside this file there is only token-worker.ts, which Node
 * 20 cannot load as it is (and a worker does not get vitest's transform, nor tsx's loader
 * through `--import` in `execArgv`): the worker then starts with a two-line bootstrap that
 * loads it through tsx's `tsImport`. tsx is a dev dependency of the repository, needed only in
 * that mode, never by the built package. Bundled into one file, neither script is beside the
 * bundle (and in a CommonJS bundle `import.meta.url` is not even set): undefined.
 */
export function workerEntry(): WorkerEntry | undefined {
  try {
    const js = new URL('./token-worker.js', import.meta.url);
    if (existsSync(fileURLToPath(js))) return { entry: js, eval: false };
    const tsUrl = new URL('./token-worker.ts', import.meta.url);
    if (!existsSync(fileURLToPath(tsUrl))) return undefined;
    const ts = tsUrl.href;
    // The ESM build of tsx's API (its CommonJS build registers its hooks from a wrong path).
    const api = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
    return { entry: `import(${JSON.stringify(api)}).then((tsx) => tsx.tsImport(${JSON.stringify(ts)}, ${JSON.stringify(ts)}));`, eval: true };
  } catch {
    return undefined;
  }
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
  static async start(entry: WorkerEntry, options: Omit<WorkerInit, 'generation'>, generation: number, count: number): Promise<TokenWorkers> {
    const shared = new SharedArrayBuffer(4);
    const live = new Int32Array(shared);
    Atomics.store(live, 0, generation);
    const init: WorkerInit = { ...options, generation: shared };
    const slots: Slot[] = [];
    try {
      for (let i = 0; i < count; i++) {
        const worker = new Worker(entry.entry, { workerData: init, eval: entry.eval });
        slots.push({ worker, batches: [], calls: 0 });
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
    // The calls in flight (pending here, or out at a worker) are shared between this thread
    // and the workers, this thread counting HERE_SHARE of a worker: it takes
    // ceil(n·HERE_SHARE / (k + HERE_SHARE)) of them (at least one: a lone call is its own),
    // the workers the rest, spread evenly and each worker's part sent in up to QUEUED_BATCHES
    // messages. Calls a busy worker cannot take yet wait for its next reply (#settle flushes
    // again); with no batch out at all nothing would, so this thread then runs them all.
    // Why this thread works too: it is awake for the callers anyway, and leaving it idle would
    // mean three busy threads on two cores, or a message for every call. Measured here (4
    // callers, 1 worker, against one sync caller, control 1.7x or more): sign 1.41-1.49x and
    // derive 1.37-1.40x, where one batch per worker at a time gave 1.27-1.31x and 1.18-1.25x,
    // split evenly for sign and a third here for derive; every call to the workers 0.81x (sign).
    let out = 0;
    for (const slot of this.#slots) out += slot.calls;
    const n = pending.length + out;
    const k = this.#slots.length;
    const here = Math.ceil((n * HERE_SHARE) / (k + HERE_SHARE));
    const toWorkers = n - here;
    for (let i = 0; i < k && pending.length > 0; i++) {
      const slot = this.#slots[i]!;
      const target = Math.floor(toWorkers / k) + (i < toWorkers % k ? 1 : 0);
      const batchSize = Math.max(1, Math.ceil(target / QUEUED_BATCHES));
      while (pending.length > 0 && slot.batches.length < QUEUED_BATCHES && slot.calls < target) {
        const count = Math.min(target - slot.calls, batchSize, pending.length);
        this.#send(slot, pending.splice(pending.length - count, count));
      }
    }
    for (const p of pending.splice(0, this.#inFlight === 0 ? pending.length : here)) {
      try {
        p.resolve(p.inline());
      } catch (e) {
        p.reject(e);
      }
    }
  }

  #send(slot: Slot, batch: Pending[]): void {
    slot.batches.push(batch);
    slot.calls += batch.length;
    this.#inFlight++;
    slot.worker.ref();
    const message: WorkerBatch = { calls: encodeCalls(batch.map((p) => p.call)) };
    slot.worker.postMessage(message);
  }

  #settle(slot: Slot, reply: WorkerReply): void {
    // A worker answers its batches in the order they were sent.
    const batch = slot.batches.shift();
    if (batch === undefined) return;
    slot.calls -= batch.length;
    this.#inFlight--;
    // ref() and unref() are not counted: the worker stays ref'd while any batch is out.
    if (slot.batches.length === 0) slot.worker.unref();
    const results = decodeResults(reply.results);
    reply.results.fill(0); // outputs were copied out; derived secrets are not left in the batch buffer
    for (let i = 0; i < batch.length; i++) {
      const r = results[i];
      if (r instanceof Uint8Array) batch[i]!.resolve(r);
      else batch[i]!.reject(workerCallError(r ?? FAILED_WITHOUT_CKR));
    }
    // Whatever waits goes out at the end of this turn, joined by the calls of the callers just
    // woken.
    if (this.#pending.length > 0 && !this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  #lost(slot: Slot): void {
    const i = this.#slots.indexOf(slot);
    if (i >= 0) this.#slots.splice(i, 1);
    slot.calls = 0;
    for (const batch of slot.batches.splice(0)) {
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
