// Argument checks of the public methods (caller misuse: TypeError/RangeError, STYLE.md "Errors")
// and the SigilErrors every method shares.
import { availableParallelism } from 'node:os';
import type { KeyRef } from '@sigil/sdk/backend';
import { SigilError } from '@sigil/sdk/errors';
import type { Pkcs11KeyBackendOptions } from './options.js';

/** A key id: `keyIdOf(publicKey)`, or a wrapping key's CKA_ID, as lowercase hex of 16 bytes. */
export const ID_PATTERN = /^[0-9a-f]{32}$/;

/** {@link Pkcs11KeyBackendOptions} with every default filled in. */
export interface ResolvedOptions {
  readonly module: string;
  readonly token: string;
  readonly pin: string;
  readonly sessions: number;
  readonly asyncCalls: boolean;
  readonly execution: 'auto' | 'thread' | 'workers';
  readonly workers: number;
}

export function checkOpenOptions(options: Pkcs11KeyBackendOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('"options" expected an object');
  for (const name of ['module', 'token', 'pin'] as const) {
    const value: unknown = options[name];
    if (typeof value !== 'string') throw new TypeError(`"${name}" expected string, got ${typeof value}`);
    if (value.length === 0) throw new RangeError(`"${name}" expected a non-empty string`);
  }
  const sessions = options.sessions ?? 4;
  if (!Number.isInteger(sessions) || sessions < 1 || sessions > 64) {
    throw new RangeError(`"sessions" expected an integer from 1 to 64, got ${String(sessions)}`);
  }
  const asyncCalls = options.asyncCalls ?? false;
  if (typeof asyncCalls !== 'boolean') throw new TypeError(`"asyncCalls" expected boolean, got ${typeof asyncCalls}`);
  const execution = options.execution ?? (asyncCalls ? 'thread' : 'auto');
  if (execution !== 'auto' && execution !== 'thread' && execution !== 'workers') {
    throw new TypeError(`"execution" expected 'auto', 'thread' or 'workers', got ${String(execution)}`);
  }
  const workers = options.workers ?? Math.min(16, Math.max(1, availableParallelism() - 1));
  if (!Number.isInteger(workers) || workers < 1 || workers > 16) {
    throw new RangeError(`"workers" expected an integer from 1 to 16, got ${String(workers)}`);
  }
  return { module: options.module, token: options.token, pin: options.pin, sessions, asyncCalls, execution, workers };
}

export function checkRef(ref: KeyRef): void {
  if (typeof ref !== 'object' || ref === null || typeof ref.id !== 'string') {
    throw new TypeError('"ref" expected a KeyRef');
  }
}

export function checkBytes(name: string, value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(`"${name}" expected Uint8Array, got ${value === null ? 'null' : typeof value}`);
  }
  return value;
}

export function checkId(id: unknown): asserts id is string {
  if (typeof id !== 'string') throw new TypeError(`"id" expected string, got ${typeof id}`);
}

export function notFound(id: string): SigilError {
  return new SigilError('E_KEY_NOT_FOUND', `No key with id ${id} on the token.`);
}

export function closedError(): SigilError {
  return new SigilError('E_BACKEND_CLOSED', 'This Pkcs11KeyBackend is closed: open a new one.');
}
