// HPKE base mode behaviour beyond the vectors: round trips through a KeyBackend, every tampered
// byte rejected with a typed error, bad public keys refused, caller misuse as TypeError, and
// WebCryptoKeyBackend.adoptKeyPair's policy.
import { describe, expect, it } from 'vitest';
import { SigilError, WebCryptoKeyBackend } from '@sigil/sdk';
import { keyIdOf } from '@sigil/sdk/backend';
import { HPKE_ENC_LENGTH, HPKE_SUITE_ID, HPKE_TAG_LENGTH, openBase, sealBase, setupBaseR, setupBaseS } from '../src/internal/hpke.js';

const te = new TextEncoder();
const info = te.encode('sigil test info');
const aad = te.encode('header bytes');
const plaintext = te.encode('a 32-byte content key, say......');

async function recipient() {
  const backend = new WebCryptoKeyBackend();
  const ref = await backend.generateKeyPair({ usage: 'agree', label: 'r' });
  return { backend, ref };
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (SigilError.is(e)) return e.code;
    throw e;
  }
  throw new Error('expected a SigilError, got success');
}

describe('sealBase / openBase', () => {
  it('uses suite 0x0010/0x0001/0x0002', () => {
    expect(HPKE_SUITE_ID).toEqual({ kem: 0x10, kdf: 0x01, aead: 0x02 });
  });

  it('round-trips through a WebCryptoKeyBackend; enc is 65 bytes uncompressed, ciphertext has a 16-byte tag', async () => {
    const r = await recipient();
    const sealed = await sealBase(r.ref.publicKey, info, aad, plaintext);
    expect(sealed.enc.length).toBe(HPKE_ENC_LENGTH);
    expect(sealed.enc[0]).toBe(0x04);
    expect(sealed.ciphertext.length).toBe(plaintext.length + HPKE_TAG_LENGTH);
    expect(await openBase(r, sealed.enc, info, aad, sealed.ciphertext)).toEqual(plaintext);
  });

  it('round-trips the empty plaintext and a 1 MiB one', async () => {
    const r = await recipient();
    for (const pt of [new Uint8Array(0), new Uint8Array(1 << 20).fill(7)]) {
      const sealed = await sealBase(r.ref.publicKey, info, aad, pt);
      expect(await openBase(r, sealed.enc, info, aad, sealed.ciphertext)).toEqual(pt);
    }
  });

  it('uses a fresh ephemeral key each time', async () => {
    const r = await recipient();
    const a = await sealBase(r.ref.publicKey, info, aad, plaintext);
    const b = await sealBase(r.ref.publicKey, info, aad, plaintext);
    expect(a.enc).not.toEqual(b.enc);
    expect(a.ciphertext).not.toEqual(b.ciphertext);
  });

  it('rejects every single-byte change of the ciphertext with E_AUTH_FAILED', async () => {
    const r = await recipient();
    const { enc, ciphertext } = await sealBase(r.ref.publicKey, info, aad, plaintext);
    for (let i = 0; i < ciphertext.length; i++) {
      const bad = Uint8Array.from(ciphertext);
      bad[i]! ^= 0x01;
      expect(await code(openBase(r, enc, info, aad, bad))).toBe('E_AUTH_FAILED');
    }
    expect(await code(openBase(r, enc, info, aad, ciphertext.subarray(0, HPKE_TAG_LENGTH - 1)))).toBe('E_AUTH_FAILED');
    expect(await code(openBase(r, enc, info, aad, ciphertext.subarray(0, ciphertext.length - 1)))).toBe('E_AUTH_FAILED');
  });

  it('rejects every single-byte change of enc with E_BAD_PUBLIC_KEY (off curve) or E_AUTH_FAILED', async () => {
    const r = await recipient();
    const { enc, ciphertext } = await sealBase(r.ref.publicKey, info, aad, plaintext);
    for (let i = 0; i < enc.length; i++) {
      const bad = Uint8Array.from(enc);
      bad[i]! ^= 0x01;
      expect(['E_BAD_PUBLIC_KEY', 'E_AUTH_FAILED']).toContain(await code(openBase(r, bad, info, aad, ciphertext)));
    }
    // The format byte and the y coordinate never give a valid point of another message.
    const compressed = Uint8Array.of(0x02 | (enc[64]! & 1), ...enc.subarray(1, 33));
    expect(await code(openBase(r, compressed, info, aad, ciphertext))).toBe('E_BAD_PUBLIC_KEY');
    expect(await code(openBase(r, enc.subarray(0, 64), info, aad, ciphertext))).toBe('E_BAD_PUBLIC_KEY');
    expect(await code(openBase(r, new Uint8Array(65), info, aad, ciphertext))).toBe('E_BAD_PUBLIC_KEY');
  });

  it('binds info and aad', async () => {
    const r = await recipient();
    const { enc, ciphertext } = await sealBase(r.ref.publicKey, info, aad, plaintext);
    expect(await code(openBase(r, enc, te.encode('other info'), aad, ciphertext))).toBe('E_AUTH_FAILED');
    expect(await code(openBase(r, enc, info, te.encode('other aad'), ciphertext))).toBe('E_AUTH_FAILED');
  });

  it('fails with E_AUTH_FAILED for another recipient', async () => {
    const r = await recipient();
    const other = await recipient();
    const { enc, ciphertext } = await sealBase(r.ref.publicKey, info, aad, plaintext);
    expect(await code(openBase(other, enc, info, aad, ciphertext))).toBe('E_AUTH_FAILED');
  });

  it('refuses a recipient public key that is not an uncompressed P-256 point (E_BAD_PUBLIC_KEY)', async () => {
    const r = await recipient();
    const pk = r.ref.publicKey;
    const offCurve = Uint8Array.from(pk);
    offCurve[64]! ^= 1;
    const compressed = Uint8Array.of(0x02 | (pk[64]! & 1), ...pk.subarray(1, 33));
    for (const bad of [offCurve, compressed, pk.subarray(0, 64), new Uint8Array(65), Uint8Array.of(0)]) {
      expect(await code(sealBase(bad, info, aad, plaintext))).toBe('E_BAD_PUBLIC_KEY');
    }
  });

  it('refuses a sign key for decapsulation (E_KEY_USAGE) and a deleted key (E_KEY_NOT_FOUND)', async () => {
    const r = await recipient();
    const { enc, ciphertext } = await sealBase(r.ref.publicKey, info, aad, plaintext);
    const signKey = await r.backend.generateKeyPair({ usage: 'sign', label: 's' });
    expect(await code(openBase({ backend: r.backend, ref: signKey }, enc, info, aad, ciphertext))).toBe('E_KEY_USAGE');
    await r.backend.deleteKey(r.ref);
    expect(await code(openBase(r, enc, info, aad, ciphertext))).toBe('E_KEY_NOT_FOUND');
  });

  it('throws TypeError for arguments that are not bytes', async () => {
    const r = await recipient();
    await expect(sealBase('pk' as unknown as Uint8Array, info, aad, plaintext)).rejects.toBeInstanceOf(TypeError);
    await expect(sealBase(r.ref.publicKey, info, aad, null as unknown as Uint8Array)).rejects.toBeInstanceOf(TypeError);
    await expect(openBase(r, [] as unknown as Uint8Array, info, aad, plaintext)).rejects.toBeInstanceOf(TypeError);
  });

  it('sequence-numbered contexts: in-order messages open, a replayed or skipped one does not', async () => {
    const r = await recipient();
    const { enc, context: s } = await setupBaseS(r.ref.publicKey, info);
    const c0 = await s.seal(aad, te.encode('zero'));
    const c1 = await s.seal(aad, te.encode('one'));
    const c2 = await s.seal(aad, te.encode('two'));
    const recv = await setupBaseR(r, enc, info);
    expect(await recv.open(aad, c0)).toEqual(te.encode('zero'));
    expect(await code(recv.open(aad, c0))).toBe('E_AUTH_FAILED'); // replay
    expect(await code(recv.open(aad, c2))).toBe('E_AUTH_FAILED'); // skip
    expect(await recv.open(aad, c1)).toEqual(te.encode('one')); // a failure does not advance
    expect(await recv.open(aad, c2)).toEqual(te.encode('two'));
    expect(await s.export(te.encode('ctx'), 32)).toEqual(await recv.export(te.encode('ctx'), 32));
  });
});

describe('WebCryptoKeyBackend.adoptKeyPair', () => {
  const subtle = globalThis.crypto.subtle;

  it('adopts a non-extractable ECDH pair; the ref id is keyIdOf(public key) and HPKE opens with it', async () => {
    const pair = (await subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits'])) as CryptoKeyPair;
    const backend = new WebCryptoKeyBackend();
    const ref = await backend.adoptKeyPair({ ...pair, usage: 'agree', label: 'adopted' });
    const raw = new Uint8Array(await subtle.exportKey('raw', pair.publicKey));
    expect(ref.publicKey).toEqual(raw);
    expect(ref.id).toBe(await keyIdOf(raw));
    expect(await backend.getKey(ref.id)).toBe(ref);
    expect(await backend.describeKey(ref)).toEqual({ extractable: false, sensitive: true, hardware: false });
    const sealed = await sealBase(ref.publicKey, info, aad, plaintext);
    expect(await openBase({ backend, ref }, sealed.enc, info, aad, sealed.ciphertext)).toEqual(plaintext);
  });

  it('adopts a non-extractable ECDSA pair as a sign key', async () => {
    const pair = (await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify'])) as CryptoKeyPair;
    const backend = new WebCryptoKeyBackend();
    const ref = await backend.adoptKeyPair({ ...pair, usage: 'sign', label: 'adopted' });
    const sig = await backend.sign(ref, plaintext);
    expect(await subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, pair.publicKey, sig as Uint8Array<ArrayBuffer>, plaintext)).toBe(true);
  });

  it('refuses an extractable private key with E_KEY_POLICY', async () => {
    const pair = (await subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits'])) as CryptoKeyPair;
    expect(await code(new WebCryptoKeyBackend().adoptKeyPair({ ...pair, usage: 'agree', label: 'x' }))).toBe('E_KEY_POLICY');
  });

  it('refuses a key whose algorithm, curve or usages do not fit the usage with E_KEY_USAGE', async () => {
    const backend = new WebCryptoKeyBackend();
    const ecdh = (await subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits'])) as CryptoKeyPair;
    expect(await code(backend.adoptKeyPair({ ...ecdh, usage: 'sign', label: 'x' }))).toBe('E_KEY_USAGE');
    const p384 = (await subtle.generateKey({ name: 'ECDH', namedCurve: 'P-384' }, false, ['deriveBits'])) as CryptoKeyPair;
    expect(await code(backend.adoptKeyPair({ ...p384, usage: 'agree', label: 'x' }))).toBe('E_KEY_USAGE');
    const deriveKeyOnly = (await subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveKey'])) as CryptoKeyPair;
    expect(await code(backend.adoptKeyPair({ ...deriveKeyOnly, usage: 'agree', label: 'x' }))).toBe('E_KEY_USAGE');
  });

  it('throws TypeError for a missing key or bad options', async () => {
    const backend = new WebCryptoKeyBackend();
    const pair = (await subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits'])) as CryptoKeyPair;
    await expect(backend.adoptKeyPair({ privateKey: {} as CryptoKey, publicKey: pair.publicKey, usage: 'agree', label: 'x' })).rejects.toBeInstanceOf(TypeError);
    await expect(backend.adoptKeyPair({ ...pair, usage: 'both' as 'agree', label: 'x' })).rejects.toBeInstanceOf(TypeError);
    // Halves swapped: a public key where the private one belongs.
    await expect(backend.adoptKeyPair({ privateKey: pair.publicKey, publicKey: pair.privateKey, usage: 'agree', label: 'x' })).rejects.toBeInstanceOf(TypeError);
    await expect(backend.adoptKeyPair({ ...pair, usage: 'agree', label: '' })).rejects.toBeInstanceOf(RangeError);
  });
});
