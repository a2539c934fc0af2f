// One conformance suite for every KeyBackend (the node-webcrypto-p11 lesson: the software and
// the hardware backend must be interchangeable). A backend's test file calls
// `describeKeyBackendConformance` with a factory; nothing here knows which backend it runs.
// Independent checks use @noble/curves (already a dependency of the sdk), not node:crypto, so
// the suite runs wherever vitest runs, a browser included.
import { p256 } from '@noble/curves/nist.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SigilError, type SigilErrorCode } from '../errors.js';
import type { KeyBackend, KeyDescription, KeyRef } from '../backend/key-backend.js';
import { supportsKeyWrapping, WRAP_FORMAT_VERSION, WRAP_IV_LENGTH, WRAP_TAG_LENGTH, type KeyWrapping, type WrappingKeyRef } from '../backend/key-wrapping.js';
import { equalConstantTime, toHex } from '../internal/bytes.js';
import { keyIdOf } from '../internal/p256.js';

/** A backend under test, with what the suite cannot learn through the contract itself. */
export interface ConformanceTarget {
  readonly backend: KeyBackend;
  /** Proves, by the backend's own means, that the private key cannot be read out. */
  readonly assertPrivateKeyUnexportable: (ref: KeyRef) => Promise<void>;
  /**
   * For a backend with the `KeyWrapping` capability: proves, by the backend's own means, that a
   * wrapping key cannot be read out (e.g. CKA_SENSITIVE and !CKA_EXTRACTABLE read from the token).
   * Optional when the backend has a `describeWrappingKey(ref): Promise<KeyDescription>` method,
   * which the suite then asks instead; a wrapping backend with neither fails that case.
   */
  readonly assertWrappingKeyUnexportable?: ((ref: WrappingKeyRef) => Promise<void>) | undefined;
  readonly close?: () => Promise<void>;
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const isCode = (code: SigilErrorCode) => (e: unknown) => SigilError.is(e, code);

/** An independent ECDH peer: a P-256 key pair made by @noble/curves. */
function peer(): { publicKey: Uint8Array; secretWith(publicKey: Uint8Array): Uint8Array } {
  const secretKey = p256.utils.randomSecretKey();
  return {
    publicKey: p256.getPublicKey(secretKey, false),
    // RFC 9180 §4.1 / SEC 1 §3.3.1: the shared secret is the x coordinate of the shared point.
    secretWith: (publicKey) => p256.getSharedSecret(secretKey, publicKey, true).slice(1),
  };
}

/** ECDSA P-256/SHA-256 verification of a 64-byte IEEE P1363 (`r || s`) signature, by @noble/curves. */
function verifyP1363(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  return p256.verify(signature, message, publicKey, { prehash: true, lowS: false });
}

/**
 * Registers the KeyBackend conformance suite (vitest `describe`/`it`) for one backend. The
 * `KeyWrapping` cases run when the backend has that capability (`supportsKeyWrapping`) and are
 * skipped otherwise.
 *
 * @example
 * ```ts
 * import { describeKeyBackendConformance } from '@sigil/sdk/testing';
 * describeKeyBackendConformance('WebCrypto', async () => {
 *   const backend = new WebCryptoKeyBackend();
 *   return { backend, assertPrivateKeyUnexportable: async (ref) => expect(backend.privateKeyOf(ref).extractable).toBe(false) };
 * });
 * ```
 */
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
        expect(() => p256.Point.fromBytes(ref.publicKey).assertValidity()).not.toThrow();
      }
    });

    it('signs with ECDSA P-256/SHA-256 in IEEE P1363 form that an independent verifier accepts', async () => {
      const ref = await t.backend.generateKeyPair({ usage: 'sign', label: 'conf-sign' });
      const data = text('conformance message');
      const sig = await t.backend.sign(ref, data);
      expect(sig.length).toBe(64);
      expect(verifyP1363(sig, data, ref.publicKey)).toBe(true);
      expect(verifyP1363(sig, text('conformance messagE'), ref.publicKey)).toBe(false);
    });

    it('derives the ECDH shared secret that the peer derives', async () => {
      const ref = await t.backend.generateKeyPair({ usage: 'agree', label: 'conf-agree' });
      const other = peer();
      const secret = await t.backend.deriveSharedSecret(ref, other.publicKey);
      expect(secret.length).toBe(32);
      expect(toHex(secret)).toBe(toHex(other.secretWith(ref.publicKey)));
    });

    it('rejects malformed peer keys with E_BAD_PUBLIC_KEY', async () => {
      const ref = await t.backend.generateKeyPair({ usage: 'agree', label: 'conf-agree-bad' });
      const secretKey = p256.utils.randomSecretKey();
      const compressed = p256.getPublicKey(secretKey, true);
      const offCurve = p256.getPublicKey(secretKey, false);
      offCurve[64] = offCurve[64]! ^ 1;
      for (const bad of [compressed, offCurve, new Uint8Array(65), new Uint8Array(64), new Uint8Array(0)]) {
        await expect(t.backend.deriveSharedSecret(ref, bad)).rejects.toSatisfy(isCode('E_BAD_PUBLIC_KEY'));
      }
    });

    it('refuses to use a key for the other purpose (E_KEY_USAGE)', async () => {
      const signer = await t.backend.generateKeyPair({ usage: 'sign', label: 'conf-usage-s' });
      const agreer = await t.backend.generateKeyPair({ usage: 'agree', label: 'conf-usage-a' });
      await expect(t.backend.deriveSharedSecret(signer, agreer.publicKey)).rejects.toSatisfy(isCode('E_KEY_USAGE'));
      await expect(t.backend.sign(agreer, new Uint8Array(1))).rejects.toSatisfy(isCode('E_KEY_USAGE'));
    });

    it('finds keys by id and label, lists them, and deletes them', async () => {
      const label = `conf-find-${Math.random().toString(36).slice(2)}`;
      const a = await t.backend.generateKeyPair({ usage: 'sign', label });
      const b = await t.backend.generateKeyPair({ usage: 'agree', label });
      const found = await t.backend.getKey(a.id);
      expect(found?.id).toBe(a.id);
      expect(found?.usage).toBe('sign');
      expect(equalConstantTime(found!.publicKey, a.publicKey)).toBe(true);
      const byLabel = await t.backend.listKeys({ label });
      expect(byLabel.map((r) => r.id).sort()).toEqual([a.id, b.id].sort());
      expect((await t.backend.listKeys({ label, usage: 'agree' })).map((r) => r.id)).toEqual([b.id]);
      await t.backend.deleteKey(a);
      expect(await t.backend.getKey(a.id)).toBeUndefined();
      await expect(t.backend.sign(a, new Uint8Array(1))).rejects.toSatisfy(isCode('E_KEY_NOT_FOUND'));
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
      const peers = Array.from({ length: 16 }, peer);
      const results = await Promise.all(
        peers.flatMap((p, i) => [
          t.backend.sign(signer, new Uint8Array([i])).then((sig) => verifyP1363(sig, new Uint8Array([i]), signer.publicKey)),
          t.backend.deriveSharedSecret(agreer, p.publicKey).then((s) => equalConstantTime(s, p.secretWith(agreer.publicKey))),
        ]),
      );
      expect(results.every(Boolean)).toBe(true);
      expect(results.length).toBe(32);
    });

    it('rejects caller misuse with TypeError/RangeError', async () => {
      await expect(t.backend.generateKeyPair({ usage: 'encrypt' as never, label: 'x' })).rejects.toBeInstanceOf(TypeError);
      await expect(t.backend.generateKeyPair({ usage: 'sign', label: '' })).rejects.toBeInstanceOf(RangeError);
    });

    describeKeyWrappingConformance(() => t);
  });
}

/** The KeyWrapping cases (key-wrapping.ts): each is skipped for a backend without the capability. */
function describeKeyWrappingConformance(target: () => ConformanceTarget): void {
  describe('KeyWrapping (AES-256-GCM), when the backend has it', () => {
    const wrapping = (ctx: { skip(note?: string): never }): KeyBackend & KeyWrapping => {
      const { backend } = target();
      if (!supportsKeyWrapping(backend)) ctx.skip('the backend has no KeyWrapping capability');
      return backend;
    };
    const secret = text('a user-key chain, or an escrow share');
    const aad = text('account:alice@example.org');

    it('round-trips with and without aad, in the layout 0x01 || IV (12) || ciphertext || tag (16)', async (ctx) => {
      const w = wrapping(ctx);
      const kek = await w.generateWrappingKey({ label: 'conf-kek' });
      expect(kek.id).toMatch(/^[0-9a-f]{32}$/);
      expect(kek.label).toBe('conf-kek');
      expect((await w.getWrappingKey(kek.id))?.label).toBe('conf-kek');
      for (const options of [undefined, {}, { aad }, { aad: new Uint8Array(0) }]) {
        for (const data of [secret, new Uint8Array(1), new Uint8Array(1000).fill(7)]) {
          const wrapped = await w.wrap(kek, data, options);
          expect(wrapped.length).toBe(1 + WRAP_IV_LENGTH + data.length + WRAP_TAG_LENGTH);
          expect(wrapped[0]).toBe(WRAP_FORMAT_VERSION);
          expect(toHex(await w.unwrap(kek, wrapped, options))).toBe(toHex(data));
        }
      }
      // Absent and empty aad are the same AAD (SP 800-38D: A may be empty).
      expect(toHex(await w.unwrap(kek, await w.wrap(kek, secret), { aad: new Uint8Array(0) }))).toBe(toHex(secret));
    });

    it('uses a fresh IV for every wrap', async (ctx) => {
      const w = wrapping(ctx);
      const kek = await w.generateWrappingKey({ label: 'conf-kek-iv' });
      const ivs = new Set<string>();
      for (let i = 0; i < 64; i++) ivs.add(toHex((await w.wrap(kek, secret)).subarray(1, 1 + WRAP_IV_LENGTH)));
      expect(ivs.size).toBe(64);
    });

    it('refuses every tampered byte, every truncation and another version byte with E_AUTH_FAILED', async (ctx) => {
      const w = wrapping(ctx);
      const kek = await w.generateWrappingKey({ label: 'conf-kek-tamper' });
      const wrapped = await w.wrap(kek, secret, { aad });
      for (let i = 0; i < wrapped.length; i++) {
        for (const bit of [0x01, 0x80]) {
          const bad = wrapped.slice();
          bad[i] = bad[i]! ^ bit;
          await expect(w.unwrap(kek, bad, { aad }), `byte ${i} ^ ${bit}`).rejects.toSatisfy(isCode('E_AUTH_FAILED'));
        }
      }
      for (const length of [0, 1, 1 + WRAP_IV_LENGTH, 1 + WRAP_IV_LENGTH + WRAP_TAG_LENGTH - 1, wrapped.length - 1]) {
        await expect(w.unwrap(kek, wrapped.subarray(0, length), { aad }), `length ${length}`).rejects.toSatisfy(isCode('E_AUTH_FAILED'));
      }
      const longer = new Uint8Array(wrapped.length + 1);
      longer.set(wrapped);
      await expect(w.unwrap(kek, longer, { aad })).rejects.toSatisfy(isCode('E_AUTH_FAILED'));
    });

    it('refuses another aad, a missing aad and another key with E_AUTH_FAILED, with one message', async (ctx) => {
      const w = wrapping(ctx);
      const kek = await w.generateWrappingKey({ label: 'conf-kek-aad' });
      const other = await w.generateWrappingKey({ label: 'conf-kek-other' });
      const withAad = await w.wrap(kek, secret, { aad });
      const without = await w.wrap(kek, secret);
      const failures = await Promise.all([
        w.unwrap(kek, withAad, { aad: text('account:mallory@example.org') }).catch((e: unknown) => e),
        w.unwrap(kek, withAad).catch((e: unknown) => e),
        w.unwrap(kek, without, { aad }).catch((e: unknown) => e),
        w.unwrap(other, withAad, { aad }).catch((e: unknown) => e),
      ]);
      for (const e of failures) expect(SigilError.is(e, 'E_AUTH_FAILED')).toBe(true);
      // No oracle: the message does not say which check failed.
      expect(new Set(failures.map((e) => (e as Error).message)).size).toBe(1);
    });

    it('forgets a deleted key: not found, nothing (un)wraps, deleting again is no error', async (ctx) => {
      const w = wrapping(ctx);
      const kek = await w.generateWrappingKey({ label: 'conf-kek-delete' });
      const wrapped = await w.wrap(kek, secret);
      await w.deleteWrappingKey(kek);
      expect(await w.getWrappingKey(kek.id)).toBeUndefined();
      await expect(w.unwrap(kek, wrapped)).rejects.toSatisfy(isCode('E_KEY_NOT_FOUND'));
      await expect(w.wrap(kek, secret)).rejects.toSatisfy(isCode('E_KEY_NOT_FOUND'));
      await w.deleteWrappingKey(kek);
      expect(await w.getWrappingKey('00'.repeat(16))).toBeUndefined();
    });

    it('keeps the wrapping key non-extractable, and proves it', async (ctx) => {
      const w = wrapping(ctx);
      const kek = await w.generateWrappingKey({ label: 'conf-kek-attrs' });
      const { assertWrappingKeyUnexportable } = target();
      const describeWrappingKey = (w as Partial<{ describeWrappingKey(ref: WrappingKeyRef): Promise<KeyDescription> }>).describeWrappingKey;
      expect(
        assertWrappingKeyUnexportable !== undefined || typeof describeWrappingKey === 'function',
        'a wrapping backend must pass assertWrappingKeyUnexportable or have describeWrappingKey',
      ).toBe(true);
      if (typeof describeWrappingKey === 'function') {
        const d = await describeWrappingKey.call(w, kek);
        expect(d.extractable).toBe(false);
        expect(d.sensitive).toBe(true);
      }
      await assertWrappingKeyUnexportable?.(kek);
    });

    it('rejects caller misuse with TypeError/RangeError', async (ctx) => {
      const w = wrapping(ctx);
      const kek = await w.generateWrappingKey({ label: 'conf-kek-misuse' });
      await expect(w.generateWrappingKey({ label: '' })).rejects.toBeInstanceOf(RangeError);
      await expect(w.wrap(kek, 'text' as never)).rejects.toBeInstanceOf(TypeError);
      await expect(w.wrap(kek, secret, { aad: 'text' as never })).rejects.toBeInstanceOf(TypeError);
      await expect(w.unwrap(kek, [1, 2, 3] as never)).rejects.toBeInstanceOf(TypeError);
    });
  });
}
