// The PRF key-encryption keys, checked in Node against an independent composition on node:crypto
// (hkdfSync + AES-256-GCM): the derivation and the sealed format are what docs say, byte for byte.
import { createDecipheriv, createHash, hkdfSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PRF_KEK_INFO, derivePrfKek, derivePrfKeks, openWithPrfKek, prfSalt, sealWithPrfKek, type PrfPurpose } from '@sigil/sdk/browser';

const prfOutput = Uint8Array.from({ length: 32 }, (_, i) => i * 7 + 1);

function aad(purpose: PrfPurpose, account: string): Buffer {
  const info = Buffer.from(PRF_KEK_INFO[purpose]);
  const acc = Buffer.from(account);
  return Buffer.concat([Buffer.from('sigil/v1 prf-sealed'), Buffer.from([0, 1, info.length]), info, Buffer.from([acc.length >> 8, acc.length & 255]), acc]);
}

function openIndependently(prf: Uint8Array, purpose: PrfPurpose, account: string, sealed: Uint8Array): Buffer {
  const key = Buffer.from(hkdfSync('sha256', prf, new Uint8Array(0), PRF_KEK_INFO[purpose], 32));
  const nonce = sealed.subarray(1, 13);
  const body = sealed.subarray(13, sealed.length - 16);
  const tag = sealed.subarray(sealed.length - 16);
  const d = createDecipheriv('aes-256-gcm', key, nonce);
  d.setAAD(aad(purpose, account));
  d.setAuthTag(tag);
  return Buffer.concat([d.update(body), d.final()]);
}

describe('PRF KEKs', () => {
  it('the salt is SHA-256("sigil/v1 prf-salt"), a fresh copy each time', () => {
    const expected = new Uint8Array(createHash('sha256').update('sigil/v1 prf-salt').digest());
    const s = prfSalt();
    expect(s).toEqual(expected);
    s.fill(0);
    expect(prfSalt()).toEqual(expected);
  });

  it('derives non-extractable AES-256-GCM keys; sealed blobs open with node:crypto HKDF + AES-GCM', async () => {
    const keks = await derivePrfKeks(prfOutput);
    for (const [kek, purpose] of [
      [keks.localCache, 'local-cache'],
      [keks.passkeyBackup, 'passkey-backup'],
    ] as const) {
      expect(kek.purpose).toBe(purpose);
      expect(kek.key.extractable).toBe(false);
      expect(kek.key.algorithm).toEqual({ name: 'AES-GCM', length: 256 });
      const plaintext = new TextEncoder().encode(`cache for ${purpose}`);
      const sealed = await sealWithPrfKek(kek, plaintext, { account: 'alice@example.org' });
      expect(sealed[0]).toBe(1);
      expect(sealed.length).toBe(1 + 12 + plaintext.length + 16);
      expect(new Uint8Array(openIndependently(prfOutput, purpose, 'alice@example.org', sealed))).toEqual(plaintext);
      expect(await openWithPrfKek(kek, sealed, { account: 'alice@example.org' })).toEqual(plaintext);
    }
  });

  it('round-trips any bytes; another PRF output, purpose or account does not open', async () => {
    const kek = await derivePrfKek(prfOutput, 'local-cache');
    const again = await derivePrfKek(Uint8Array.from(prfOutput), 'local-cache');
    const otherPrf = await derivePrfKek(Uint8Array.from(prfOutput, (b, i) => (i === 31 ? b ^ 1 : b)), 'local-cache');
    const otherPurpose = await derivePrfKek(prfOutput, 'passkey-backup');
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 256 }), fc.stringMatching(/^[!-~]{1,40}$/), async (data, account) => {
        const sealed = await sealWithPrfKek(kek, data, { account });
        expect(await openWithPrfKek(again, sealed, { account })).toEqual(data);
        await expect(openWithPrfKek(otherPrf, sealed, { account })).rejects.toMatchObject({ code: 'E_AUTH_FAILED' });
        await expect(openWithPrfKek(otherPurpose, sealed, { account })).rejects.toMatchObject({ code: 'E_AUTH_FAILED' });
        await expect(openWithPrfKek(kek, sealed, { account: `${account}x` })).rejects.toMatchObject({ code: 'E_AUTH_FAILED' });
      }),
      { numRuns: 50 },
    );
  });

  it('rejects every changed byte and every truncation', async () => {
    const kek = await derivePrfKek(prfOutput, 'passkey-backup');
    const sealed = await sealWithPrfKek(kek, new Uint8Array(20).fill(0xab), { account: 'a' });
    for (let i = 0; i < sealed.length; i++) {
      for (const bit of [0x01, 0x80]) {
        const bad = Uint8Array.from(sealed);
        bad[i] = (bad[i] as number) ^ bit;
        await expect(openWithPrfKek(kek, bad, { account: 'a' })).rejects.toMatchObject({ code: i === 0 ? 'E_FORMAT' : 'E_AUTH_FAILED' });
      }
    }
    for (let n = 0; n < sealed.length; n++) {
      await expect(openWithPrfKek(kek, sealed.subarray(0, n), { account: 'a' })).rejects.toMatchObject({
        code: n < 29 ? 'E_FORMAT' : 'E_AUTH_FAILED',
      });
    }
  });

  it('the nonce is fresh per seal', async () => {
    const kek = await derivePrfKek(prfOutput, 'local-cache');
    const nonces = new Set<string>();
    for (let i = 0; i < 64; i++) nonces.add(Buffer.from((await sealWithPrfKek(kek, new Uint8Array(1), { account: 'a' })).subarray(1, 13)).toString('hex'));
    expect(nonces.size).toBe(64);
  });

  it('misuse is a TypeError or RangeError', async () => {
    await expect(derivePrfKek(new Uint8Array(31), 'local-cache')).rejects.toThrow(RangeError);
    await expect(derivePrfKeks(new Uint8Array(33))).rejects.toThrow(RangeError);
    await expect(derivePrfKek([1, 2] as unknown as Uint8Array, 'local-cache')).rejects.toThrow(TypeError);
    await expect(derivePrfKek(prfOutput, 'toString' as PrfPurpose)).rejects.toThrow(TypeError);
    const kek = await derivePrfKek(prfOutput, 'local-cache');
    await expect(sealWithPrfKek(kek, new Uint8Array(1), { account: '' })).rejects.toThrow(RangeError);
    await expect(sealWithPrfKek(kek, new Uint8Array(1), { account: 'x'.repeat(256) })).rejects.toThrow(RangeError);
    await expect(sealWithPrfKek(kek, 'text' as unknown as Uint8Array, { account: 'a' })).rejects.toThrow(TypeError);
    await expect(sealWithPrfKek({ purpose: 'local-cache', key: {} } as never, new Uint8Array(1), { account: 'a' })).rejects.toThrow(TypeError);
  });
});
