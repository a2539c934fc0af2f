// One conformance suite for every KeyBackend (the node-webcrypto-p11 lesson: the software and
// the hardware backend must be interchangeable). Each backend's test file calls
// `describeKeyBackendConformance` with a factory; nothing here knows which backend it runs.
import { createPublicKey, verify as nodeVerify, createECDH } from 'node:crypto';
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { SigilError, keyIdOf, type KeyBackend } from '@sigil/sdk';

export interface ConformanceTarget {
  readonly backend: KeyBackend;
  /** Proves, by the backend's own means, that the private key cannot be read out. */
  readonly assertPrivateKeyUnexportable: (ref: Awaited<ReturnType<KeyBackend['generateKeyPair']>>) => Promise<void>;
  readonly close?: () => Promise<void>;
}

export function spkiFromRaw(raw: Uint8Array) {
  // SubjectPublicKeyInfo prefix for id-ecPublicKey / prime256v1 (RFC 5480 §2).
  const prefix = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');
  return createPublicKey({ key: Buffer.concat([prefix, Buffer.from(raw)]), format: 'der', type: 'spki' });
}

export function describeKeyBackendConformance(name: string, open: () => Promise<ConformanceTarget>): void {
  describe(`KeyBackend conformance: ${name}`, () => {
    let t: ConformanceTarget;
    beforeAll(async () => {
      t = await open();
    });
    afterAll(async () => {
      await t?.close?.();
    });

    it('generates P-256 keys whose id is keyIdOf(publicKey)', async () => {
      for (const usage of ['sign', 'agree'] as const) {
        const ref = await t.backend.generateKeyPair({ usage, label: `conf-${usage}` });
        expect(ref.usage).toBe(usage);
        expect(ref.label).toBe(`conf-${usage}`);
        expect(ref.publicKey).toBeInstanceOf(Uint8Array);
        expect(ref.publicKey.length).toBe(65);
        expect(ref.publicKey[0]).toBe(4);
        expect(ref.id).toBe(await keyIdOf(ref.publicKey));
        expect(() => spkiFromRaw(ref.publicKey)).not.toThrow();
      }
    });

    it('signs with ECDSA P-256/SHA-256 in IEEE P1363 form that node:crypto verifies', async () => {
      const ref = await t.backend.generateKeyPair({ usage: 'sign', label: 'conf-sign' });
      const data = new TextEncoder().encode('conformance message');
      const sig = await t.backend.sign(ref, data);
      expect(sig.length).toBe(64);
      const pub = spkiFromRaw(ref.publicKey);
      expect(nodeVerify('sha256', data, { key: pub, dsaEncoding: 'ieee-p1363' }, sig)).toBe(true);
      const other = new TextEncoder().encode('conformance messagE');
      expect(nodeVerify('sha256', other, { key: pub, dsaEncoding: 'ieee-p1363' }, sig)).toBe(false);
    });

    it('derives the ECDH shared secret that the peer derives', async () => {
      const ref = await t.backend.generateKeyPair({ usage: 'agree', label: 'conf-agree' });
      const peer = createECDH('prime256v1');
      const peerPublic = new Uint8Array(peer.generateKeys());
      const secret = await t.backend.deriveSharedSecret(ref, peerPublic);
      expect(secret.length).toBe(32);
      expect(Buffer.from(secret).equals(peer.computeSecret(Buffer.from(ref.publicKey)))).toBe(true);
    });

    it('rejects malformed peer keys with E_BAD_PUBLIC_KEY', async () => {
      const ref = await t.backend.generateKeyPair({ usage: 'agree', label: 'conf-agree-bad' });
      const peer = createECDH('prime256v1');
      peer.generateKeys();
      const compressed = new Uint8Array(peer.getPublicKey(undefined, 'compressed'));
      const offCurve = new Uint8Array(peer.getPublicKey());
      offCurve[64] = offCurve[64]! ^ 1;
      for (const bad of [compressed, offCurve, new Uint8Array(65), new Uint8Array(64), new Uint8Array(0)]) {
        await expect(t.backend.deriveSharedSecret(ref, bad)).rejects.toSatisfy((e) => SigilError.is(e, 'E_BAD_PUBLIC_KEY'));
      }
    });

    it('refuses to use a key for the other purpose (E_KEY_USAGE)', async () => {
      const signer = await t.backend.generateKeyPair({ usage: 'sign', label: 'conf-usage-s' });
      const agreer = await t.backend.generateKeyPair({ usage: 'agree', label: 'conf-usage-a' });
      await expect(t.backend.deriveSharedSecret(signer, agreer.publicKey)).rejects.toSatisfy((e) => SigilError.is(e, 'E_KEY_USAGE'));
      await expect(t.backend.sign(agreer, new Uint8Array(1))).rejects.toSatisfy((e) => SigilError.is(e, 'E_KEY_USAGE'));
    });

    it('finds keys by id and label, lists them, and deletes them', async () => {
      const label = `conf-find-${Math.random().toString(36).slice(2)}`;
      const a = await t.backend.generateKeyPair({ usage: 'sign', label });
      const b = await t.backend.generateKeyPair({ usage: 'agree', label });
      const found = await t.backend.getKey(a.id);
      expect(found?.id).toBe(a.id);
      expect(found?.usage).toBe('sign');
      expect(Buffer.from(found!.publicKey).equals(Buffer.from(a.publicKey))).toBe(true);
      const byLabel = await t.backend.listKeys({ label });
      expect(byLabel.map((r) => r.id).sort()).toEqual([a.id, b.id].sort());
      expect((await t.backend.listKeys({ label, usage: 'agree' })).map((r) => r.id)).toEqual([b.id]);
      await t.backend.deleteKey(a);
      expect(await t.backend.getKey(a.id)).toBeUndefined();
      await expect(t.backend.sign(a, new Uint8Array(1))).rejects.toSatisfy((e) => SigilError.is(e, 'E_KEY_NOT_FOUND'));
      await t.backend.deleteKey(a); // idempotent
      expect(await t.backend.getKey('00'.repeat(16))).toBeUndefined();
    });

    it('describes every key type as non-extractable and sensitive, and proves it', async () => {
      for (const usage of ['sign', 'agree'] as const) {
        const ref = await t.backend.generateKeyPair({ usage, label: `conf-desc-${usage}` });
        const d = await t.backend.describeKey(ref);
        expect(d.extractable).toBe(false);
        expect(d.sensitive).toBe(true);
        expect(typeof d.hardware).toBe('boolean');
        await t.assertPrivateKeyUnexportable(ref);
      }
    });

    it('serves many concurrent callers correctly', async () => {
      const signer = await t.backend.generateKeyPair({ usage: 'sign', label: 'conf-conc-s' });
      const agreer = await t.backend.generateKeyPair({ usage: 'agree', label: 'conf-conc-a' });
      const pub = spkiFromRaw(signer.publicKey);
      const peers = Array.from({ length: 16 }, () => {
        const e = createECDH('prime256v1');
        e.generateKeys();
        return e;
      });
      const results = await Promise.all(
        peers.flatMap((peer, i) => [
          t.backend.sign(signer, new Uint8Array([i])).then((sig) => nodeVerify('sha256', new Uint8Array([i]), { key: pub, dsaEncoding: 'ieee-p1363' }, sig)),
          t.backend
            .deriveSharedSecret(agreer, new Uint8Array(peer.getPublicKey()))
            .then((s) => Buffer.from(s).equals(peer.computeSecret(Buffer.from(agreer.publicKey)))),
        ]),
      );
      expect(results.every(Boolean)).toBe(true);
      expect(results.length).toBe(32);
    });

    it('rejects caller misuse with TypeError/RangeError', async () => {
      await expect(t.backend.generateKeyPair({ usage: 'encrypt' as never, label: 'x' })).rejects.toBeInstanceOf(TypeError);
      await expect(t.backend.generateKeyPair({ usage: 'sign', label: '' })).rejects.toBeInstanceOf(RangeError);
    });
  });
}
