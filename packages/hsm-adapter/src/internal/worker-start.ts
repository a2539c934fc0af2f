// When the token workers (worker-pool.ts) start: at open() for `execution: 'workers'`, in the
// background at the first concurrent calls for `'auto'`, never for `'thread'`. Also keeps them
// told which connection generation is live.
import { toSigilError } from './ckr.js';
import type { Connection } from './connection.js';
import { TokenWorkers, type WorkerEntry } from './worker-pool.js';
import type { WorkerInit } from './worker-protocol.js';

/** What a start of the token workers needs. */
export interface WorkerStart {
  readonly entry: WorkerEntry;
  readonly options: Omit<WorkerInit, 'generation'>;
  readonly count: number;
}

export class WorkerStarter {
  /** The running workers, once they are up. */
  #workers: TokenWorkers | undefined;
  /** Set while the workers may still be started lazily (execution 'auto', script found, not tried yet). */
  #lazy: WorkerStart | undefined;
  #starting: Promise<void> | undefined;
  /** A sign or derive ran on the calling thread in the current microtask window (see `noteCall`). */
  #callInWindow = false;
  #closed = false;
  readonly #liveGeneration: () => number;

  /** `liveGeneration`: the generation of the live connection, 0 while there is none. */
  constructor(liveGeneration: () => number) {
    this.#liveGeneration = liveGeneration;
  }

  get workers(): TokenWorkers | undefined {
    return this.#workers;
  }

  /** Tells running workers which connection generation is live (0: none). */
  set generation(value: number) {
    if (this.#workers !== undefined) this.#workers.generation = value;
  }

  /** `execution: 'auto'`: start later, at the first concurrent calls (see `noteCall`). */
  startLazily(start: WorkerStart): void {
    this.#lazy = start;
  }

  /**
   * `execution: 'workers'`: starts them now and waits until each has its session open.
   *
   * @throws {SigilError} what `toSigilError` makes of a worker's failure to open its session.
   */
  async startNow(start: WorkerStart, generation: number): Promise<void> {
    this.#workers = await TokenWorkers.start(start.entry, start.options, generation, start.count).catch((e: unknown) => {
      throw toSigilError(e, 'starting token workers');
    });
  }

  /**
   * Starts the token workers at the first sign or derive that runs in the same microtask
   * window as another one: callers awaiting each other's calls in turn (concurrent callers,
   * or a Promise.all) come back in one window; a lone caller's next call comes only after the
   * window has closed, so it never starts a worker and keeps the plain sync path. The same
   * window is what the workers' dispatcher batches (worker-pool.ts).
   */
  noteCall(conn: Connection): void {
    if (this.#lazy === undefined) return;
    if (this.#callInWindow) {
      this.#startInBackground(conn);
      return;
    }
    this.#callInWindow = true;
    queueMicrotask(() => (this.#callInWindow = false));
  }

  /** No start from now on (the backend is closing); workers already starting are closed by `close`. */
  stopStarting(): void {
    this.#closed = true;
    this.#lazy = undefined;
  }

  /** Stops them: a worker closes its session before the module can be finalized under it. */
  async close(): Promise<void> {
    this.stopStarting();
    // Workers still starting are closed as soon as they are up.
    await this.#starting;
    await this.#workers?.close();
  }

  /**
   * Starts the workers once, in the background; calls go on running on the calling thread
   * until they are up. If they cannot start, every call keeps running there: it is the
   * 'thread' behaviour, never an error for a caller, and it is not retried (a worker that
   * cannot open a session now, or a script that cannot load, would cost a failed start per
   * batch).
   */
  #startInBackground(conn: Connection): void {
    const start = this.#lazy;
    if (start === undefined || !conn.live) return;
    this.#lazy = undefined;
    this.#starting = TokenWorkers.start(start.entry, start.options, conn.generation, start.count).then(
      async (workers) => {
        if (this.#closed) return workers.close();
        // The connection may have been dropped or replaced while they started.
        workers.generation = this.#liveGeneration();
        this.#workers = workers;
      },
      () => undefined,
    );
  }
}
