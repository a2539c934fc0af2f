// The few TLS presentation-language encodings (RFC 8446 §3) that the KEYTRANS structures this
// folder computes need: big-endian integers and length-prefixed opaque vectors.
import { concatBytes } from '../../internal/bytes.js';

/** `uint32`, big-endian. Caller misuse (not an integer in range) is a RangeError. */
export function uint32(name: string, n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff) {
    throw new RangeError(`"${name}" expected an integer in 0..2^32-1, got ${String(n)}`);
  }
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n);
  return out;
}

/** `opaque name<0..2^8-1>`: one length byte, then the bytes. */
export function opaque8(name: string, bytes: Uint8Array): Uint8Array {
  if (bytes.length > 0xff) throw new RangeError(`"${name}" expected at most 255 bytes, got length=${bytes.length}`);
  return concatBytes(Uint8Array.of(bytes.length), bytes);
}

/** `opaque name<0..2^32-1>`: a uint32 length, then the bytes. */
export function opaque32(name: string, bytes: Uint8Array): Uint8Array {
  return concatBytes(uint32(`${name}.length`, bytes.length), bytes);
}
