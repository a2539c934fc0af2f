// Argument checks of the Store contract, made once for every implementation (checked-store.ts):
// misuse is a TypeError/RangeError with the house message shape; an over-limit size is the
// caller's data and an `E_LIMIT` SigilError.
import { createHash } from 'node:crypto';
import { SigilError } from '@sigil/sdk/errors';

export function checkString(name: string, value: unknown, max: number): asserts value is string {
  if (typeof value !== 'string') throw new TypeError(`"${name}" expected string, got ${typeof value}`);
  if (value.length === 0 || value.length > max) {
    throw new RangeError(`"${name}" expected a string of length 1..${max}, got length=${value.length}`);
  }
}

export function checkInteger(name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`"${name}" expected a non-negative safe integer, got ${String(value)}`);
  }
}

export function checkBytes(name: string, value: unknown, limit?: number): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`"${name}" expected Uint8Array, got ${typeof value}`);
  if (limit !== undefined && value.length > limit) {
    throw new SigilError('E_LIMIT', `The ${name} is ${value.length} bytes; the limit is ${limit}.`, { detail: name });
  }
}

export function checkSessionToken(token: unknown): asserts token is Uint8Array {
  if (!(token instanceof Uint8Array)) throw new TypeError(`"token" expected Uint8Array, got ${typeof token}`);
  if (token.length < 16) throw new RangeError(`"token" expected Uint8Array of length >= 16, got length=${token.length}`);
}

/**
 * SHA-256 of a session token: what a store keeps and looks sessions up by; the token itself is
 * never stored. @throws TypeError / RangeError for a token that is not 16 bytes or longer.
 */
export function sessionTokenHash(token: Uint8Array): Uint8Array {
  checkSessionToken(token);
  return new Uint8Array(createHash('sha256').update(token).digest());
}

export function clampLimit(limit: number | undefined, fallback: number): number {
  if (limit === undefined) return fallback;
  checkInteger('limit', limit);
  return Math.min(Math.max(limit, 1), 1000);
}
