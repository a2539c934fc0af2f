// Pkcs11KeyBackend on a throwaway SoftHSM token: the shared KeyBackend conformance suite, then
// what only a token has (policy on foreign keys, faults, persistence, wrapping keys, verify).
import { createECDH, createPublicKey, generateKeyPairSync, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pkcs11js from 'pkcs11js';
import type { KeyRef } from '@sigil/sdk/backend';
import { SigilError } from '@sigil/sdk/errors';
import { Pkcs11KeyBackend } from '@sigil/hsm-adapter';
import { describeKeyBackendConformance } from '@sigil/sdk/testing';
import { spkiFromRaw } from './support/spki.js';
import { assertUnexportableOnToken, assertWrappingKeyUnexportableOnToken, ckrThrownBy, createSoftHsmTestToken, findByCkaId, importTestKeyToToken, withTokenSession, type SoftHsmTestToken } from './support/softhsm.js';

let token: SoftHsmTestToken;
// A second token that nothing in this process logs in to before the wrong-PIN tests.
const fresh = { label: 'sigil-fresh', pin: '246810' };

beforeAll(async () => {
  token = await createSoftHsmTestToken({ label: 'sigil-backend-test' });
  await token.addToken(fresh);
});
afterAll(async () => {
  await token?.remove();
});

const open = (extra: Partial<Parameters<typeof Pkcs11KeyBackend.open>[0]> = {}) =>
  Pkcs11KeyBackend.open({ ...token.location, ...extra });

const isCode = (code: SigilError['code']) => (e: unknown) => SigilError.is(e, code);
const text = (s: string) => new TextEncoder().encode(s);

describeKeyBackendConformance('Pkcs11KeyBackend (SoftHSM)', async () => {
  const backend = await open();
  return {
    backend,
    close: () => backend.close(),
    assertPrivateKeyUnexportable: async (ref: KeyRef) => assertUnexportableOnToken(token, ref.id),
    assertWrappingKeyUnexportable: async (ref: { readonly id: string }) => assertWrappingKeyUnexportableOnToken(token, ref.id),
  };
});

// The default execution ('auto') runs a lone caller on the calling thread and starts worker
// threads for concurrent callers (covered in pkcs11-workers.test.ts); 'thread' never does.
describeKeyBackendConformance("Pkcs11KeyBackend (SoftHSM, execution: 'thread')", async () => {
  const backend = await open({ execution: 'thread' });
  return {
    backend,
    close: () => backend.close(),
    assertPrivateKeyUnexportable: async (ref: KeyRef) => assertUnexportableOnToken(token, ref.id),
    assertWrappingKeyUnexportable: async (ref: { readonly id: string }) => assertWrappingKeyUnexportableOnToken(token, ref.id),
  };
});

describe('Pkcs11KeyBackend on SoftHSM', () => {
  let keys: Pkcs11KeyBackend;
  beforeAll(async () => {
    keys = await open();
  });
  afterAll(async () => {
    await keys?.close();
  });

  describe('keys on the token', () => {
    it('sets CKA_ID to keyIdOf(publicKey) and CKA_LABEL on both halves, with one usage bit', async () => {
      for (const usage of ['sign', 'agree'] as const) {
        const ref = await keys.generateKeyPair({ usage, label: `attrs-${usage}` });
        withTokenSession(token, (lib, session) => {
          for (const cls of [pkcs11js.CKO_PRIVATE_KEY, pkcs11js.CKO_PUBLIC_KEY]) {
            const h = findByCkaId(lib, session, cls, ref.id);
            const [label] = lib.C_GetAttributeValue(session, h, [{ type: pkcs11js.CKA_LABEL }]);
            expect(label?.value.toString()).toBe(`attrs-${usage}`);
          }
          const priv = findByCkaId(lib, session, pkcs11js.CKO_PRIVATE_KEY, ref.id);
          const bits = lib.C_GetAttributeValue(session, priv, [
            { type: pkcs11js.CKA_SIGN },
            { type: pkcs11js.CKA_DERIVE },
            { type: pkcs11js.CKA_DECRYPT },
            { type: pkcs11js.CKA_UNWRAP },
          ]);
          expect(bits.map((b) => b.value[0])).toEqual(usage === 'sign' ? [1, 0, 0, 0] : [0, 1, 0, 0]);
          // The token will not let anyone weaken the key afterwards (PKCS#11 2.40 §4.9).
          expect(ckrThrownBy(() => lib.C_SetAttributeValue(session, priv, [{ type: pkcs11js.CKA_EXTRACTABLE, value: true }]))).toBe(
            pkcs11js.CKR_ATTRIBUTE_READ_ONLY,
          );
          expect(ckrThrownBy(() => lib.C_SetAttributeValue(session, priv, [{ type: pkcs11js.CKA_SENSITIVE, value: false }]))).toBe(
            pkcs11js.CKR_ATTRIBUTE_READ_ONLY,
          );
        });
      }
    });

    it('reports SoftHSM as a token, not hardware', async () => {
      const ref = await keys.generateKeyPair({ usage: 'sign', label: 'describe' });
      expect(await keys.describeKey(ref)).toEqual({ extractable: false, sensitive: true, hardware: false });
    });

    it('survives close and reopen: found by id and by label, and still signs', async () => {
      const label = `persist-${Date.now()}`;
      const other = await open();
      const ref = await other.generateKeyPair({ usage: 'sign', label });
      await other.close();
      const again = await open();
      try {
        const found = await again.getKey(ref.id);
        expect(found).toEqual(ref);
        expect((await again.listKeys({ label })).map((r) => r.id)).toEqual([ref.id]);
        const sig = await again.sign(found!, text('after reopen'));
        expect(nodeVerify('sha256', text('after reopen'), { key: spkiFromRaw(ref.publicKey), dsaEncoding: 'ieee-p1363' }, sig)).toBe(true);
      } finally {
        await again.close();
      }
    });

    it('fails with E_KEY_NOT_FOUND for a key that is not on the token, and deletes idempotently', async () => {
      const peer = createECDH('prime256v1');
      const publicKey = new Uint8Array(peer.generateKeys());
      const ghost: KeyRef = { id: 'ab'.repeat(16), usage: 'sign', label: 'ghost', publicKey };
      await expect(keys.sign(ghost, text('x'))).rejects.toSatisfy(isCode('E_KEY_NOT_FOUND'));
      await expect(keys.deriveSharedSecret({ ...ghost, usage: 'agree' }, publicKey)).rejects.toSatisfy(isCode('E_KEY_NOT_FOUND'));
      await expect(keys.describeKey(ghost)).rejects.toSatisfy(isCode('E_KEY_NOT_FOUND'));
      await expect(keys.deleteKey(ghost)).resolves.toBeUndefined();
      expect(await keys.getKey('not-an-id')).toBeUndefined();
    });

    it('notices a key deleted behind its back (stale handle) and reports E_KEY_NOT_FOUND', async () => {
      const ref = await keys.generateKeyPair({ usage: 'sign', label: 'deleted-elsewhere' });
      await keys.sign(ref, text('cache the handle'));
      withTokenSession(token, (lib, session) => {
        lib.C_DestroyObject(session, findByCkaId(lib, session, pkcs11js.CKO_PRIVATE_KEY, ref.id));
      });
      await expect(keys.sign(ref, text('again'))).rejects.toSatisfy(isCode('E_KEY_NOT_FOUND'));
    });

    it('queues callers beyond the pool size and serves them all', async () => {
      const small = await open({ sessions: 1 });
      try {
        const ref = await small.generateKeyPair({ usage: 'sign', label: 'pool-1' });
        const pub = spkiFromRaw(ref.publicKey);
        const sigs = await Promise.all(Array.from({ length: 24 }, (_, i) => small.sign(ref, new Uint8Array([i]))));
        expect(sigs.every((s, i) => nodeVerify('sha256', new Uint8Array([i]), { key: pub, dsaEncoding: 'ieee-p1363' }, s))).toBe(true);
      } finally {
        await small.close();
      }
    });

    it('gives the same answers with the *Async pkcs11js calls', async () => {
      const viaAsync = await open({ asyncCalls: true });
      try {
        const signer = await viaAsync.generateKeyPair({ usage: 'sign', label: 'async-s' });
        const agreer = await viaAsync.generateKeyPair({ usage: 'agree', label: 'async-a' });
        const sig = await viaAsync.sign(signer, text('async'));
        expect(nodeVerify('sha256', text('async'), { key: spkiFromRaw(signer.publicKey), dsaEncoding: 'ieee-p1363' }, sig)).toBe(true);
        expect(await viaAsync.verify(signer.publicKey, text('async'), sig)).toBe(true);
        const peer = createECDH('prime256v1');
        const secret = await viaAsync.deriveSharedSecret(agreer, new Uint8Array(peer.generateKeys()));
        expect(Buffer.from(secret).equals(peer.computeSecret(Buffer.from(agreer.publicKey)))).toBe(true);
        const kek = await viaAsync.generateWrappingKey({ label: 'async-kek' });
        expect(Buffer.from(await viaAsync.unwrap(kek, await viaAsync.wrap(kek, text('async wrap')))).toString()).toBe('async wrap');
      } finally {
        await viaAsync.close();
      }
    });

    it('fails with E_BACKEND_CLOSED after close, and close is idempotent', async () => {
      const b = await open();
      const ref = await b.generateKeyPair({ usage: 'sign', label: 'closed' });
      await b.close();
      await b.close();
      await expect(b.sign(ref, text('x'))).rejects.toSatisfy(isCode('E_BACKEND_CLOSED'));
      await expect(b.listKeys()).rejects.toSatisfy(isCode('E_BACKEND_CLOSED'));
    });

    it('settles every queued call when closed under load: done, or E_BACKEND_CLOSED', async () => {
      const b = await open({ sessions: 1, asyncCalls: true });
      const ref = await b.generateKeyPair({ usage: 'sign', label: 'close-under-load' });
      const calls = Promise.allSettled(Array.from({ length: 12 }, (_, i) => b.sign(ref, new Uint8Array([i]))));
      await b.close(); // waits for the call already on the token, rejects the queued ones
      const settled = await calls;
      expect(settled[0]?.status).toBe('fulfilled');
      for (const r of settled) {
        if (r.status === 'rejected') expect(SigilError.is(r.reason, 'E_BACKEND_CLOSED')).toBe(true);
      }
      expect(settled.some((r) => r.status === 'rejected')).toBe(true);
    });

    it('rejects misuse with TypeError/RangeError', async () => {
      const ref = await keys.generateKeyPair({ usage: 'sign', label: 'misuse' });
      await expect(keys.sign(ref, 'text' as never)).rejects.toBeInstanceOf(TypeError);
      await expect(keys.getKey(7 as never)).rejects.toBeInstanceOf(TypeError);
      await expect(open({ sessions: 0 })).rejects.toBeInstanceOf(RangeError);
      await expect(open({ pin: '' })).rejects.toBeInstanceOf(RangeError);
      await expect(Pkcs11KeyBackend.open({ module: token.module, token: token.label } as never)).rejects.toBeInstanceOf(TypeError);
    });
  });

  describe('policy on keys Sigil did not make', () => {
    const scalar = () => {
      const e = createECDH('prime256v1');
      e.generateKeys();
      return new Uint8Array(e.getPrivateKey());
    };

    it('uses a sensitive, non-extractable imported key', async () => {
      const imported = await importTestKeyToToken(token, { privateKey: scalar(), usage: 'sign', label: 'imported-ok' });
      const ref = await keys.getKey(imported.id);
      expect(ref?.publicKey).toEqual(imported.publicKey);
      const sig = await keys.sign(ref!, text('imported'));
      expect(nodeVerify('sha256', text('imported'), { key: spkiFromRaw(imported.publicKey), dsaEncoding: 'ieee-p1363' }, sig)).toBe(true);
    });

    it('finds a key by its public key whatever its CKA_ID', async () => {
      const imported = await importTestKeyToToken(token, {
        privateKey: scalar(),
        usage: 'agree',
        label: 'foreign-id',
        ckaId: new Uint8Array([1, 2, 3]),
      });
      const ref = await keys.getKey(imported.id);
      expect(ref?.id).toBe(imported.id);
      expect(ref?.usage).toBe('agree');
    });

    it.each([
      { name: 'extractable', attrs: { extractable: true }, usage: 'sign' as const },
      { name: 'not sensitive', attrs: { sensitive: false }, usage: 'sign' as const },
      { name: 'extractable (agreement)', attrs: { extractable: true }, usage: 'agree' as const },
      { name: 'not sensitive (agreement)', attrs: { sensitive: false }, usage: 'agree' as const },
    ])('refuses a key that is $name with E_KEY_POLICY', async ({ attrs, usage }) => {
      const imported = await importTestKeyToToken(token, { privateKey: scalar(), usage, label: 'weak', ...attrs });
      const ref = await keys.getKey(imported.id);
      expect(ref).toBeDefined();
      const d = await keys.describeKey(ref!);
      expect(d.extractable || !d.sensitive).toBe(true);
      const peer = createECDH('prime256v1');
      const peerKey = new Uint8Array(peer.generateKeys());
      const use = usage === 'sign' ? keys.sign(ref!, text('x')) : keys.deriveSharedSecret(ref!, peerKey);
      await expect(use).rejects.toSatisfy(isCode('E_KEY_POLICY'));
      await keys.deleteKey(ref!);
      expect(await keys.getKey(imported.id)).toBeUndefined();
    });

    it('refuses a key that permits both signing and derivation (one purpose per key)', async () => {
      const imported = await importTestKeyToToken(token, { privateKey: scalar(), usage: 'sign', label: 'dual' });
      withTokenSession(token, (lib, session) => {
        const priv = findByCkaId(lib, session, pkcs11js.CKO_PRIVATE_KEY, imported.id);
        lib.C_SetAttributeValue(session, priv, [{ type: pkcs11js.CKA_DERIVE, value: true }]);
      });
      const ref = await keys.getKey(imported.id);
      await expect(keys.sign(ref!, text('x'))).rejects.toSatisfy(isCode('E_KEY_POLICY'));
    });
  });

  describe('verify', () => {
    it('verifies on the token: true for a good signature, false for any change', async () => {
      const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const raw = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }).subarray(-65));
      const data = text('verify me');
      const sig = new Uint8Array(nodeSign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' }));
      expect(await keys.verify(raw, data, sig)).toBe(true);
      expect(await keys.verify(raw, text('verify mE'), sig)).toBe(false);
      for (const i of [0, 31, 32, 63]) {
        const bad = sig.slice();
        bad[i]! ^= 0x01;
        expect(await keys.verify(raw, data, bad)).toBe(false);
      }
      expect(await keys.verify(raw, data, sig.subarray(0, 63))).toBe(false);
      expect(await keys.verify(raw, data, new Uint8Array(64))).toBe(false);
      const otherKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey;
      const otherRaw = new Uint8Array(otherKey.export({ format: 'der', type: 'spki' }).subarray(-65));
      expect(await keys.verify(otherRaw, data, sig)).toBe(false);
    });

    it('verifies what the backend signed', async () => {
      const ref = await keys.generateKeyPair({ usage: 'sign', label: 'sign-verify' });
      const sig = await keys.sign(ref, text('round trip'));
      expect(await keys.verify(ref.publicKey, text('round trip'), sig)).toBe(true);
    });

    it('rejects a bad public key with E_BAD_PUBLIC_KEY', async () => {
      const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const raw = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }).subarray(-65));
      const offCurve = raw.slice();
      offCurve[64]! ^= 1;
      for (const bad of [offCurve, raw.subarray(0, 64), new Uint8Array(65)]) {
        await expect(keys.verify(bad, text('x'), new Uint8Array(64))).rejects.toSatisfy(isCode('E_BAD_PUBLIC_KEY'));
      }
      await expect(keys.verify(raw, text('x'), 'sig' as never)).rejects.toBeInstanceOf(TypeError);
    });
  });

  describe('AES-256 wrapping key', () => {
    it('has the mechanisms it needs on SoftHSM 2.6.1: CKM_AES_GCM and CKM_AES_KEY_WRAP_PAD, not CKM_ECDSA_SHA256', () => {
      withTokenSession(token, (lib, _session, slot) => {
        const mechanisms = lib.C_GetMechanismList(slot);
        expect(mechanisms).toContain(pkcs11js.CKM_AES_GCM);
        expect(mechanisms).toContain(pkcs11js.CKM_AES_KEY_WRAP_PAD);
        expect(mechanisms).not.toContain(pkcs11js.CKM_ECDSA_SHA256);
      });
    });

    it('round-trips, binds the aad, rejects every tampered byte, and persists', async () => {
      const kek = await keys.generateWrappingKey({ label: 'escrow-kek' });
      const secret = text('a backup of the user key chain');
      const aad = text('account:42');
      const wrapped = await keys.wrap(kek, secret, { aad });
      expect(wrapped.length).toBe(1 + 12 + secret.length + 16);
      expect(Buffer.from(await keys.unwrap(kek, wrapped, { aad })).equals(Buffer.from(secret))).toBe(true);
      for (let i = 0; i < wrapped.length; i++) {
        const bad = wrapped.slice();
        bad[i]! ^= 0x80;
        await expect(keys.unwrap(kek, bad, { aad })).rejects.toSatisfy(isCode('E_AUTH_FAILED'));
      }
      await expect(keys.unwrap(kek, wrapped)).rejects.toSatisfy(isCode('E_AUTH_FAILED'));
      await expect(keys.unwrap(kek, wrapped, { aad: text('account:43') })).rejects.toSatisfy(isCode('E_AUTH_FAILED'));
      await expect(keys.unwrap(kek, wrapped.subarray(0, 20), { aad })).rejects.toSatisfy(isCode('E_AUTH_FAILED'));
      const other = await keys.generateWrappingKey({ label: 'other-kek' });
      await expect(keys.unwrap(other, wrapped, { aad })).rejects.toSatisfy(isCode('E_AUTH_FAILED'));
      // Two wraps of the same data differ (fresh IV each time).
      expect(Buffer.from(await keys.wrap(kek, secret)).equals(Buffer.from(await keys.wrap(kek, secret)))).toBe(false);
      // Reopened, the key is found by id and still unwraps.
      const again = await open();
      try {
        const found = await again.getWrappingKey(kek.id);
        expect(found).toEqual(kek);
        expect(Buffer.from(await again.unwrap(found!, wrapped, { aad })).equals(Buffer.from(secret))).toBe(true);
      } finally {
        await again.close();
      }
      await keys.deleteWrappingKey(kek);
      expect(await keys.getWrappingKey(kek.id)).toBeUndefined();
      await expect(keys.unwrap(kek, wrapped, { aad })).rejects.toSatisfy(isCode('E_KEY_NOT_FOUND'));
    });

    it('keeps the wrapping key sensitive and non-extractable on the token', async () => {
      const kek = await keys.generateWrappingKey({ label: 'kek-attrs' });
      assertWrappingKeyUnexportableOnToken(token, kek.id);
    });
  });

  describe('faults become typed errors', () => {
    it('E_HSM_UNAVAILABLE naming a missing module file', async () => {
      const missing = `${token.dir}/no-such-pkcs11-module.so`;
      const e = await open({ module: missing }).catch((x: unknown) => x);
      expect(SigilError.is(e, 'E_HSM_UNAVAILABLE')).toBe(true);
      expect((e as SigilError).detail).toBe('module-not-found');
      expect((e as SigilError).message).toContain(missing);
    });

    it('E_HSM_UNAVAILABLE naming an unknown token label', async () => {
      const e = await open({ token: 'no-such-token' }).catch((x: unknown) => x);
      expect(SigilError.is(e, 'E_HSM_UNAVAILABLE')).toBe(true);
      expect((e as SigilError).detail).toBe('token-not-found');
      expect((e as SigilError).message).toContain('no-such-token');
    });

    it('E_HSM_PIN for a wrong PIN, from the token (CKR_PIN_INCORRECT)', async () => {
      const e = await open({ token: fresh.label, pin: '000000' }).catch((x: unknown) => x);
      expect(SigilError.is(e, 'E_HSM_PIN')).toBe(true);
      expect((e as SigilError).detail).toBe('CKR_PIN_INCORRECT');
    });

    it('E_HSM_PIN for a wrong PIN even while another backend is logged in to the same token', async () => {
      // PKCS#11 login state is per process: the token answers CKR_USER_ALREADY_LOGGED_IN to any PIN.
      await expect(open({ pin: `${token.pin}0` })).rejects.toSatisfy(isCode('E_HSM_PIN'));
      const right = await open();
      await right.close();
    });

    it('SoftHSM 2.6.1 never locks the user PIN: every wrong try is E_HSM_PIN, then the right PIN works', async () => {
      for (let i = 0; i < 12; i++) {
        await expect(open({ token: fresh.label, pin: `${i}99999` })).rejects.toSatisfy(isCode('E_HSM_PIN'));
      }
      withTokenSession({ module: token.module, label: fresh.label, pin: fresh.pin }, (lib, _s, slot) => {
        const flags = lib.C_GetTokenInfo(slot).flags;
        expect(flags & pkcs11js.CKF_USER_PIN_LOCKED).toBe(0);
      });
      const ok = await open({ token: fresh.label, pin: fresh.pin });
      await ok.close();
    });
  });
});
