// The options of Pkcs11KeyBackend.open, in a module of their own so that the internal modules
// that check them never import the facade (no cycle through pkcs11-key-backend.ts).
/** Options of `Pkcs11KeyBackend.open`. */
export interface Pkcs11KeyBackendOptions {
  /** Path of the PKCS#11 library, e.g. SoftHSM's `libsofthsm2.so`. */
  readonly module: string;
  /** The token's label (CKA_LABEL of the token, trimmed). Slots are never addressed by number. */
  readonly token: string;
  /** The user PIN. Kept in memory to log in again after a reconnect. */
  readonly pin: string;
  /** Sessions in the pool (1 to 64; default 4): how many operations can be on the token at once. */
  readonly sessions?: number | undefined;
  /**
   * Run sign, derive, verify and wrap/unwrap through pkcs11js's *Async calls on libuv's thread
   * pool instead of on the calling thread. Default false: on a local token such as SoftHSM one
   * sync ECDSA sign takes ~30 µs, the *Async hop adds ~80–100 µs, and several async calls in
   * flight are no faster than sync ones because SoftHSM serialises most of each call (figures
   * in scripts/bench). Set it for a networked or slow HSM, where one call takes milliseconds
   * and must not hold the event loop. Key and object generation always use the async calls:
   * creating token objects writes files (~10 ms on SoftHSM).
   */
  readonly asyncCalls?: boolean | undefined;
  /**
   * Where `sign` and `deriveSharedSecret` run. With worker threads, a call made alone runs on
   * the calling thread (sync), and calls made concurrently (in the same turn of the event
   * loop) are shared, in batches, between the calling thread and worker threads that each
   * hold a session of their own (one more session on the token per worker) and make the sync
   * pkcs11js calls, so that a token that does most of each call outside its locks (SoftHSM)
   * can use more than one core. Keys, usage and policy are checked on the calling thread
   * first; errors, reconnection and `close()` behave as on one thread.
   *
   * - `'auto'` (the default, unless `asyncCalls` is true): the workers start in the
   *   background at the first concurrent calls, never for a lone caller. Until they are up,
   *   and for good if they cannot start (no worker script beside this module, as in a
   *   single-file bundle; a worker that cannot open its session), every call runs on the
   *   calling thread, as with `'thread'`.
   * - `'workers'`: the workers start at `open()`, which fails if they cannot.
   * - `'thread'` (the default when `asyncCalls` is true): every call on the calling thread,
   *   sync or through the *Async calls as `asyncCalls` says.
   *
   * Measured on 2 cores with the second one free (control 1.72–1.77x;
   * scripts/bench/key-backends.mjs): one caller 0.97–1.01x of the sync path; four callers,
   * against one sync caller, 1.41–1.48x for ECDSA sign and 1.37–1.39x for ECDH derive with
   * `'workers'`, 1.32–1.40x and 1.25–1.35x with `'auto'` (raw pkcs11js on two threads:
   * 1.65–1.78x and 1.38–1.43x), where `'thread'` gives 0.97–1.03x and `asyncCalls`
   * 1.14–1.19x (and halves one caller's rate).
   */
  readonly execution?: 'auto' | 'thread' | 'workers' | undefined;
  /**
   * Worker threads for `execution: 'auto'` and `'workers'` (1 to 16; default: one fewer than
   * the cores, at least 1). The calling thread takes a share of every batch itself, so it
   * counts as one.
   */
  readonly workers?: number | undefined;
}
