// BoundedCache: the lookup answers' cache (directory/account-view.ts).
import { describe, expect, it } from 'vitest';
import { BoundedCache } from '../src/directory/account-view.js';

describe('BoundedCache', () => {
  it('keeps at most max entries and forgets the oldest first', () => {
    const cache = new BoundedCache<number>(3);
    for (let i = 0; i < 10; i++) {
      cache.set(`k${i}`, i);
      const kept = Array.from({ length: 10 }, (_, j) => cache.get(`k${j}`)).filter((v) => v !== undefined);
      expect(kept).toEqual(Array.from({ length: Math.min(i + 1, 3) }, (_, j) => i - Math.min(i, 2) + j));
    }
  });
  it('replaces the value of a key it holds without taking a second place', () => {
    const cache = new BoundedCache<string>(2);
    cache.set('a', '1');
    cache.set('a', '2');
    cache.set('b', '3');
    expect([cache.get('a'), cache.get('b')]).toEqual(['2', '3']);
    cache.set('c', '4'); // evicts a, the oldest key
    expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual([undefined, '3', '4']);
  });
  it('holds nothing with max 0', () => {
    const cache = new BoundedCache<number>(0);
    cache.set('a', 1);
    expect(cache.get('a')).toBeUndefined();
  });
});
