// The lookup answers' caches (directory/lookup-cache.ts).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AdmittingCache, BoundedCache } from '../src/directory/lookup-cache.js';

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

describe('AdmittingCache', () => {
  it('keeps a value the second time its key is offered, and serves it', () => {
    const cache = new AdmittingCache<number>(100);
    cache.offer('alice', () => 1);
    expect(cache.get('alice')).toBeUndefined();
    cache.offer('alice', () => 2);
    expect(cache.get('alice')).toBe(2);
  });
  it('keeps none of a stream of keys offered once each, and at most max of those offered twice', () => {
    const cache = new AdmittingCache<number>(50);
    for (let i = 0; i < 10_000; i++) cache.offer(`once-${i}`, () => i);
    const kept = Array.from({ length: 10_000 }, (_, i) => cache.get(`once-${i}`)).filter((v) => v !== undefined);
    expect(kept.length).toBeLessThan(10); // only slot collisions of equal hashes, which 32-bit hashes make rare
    for (let i = 0; i < 200; i++) {
      cache.offer(`twice-${i}`, () => i);
      cache.offer(`twice-${i}`, () => i);
    }
    const twice = Array.from({ length: 200 }, (_, i) => cache.get(`twice-${i}`)).filter((v) => v !== undefined);
    expect(twice).toEqual(Array.from({ length: 50 }, (_, i) => 150 + i)); // the newest 50
  });
  it('makes a value only when it keeps one', () => {
    const cache = new AdmittingCache<number>(10);
    let made = 0;
    const make = () => ++made;
    cache.offer('a', make);
    expect(made).toBe(0);
    cache.offer('a', make);
    expect([made, cache.get('a')]).toEqual([1, 1]);
  });
  it('serves exactly what it keeps: its check of which slots hold a key never hides one (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 400 }), (max, offers) => {
        const cache = new AdmittingCache<number>(max);
        // What it should hold: the values it made, in a BoundedCache of the same size (tested above).
        const model = new BoundedCache<number>(max);
        let made = 0;
        for (const k of offers) {
          cache.offer(`acct-${k}`, () => {
            model.set(`acct-${k}`, ++made);
            return made;
          });
          for (let key = 0; key <= 40; key++) expect(cache.get(`acct-${key}`)).toBe(model.get(`acct-${key}`));
        }
      }),
      { numRuns: 200 },
    );
  });
  it('holds nothing with max 0', () => {
    const cache = new AdmittingCache<number>(0);
    cache.offer('a', () => 1);
    cache.offer('a', () => 1);
    expect(cache.get('a')).toBeUndefined();
  });
});
