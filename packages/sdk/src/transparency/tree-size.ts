// Tree sizes and leaf indices are uint64 in RFC 9162 and on the wire of transparency-dev; the
// verifier works in bigint so that a hostile 2^64-1 is compared exactly, not rounded.

/** A tree size or leaf index: a non-negative safe integer, or a bigint below 2^64. */
export type TreeIndex = number | bigint;

const U64_LIMIT = 1n << 64n;

export function toUint64(name: string, value: TreeIndex): bigint {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`"${name}" expected a non-negative safe integer, got ${value}`);
    }
    return BigInt(value);
  }
  if (typeof value === 'bigint') {
    if (value < 0n || value >= U64_LIMIT) throw new RangeError(`"${name}" expected a uint64, got ${value}`);
    return value;
  }
  throw new TypeError(`"${name}" expected number or bigint, got ${typeof value}`);
}

/** Number of bits needed to write `x` (Go's bits.Len64). */
export function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

/** Number of one bits in `x` (Go's bits.OnesCount64). */
export function popCount(x: bigint): number {
  let n = 0;
  for (const c of x.toString(2)) if (c === '1') n++;
  return n;
}

/** Number of trailing zero bits of a non-zero `x` (Go's bits.TrailingZeros64). */
export function trailingZeros(x: bigint): number {
  let n = 0;
  while (((x >> BigInt(n)) & 1n) === 0n) n++;
  return n;
}
