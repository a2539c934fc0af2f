// Caches of the directory's lookups (account-view.ts). Why a doorkeeper, a ring of keys and a
// count per slot, and what each gained: docs/DIRECTORY.md, "The lookup path".

/**
 * A bounded map that forgets its oldest entries first, in the order of a ring of keys (deleting
 * a Map's first key over and over leaves holes that `keys().next()` walks past).
 */
export class BoundedCache<V> {
  readonly #map = new Map<string, V>();
  readonly #ring: (string | undefined)[];
  #next = 0;
  constructor(readonly max: number) {
    this.#ring = new Array<string | undefined>(max);
  }
  get(key: string): V | undefined {
    return this.#map.get(key);
  }
  /** Returns the key this pushed out, if it pushed one out. */
  set(key: string, value: V): string | undefined {
    if (this.max === 0) return undefined;
    let oldest: string | undefined;
    if (!this.#map.has(key)) {
      oldest = this.#ring[this.#next];
      if (oldest !== undefined) this.#map.delete(oldest);
      this.#ring[this.#next] = key;
      this.#next = (this.#next + 1) % this.max;
    }
    this.#map.set(key, value);
    return oldest;
  }
}

/**
 * A BoundedCache that keeps a value only when its key is offered a second time while the first
 * offer is still remembered. The memory of offers is a fixed table of 32-bit key hashes (no
 * allocation per offer); two keys with the same slot and hash only admit one of them early, which
 * costs a cache entry, never a wrong answer (values are looked up by the full key). A second
 * table counts the cached keys per slot, so that `get` of a key its slot counts none of skips the
 * Map.
 */
export class AdmittingCache<V> {
  readonly #cache: BoundedCache<V>;
  readonly #seen: Uint32Array;
  /** Per slot, how many of the cached keys hash to it. */
  readonly #held: Uint32Array;

  constructor(readonly max: number) {
    this.#cache = new BoundedCache(max);
    const slots = max === 0 ? 0 : 2 ** Math.ceil(Math.log2(2 * max));
    this.#seen = new Uint32Array(slots);
    this.#held = new Uint32Array(slots);
  }

  get(key: string): V | undefined {
    if (this.max === 0 || this.#held[this.#slot(hash32(key))] === 0) return undefined;
    return this.#cache.get(key);
  }

  /**
   * Keeps the value `make` returns if `key` was offered recently; otherwise remembers the offer
   * (and `make` is not called: a value only for the cache is made only when kept).
   */
  offer(key: string, make: () => V): void {
    if (this.max === 0) return;
    const hash = hash32(key);
    const slot = this.#slot(hash);
    const tag = (hash | 1) >>> 0; // never 0, the empty slot
    if (this.#seen[slot] === tag) {
      this.#seen[slot] = 0;
      const fresh = this.#cache.get(key) === undefined;
      const evicted = this.#cache.set(key, make());
      if (fresh) this.#held[slot]!++;
      if (evicted !== undefined) this.#held[this.#slot(hash32(evicted))]!--;
    } else {
      this.#seen[slot] = tag;
    }
  }

  #slot(hash: number): number {
    return hash & (this.#seen.length - 1);
  }
}

/**
 * FNV-1a over the UTF-16 code units (a table index, not a security boundary: a chosen collision
 * only admits an answer early).
 */
function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
