// Canonical binary reading and writing for statements (docs/STATEMENTS.md §2, "Encoding rules").
// Fixed-width big-endian integers and length-prefixed fields only: every value has exactly one
// encoding, so a decoder that consumes every byte and re-checks each range accepts nothing else.
import { SigilError } from '../errors.js';

/** Thrown for every encoding fault; `detail` says which field, never echoes the bytes. */
export function formatError(what: string): SigilError {
  return new SigilError('E_FORMAT', `Malformed statement: ${what}.`, { detail: what });
}

export class Writer {
  readonly #parts: Uint8Array[] = [];
  #length = 0;

  bytes(b: Uint8Array): this {
    this.#parts.push(b);
    this.#length += b.length;
    return this;
  }

  u8(n: number): this {
    return this.bytes(Uint8Array.of(n));
  }

  u16(n: number): this {
    return this.bytes(Uint8Array.of(n >>> 8, n & 0xff));
  }

  u32(n: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n);
    return this.bytes(b);
  }

  u64(n: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(n));
    return this.bytes(b);
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.#length);
    let offset = 0;
    for (const p of this.#parts) {
      out.set(p, offset);
      offset += p.length;
    }
    return out;
  }
}

export class Reader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  #offset = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get offset(): number {
    return this.#offset;
  }

  get remaining(): number {
    return this.#bytes.length - this.#offset;
  }

  /** A copy, so decoded values never alias the caller's buffer. */
  bytes(n: number, what: string): Uint8Array {
    if (n > this.remaining) throw formatError(`${what} truncated`);
    const out = this.#bytes.slice(this.#offset, this.#offset + n);
    this.#offset += n;
    return out;
  }

  u8(what: string): number {
    if (this.remaining < 1) throw formatError(`${what} truncated`);
    return this.#view.getUint8(this.#offset++);
  }

  u16(what: string): number {
    if (this.remaining < 2) throw formatError(`${what} truncated`);
    const v = this.#view.getUint16(this.#offset);
    this.#offset += 2;
    return v;
  }

  u32(what: string): number {
    if (this.remaining < 4) throw formatError(`${what} truncated`);
    const v = this.#view.getUint32(this.#offset);
    this.#offset += 4;
    return v;
  }

  /** u64 limited to Number.MAX_SAFE_INTEGER: larger values are not canonical (§2). */
  u64(what: string): number {
    if (this.remaining < 8) throw formatError(`${what} truncated`);
    const v = this.#view.getBigUint64(this.#offset);
    this.#offset += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw formatError(`${what} out of range`);
    return Number(v);
  }

  end(what: string): void {
    if (this.remaining !== 0) throw formatError(`trailing bytes after ${what}`);
  }
}

const utf8Fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8 = new TextEncoder();

export function encodeUtf8(s: string): Uint8Array {
  return utf8.encode(s);
}

/**
 * Strict UTF-8: the fatal decoder rejects overlong forms, surrogates and truncated sequences
 * (RFC 3629 §3), so well-formed UTF-8 has one encoding per string. A leading BOM is kept as
 * U+FEFF (ignoreBOM) and so re-encodes to the same bytes.
 */
export function decodeUtf8(b: Uint8Array, what: string): string {
  try {
    return utf8Fatal.decode(b);
  } catch {
    throw formatError(`${what} is not UTF-8`);
  }
}
