// RFC 9162 §2.1 written plainly, as the reference the server's tree is checked against:
// MTH (§2.1.1), PATH (§2.1.3.1) and SUBPROOF (§2.1.4.1), recursive, over leaf hashes, memoised.
import { createHash } from 'node:crypto';

const sha256 = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

export const naiveLeafHash = (data: Uint8Array) => sha256(Uint8Array.of(0), data);

function k(n: number): number {
  let x = 1;
  while (x * 2 < n) x *= 2;
  return x;
}

export class NaiveTree {
  readonly #leaves: Uint8Array[];
  readonly #memo = new Map<string, Uint8Array>();
  constructor(leafHashes: Uint8Array[]) {
    this.#leaves = leafHashes;
  }

  mth(start: number, end: number): Uint8Array {
    const key = `${start},${end}`;
    let h = this.#memo.get(key);
    if (h !== undefined) return h;
    if (end - start === 0) h = sha256();
    else if (end - start === 1) h = this.#leaves[start]!;
    else {
      const split = start + k(end - start);
      h = sha256(Uint8Array.of(1), this.mth(start, split), this.mth(split, end));
    }
    this.#memo.set(key, h);
    return h;
  }

  path(m: number, start: number, end: number): Uint8Array[] {
    if (end - start <= 1) return [];
    const split = start + k(end - start);
    if (m < split) return [...this.path(m, start, split), this.mth(split, end)];
    return [...this.path(m, split, end), this.mth(start, split)];
  }

  subproof(m: number, start: number, end: number, b: boolean): Uint8Array[] {
    if (m === end - start) return b ? [] : [this.mth(start, end)];
    const kk = k(end - start);
    if (m <= kk) return [...this.subproof(m, start, start + kk, b), this.mth(start + kk, end)];
    return [...this.subproof(m - kk, start + kk, end, false), this.mth(start, start + kk)];
  }

  inclusion(m: number, n: number): Uint8Array[] {
    return this.path(m, 0, n);
  }

  consistency(m: number, n: number): Uint8Array[] {
    return this.subproof(m, 0, n, true);
  }
}
