// The sealed user-key chain of the local cache and the passkey backup (browser/key-chain.ts), in
// Node's WebCrypto: round trip, strict parsing, and every changed byte or other account/purpose
// refused.
import { describe, expect, it } from 'vitest';
import { derivePrfKeks, sealWithPrfKek } from '@sigil/sdk/browser';
import { decodeUserKeyChain, encodeUserKeyChain, openUserKeyChain } from '../src/browser/key-chain.js';

const entry = (epoch: number) => ({ epoch, privateKey: crypto.getRandomValues(new Uint8Array(32)) });

async function keks(seed: number) {
  return derivePrfKeks(new Uint8Array(32).fill(seed));
}

describe('user-key chain encoding', () => {
  it('round-trips, sorted by epoch', () => {
    const entries = [entry(3), entry(1), entry(2)];
    const bytes = encodeUserKeyChain(entries);
    expect(bytes.length).toBe(3 + 3 * 36);
    const back = decodeUserKeyChain(bytes);
    expect(back.map((e) => e.epoch)).toEqual([1, 2, 3]);
    for (const e of back) expect(e.privateKey).toEqual(entries.find((x) => x.epoch === e.epoch)!.privateKey);
    expect(decodeUserKeyChain(encodeUserKeyChain([]))).toEqual([]);
  });

  it('refuses misuse when encoding', () => {
    expect(() => encodeUserKeyChain([entry(1), entry(1)])).toThrow(RangeError);
    expect(() => encodeUserKeyChain([entry(0)])).toThrow(RangeError);
    expect(() => encodeUserKeyChain([{ epoch: 1, privateKey: new Uint8Array(31) }])).toThrow(RangeError);
    expect(() => encodeUserKeyChain(Array.from({ length: 1501 }, (_, i) => entry(i + 1)))).toThrow(RangeError);
  });

  it('refuses every malformed chain with E_FORMAT', () => {
    const good = encodeUserKeyChain([entry(1), entry(2)]);
    const cases: Uint8Array[] = [new Uint8Array(0), good.slice(0, 2), good.slice(0, good.length - 1), Uint8Array.of(...good, 0)];
    const v2 = good.slice();
    v2[0] = 2;
    const unsorted = good.slice();
    unsorted.set(good.subarray(3, 3 + 36), 3 + 36); // two entries of epoch 1
    const zero = encodeUserKeyChain([entry(1)]);
    zero.fill(0, 3, 7); // epoch 0
    cases.push(v2, unsorted, zero);
    for (const c of cases) expect(() => decodeUserKeyChain(c)).toThrow(expect.objectContaining({ code: 'E_FORMAT' }));
  });
});

describe('sealed chain', () => {
  it('opens only with the same key, purpose and account; any changed byte is refused', async () => {
    const k = await keks(7);
    const other = await keks(8);
    const plain = encodeUserKeyChain([entry(1), entry(2)]);
    const sealed = await sealWithPrfKek(k.passkeyBackup, plain, { account: 'alice@example.org' });
    expect(await openUserKeyChain(k.passkeyBackup, sealed, 'alice@example.org')).toHaveLength(2);

    const refused = async (p: Promise<unknown>) => (await p.then(() => undefined, (e: { code?: string }) => e.code)) ?? 'opened';
    expect(await refused(openUserKeyChain(k.passkeyBackup, sealed, 'mallory@example.org'))).toBe('E_AUTH_FAILED');
    expect(await refused(openUserKeyChain(k.localCache, sealed, 'alice@example.org'))).toBe('E_AUTH_FAILED');
    expect(await refused(openUserKeyChain(other.passkeyBackup, sealed, 'alice@example.org'))).toBe('E_AUTH_FAILED');
    for (let i = 0; i < sealed.length; i++) {
      const bad = sealed.slice();
      bad[i]! ^= 0x80;
      expect(await refused(openUserKeyChain(k.passkeyBackup, bad, 'alice@example.org'))).toBe(i === 0 ? 'E_FORMAT' : 'E_AUTH_FAILED');
    }
    expect(await refused(openUserKeyChain(k.passkeyBackup, sealed.slice(0, 28), 'alice@example.org'))).toBe('E_FORMAT');
    // Sealed bytes authenticate but are no chain: E_FORMAT after authentication.
    const junk = await sealWithPrfKek(k.passkeyBackup, Uint8Array.of(1, 0, 1), { account: 'alice@example.org' });
    expect(await refused(openUserKeyChain(k.passkeyBackup, junk, 'alice@example.org'))).toBe('E_FORMAT');
  });
});
