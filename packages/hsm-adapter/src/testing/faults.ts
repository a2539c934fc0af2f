// A KeyBackend wrapper that fails on request the way Pkcs11KeyBackend fails, so that users'
// tests can walk their failure paths without pulling a token out of a CI runner. Every error
// is made by the adapter's own CKR table (internal/ckr.ts) from the CKR_* value the token
// would return, and a CKR the adapter answers by reconnecting (the table's `reconnect`) is
// retried once, as the session pool does: what a test sees here is what it would see there.
import { setTimeout as sleep } from 'node:timers/promises';
import pkcs11js from 'pkcs11js';
import type { KeyBackend } from '@sigil/sdk/backend';
import { SigilError } from '@sigil/sdk/errors';
import { ckrName, meaningOf, toSigilError } from '../internal/ckr.js';
import { SIGIL_MECHANISMS, type SigilMechanism } from '../internal/mechanisms.js';

/** The methods of Pkcs11KeyBackend that reach the token, and so can fail. */
export const FAULTABLE_METHODS = [
  'generateKeyPair',
  'sign',
  'verify',
  'deriveSharedSecret',
  'getKey',
  'listKeys',
  'deleteKey',
  'describeKey',
  'describeToken',
  'generateWrappingKey',
  'getWrappingKey',
  'deleteWrappingKey',
  'wrap',
  'unwrap',
] as const;

export type FaultableMethod = (typeof FAULTABLE_METHODS)[number];

/**
 * A failure to inject.
 * - `wrong-pin`: the token refuses the PIN (CKR_PIN_INCORRECT → `E_HSM_PIN`), as after its PIN
 *   was changed under a running service.
 * - `device-removed`: the token is gone (CKR_DEVICE_REMOVED → `E_HSM_UNAVAILABLE` once the one
 *   reconnect also fails).
 * - `session-invalid`: the session handle is no longer valid (CKR_SESSION_HANDLE_INVALID): the
 *   adapter reconnects and retries once, so one hit is invisible and two are `E_HSM_UNAVAILABLE`.
 * - `mechanism-unsupported`: the token lacks a mechanism (`E_HSM_MECHANISM`, `detail` the CKM_*
 *   name), for the calls that need it: all that need any mechanism, or those needing `mechanism`.
 * - `latency`: `ms` more milliseconds before each call reaches the backend.
 */
export type Fault =
  | { readonly kind: 'wrong-pin' }
  | { readonly kind: 'device-removed' }
  | { readonly kind: 'session-invalid' }
  | { readonly kind: 'mechanism-unsupported'; readonly mechanism?: SigilMechanism | undefined }
  | { readonly kind: 'latency'; readonly ms: number };

export interface InjectOptions {
  /** Only calls of these methods (default: every method the fault applies to). */
  readonly methods?: readonly FaultableMethod[] | undefined;
  /**
   * How many times it strikes before it clears itself (default: until `clear()`). An attempt
   * counts one: a call retried after a reconnect-type fault is two attempts.
   */
  readonly times?: number | undefined;
}

/** The wrapped backend: the same methods as `B` that reach the token, and `close`. */
export type FaultInjecting<B> = Pick<B, Extract<keyof B, FaultableMethod | 'close'>>;

export interface FaultInjector<B> {
  /** Use this where the real backend was used. */
  readonly backend: FaultInjecting<B>;
  /** Adds a fault; several can be active at once (latencies add up, the first failure wins). */
  inject(fault: Fault, options?: InjectOptions): void;
  /** Removes every fault. */
  clear(): void;
  /** Attempts that a failure struck (latency not counted). */
  readonly strikes: number;
  /** Reconnects the adapter would have made (a reconnect-type failure retried). */
  readonly reconnects: number;
}

const CKR_OF = {
  'wrong-pin': pkcs11js.CKR_PIN_INCORRECT,
  'device-removed': pkcs11js.CKR_DEVICE_REMOVED,
  'session-invalid': pkcs11js.CKR_SESSION_HANDLE_INVALID,
} as const;

// What the facade says it was doing, for the error message (`toSigilError`).
const DOING: Record<FaultableMethod, string> = {
  generateKeyPair: 'generating a key pair',
  sign: 'signing',
  verify: 'verifying a signature',
  deriveSharedSecret: 'deriving a shared secret',
  getKey: 'finding a key',
  listKeys: 'listing keys',
  deleteKey: 'deleting a key',
  describeKey: 'describing a key',
  describeToken: 'describing the token',
  generateWrappingKey: 'generating a wrapping key',
  getWrappingKey: 'finding a wrapping key',
  deleteWrappingKey: 'deleting a wrapping key',
  wrap: 'wrapping',
  unwrap: 'unwrapping',
};

interface Active {
  readonly fault: Fault;
  readonly methods: ReadonlySet<FaultableMethod> | undefined;
  left: number;
}

interface LibraryPkcs11Error {
  new (message: string, code: number, method: string): Error & { readonly code: number };
}
// pkcs11js exports its error class at run time but not in its type definitions (as in ckr.ts).
const Pkcs11Error = (pkcs11js as unknown as { Pkcs11Error: LibraryPkcs11Error }).Pkcs11Error;

/**
 * `injectFaults(backend) → { backend, inject, clear, strikes, reconnects }`
 *
 * Wraps a KeyBackend (a `Pkcs11KeyBackend`, with its wrapping methods and `describeToken`, or any
 * other) so that `inject` makes its calls fail as the PKCS#11 adapter fails. Without a fault,
 * every call goes straight to `backend`. A failure is thrown before the call reaches `backend`,
 * so an injected failure changes nothing on the token.
 *
 * @throws {RangeError} from `inject`, for a negative or non-integer `times` or `ms`.
 * @example
 * ```ts
 * const faults = injectFaults(await Pkcs11KeyBackend.open(token.location));
 * faults.inject({ kind: 'device-removed' }, { methods: ['sign'] });
 * await expect(app.signWith(faults.backend)).rejects.toMatchObject({ code: 'E_HSM_UNAVAILABLE' });
 * ```
 */
export function injectFaults<B extends KeyBackend>(backend: B): FaultInjector<B> {
  const active: Active[] = [];
  let strikes = 0;
  let reconnects = 0;

  /** The first failure that strikes this attempt of `method`, consuming one of its `times`. */
  const failure = (method: FaultableMethod): { readonly error: SigilError; readonly reconnect: boolean } | undefined => {
    for (const a of active) {
      const fault = a.fault;
      if (fault.kind === 'latency' || a.left <= 0 || (a.methods !== undefined && !a.methods.has(method))) continue;
      let struck: { readonly error: SigilError; readonly reconnect: boolean };
      if (fault.kind === 'mechanism-unsupported') {
        const needs: readonly string[] = (SIGIL_MECHANISMS as Record<string, readonly string[]>)[method] ?? [];
        const missing = fault.mechanism === undefined ? needs[0] : needs.find((m) => m === fault.mechanism);
        if (missing === undefined) continue;
        // The same code and detail as the facade's mechanism check (connection.ts, requireMechanism).
        const error = new SigilError('E_HSM_MECHANISM', `Token does not support ${missing}, which Sigil needs (injected).`, { detail: missing });
        struck = { error, reconnect: false };
      } else {
        const ckr = CKR_OF[fault.kind];
        const cause = new Pkcs11Error(`${ckrName(ckr)}:${ckr}`, ckr, 'injected by @sigil/hsm-adapter/testing');
        struck = { error: toSigilError(cause, DOING[method]) as SigilError, reconnect: meaningOf(ckr).reconnect === true };
      }
      a.left--;
      strikes++;
      return struck;
    }
    return undefined;
  };

  const call = async (method: FaultableMethod, invoke: () => Promise<unknown>): Promise<unknown> => {
    let delay = 0;
    for (const a of active) {
      if (a.fault.kind !== 'latency' || a.left <= 0 || (a.methods !== undefined && !a.methods.has(method))) continue;
      a.left--;
      delay += a.fault.ms;
    }
    if (delay > 0) await sleep(delay);
    for (let attempt = 0; ; attempt++) {
      const struck = failure(method);
      if (struck === undefined) return invoke();
      // The session pool reconnects and retries once on these (ckr.ts, `reconnect`).
      if (attempt === 0 && struck.reconnect) {
        reconnects++;
        continue;
      }
      throw struck.error;
    }
  };

  const wrapped: Record<string, unknown> = {};
  const target = backend as unknown as Record<string, unknown>;
  for (const method of FAULTABLE_METHODS) {
    const f = target[method];
    if (typeof f !== 'function') continue;
    wrapped[method] = (...args: unknown[]) => call(method, () => Promise.resolve(f.apply(backend, args)));
  }
  const close = target['close'];
  if (typeof close === 'function') wrapped['close'] = (...args: unknown[]) => close.apply(backend, args);

  return {
    backend: wrapped as FaultInjecting<B>,
    inject(fault, options = {}) {
      const times = options.times ?? Number.POSITIVE_INFINITY;
      if (!(times === Number.POSITIVE_INFINITY || (Number.isInteger(times) && times >= 0))) throw new RangeError(`"times" expected a non-negative integer, got ${times}`);
      if (fault.kind === 'latency' && !(Number.isFinite(fault.ms) && fault.ms >= 0)) throw new RangeError(`"ms" expected a non-negative number, got ${fault.ms}`);
      active.push({ fault, methods: options.methods === undefined ? undefined : new Set(options.methods), left: times });
    },
    clear() {
      active.length = 0;
    },
    get strikes() {
      return strikes;
    },
    get reconnects() {
      return reconnects;
    },
  };
}
