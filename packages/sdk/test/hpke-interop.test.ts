// Dev-only cross-check of Sigil's HPKE against an independent implementation, @hpke/core
// (a dev dependency, never bundled): seal with ours and open with theirs, and the reverse,
// for several plaintext sizes, with info and aad.
import { Aes256Gcm, CipherSuite, DhkemP256HkdfSha256, HkdfSha256 } from '@hpke/core';
import { describe, expect, it } from 'vitest';
import { WebCryptoKeyBackend } from '@sigil/sdk';
import { openBase, sealBase } from '../src/internal/hpke.js';
import { adoptVectorKey } from '../../../test/support/vectors.js';

const suite = new CipherSuite({ kem: new DhkemP256HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes256Gcm() });
const te = new TextEncoder();
const sizes = [0, 1, 32, 1000, 65_536];

describe('HPKE interop with @hpke/core (DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-256-GCM)', () => {
  it('ours seals, @hpke/core opens', async () => {
    const pair = await suite.kem.generateKeyPair();
    const pkR = new Uint8Array(await suite.kem.serializePublicKey(pair.publicKey));
    for (const size of sizes) {
      const pt = crypto.getRandomValues(new Uint8Array(size));
      const info = te.encode(`info ${size}`);
      const aad = te.encode(`aad ${size}`);
      const sealed = await sealBase(pkR, info, aad, pt);
      const opened = await suite.open({ recipientKey: pair, enc: sealed.enc, info }, sealed.ciphertext, aad);
      expect(new Uint8Array(opened)).toEqual(pt);
    }
  });

  it('@hpke/core seals, ours opens through a WebCryptoKeyBackend', async () => {
    const backend = new WebCryptoKeyBackend();
    const ref = await backend.generateKeyPair({ usage: 'agree', label: 'interop' });
    const recipientPublicKey = await suite.kem.deserializePublicKey(ref.publicKey);
    for (const size of sizes) {
      const pt = crypto.getRandomValues(new Uint8Array(size));
      const info = te.encode(`info ${size}`);
      const aad = te.encode(`aad ${size}`);
      const { ct: ciphertext, enc } = await suite.seal({ recipientPublicKey, info }, pt, aad);
      expect(await openBase({ backend, ref }, new Uint8Array(enc), info, aad, new Uint8Array(ciphertext))).toEqual(pt);
    }
  });

  it('both derive the same key pair from the same ikm (DeriveKeyPair) and agree on a deterministic seal', async () => {
    const ikmR = crypto.getRandomValues(new Uint8Array(32));
    const theirs = await suite.kem.deriveKeyPair(ikmR.buffer);
    const pkR = new Uint8Array(await suite.kem.serializePublicKey(theirs.publicKey));
    const { deriveKeyPair } = await import('../src/internal/hpke.js');
    const ours = await deriveKeyPair(ikmR);
    expect(ours.publicKey).toEqual(pkR);
    const backend = new WebCryptoKeyBackend();
    const ref = await adoptVectorKey(backend, ours.privateKey, ours.publicKey);
    const { ct: ciphertext, enc } = await suite.seal({ recipientPublicKey: theirs.publicKey, info: te.encode('i') }, te.encode('hello'), te.encode('a'));
    expect(await openBase({ backend, ref }, new Uint8Array(enc), te.encode('i'), te.encode('a'), new Uint8Array(ciphertext))).toEqual(te.encode('hello'));
  });
});
