// RFC 9180 test vectors for Sigil's suite (DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-256-GCM),
// base mode, through both implementations of the platform seam. The recipient side decapsulates
// through a WebCryptoKeyBackend holding skRm as a non-extractable key, as production does.
// Modes psk (1), auth (2) and auth_psk (3) are in the file but not implemented: Sigil does not
// use them (sender authentication is a signature over the envelope header).
import { afterAll, describe, expect, it } from 'vitest';
import { WebCryptoKeyBackend } from '@sigil/sdk';
import {
  AES_128_GCM,
  AES_256_GCM,
  HPKE_SUITE_ID,
  decap,
  deriveKeyPair,
  encap,
  keyScheduleBase,
  labeledExpand,
  labeledExtract,
  sealBase,
  openBase,
} from '../src/internal/hpke.js';
import { platform as nodePlatform } from '../src/internal/platform/node.js';
import { platform as webPlatform } from '../src/internal/platform/web.js';
import { toHex, concatBytes } from '../src/internal/bytes.js';
import { adoptVectorKey, hex, loadHpkeVectors } from '../../../test/support/vectors.js';

const all = loadHpkeVectors('p256_hkdfsha256_aes256gcm_base.json');
const base = all.filter((v) => Number(v.mode) === 0);
const [edge] = loadHpkeVectors('edge_p256_derivekeypair_rejection_sampling.json');

// Pinned counts: the run fails if vector cases silently disappear.
const PINNED = { baseVectors: 1, encryptions: 257, exports: 3 };
const executed = { encryptions: 0, exports: 0 };

describe.each([
  { name: 'node:crypto', platform: nodePlatform },
  { name: 'WebCrypto', platform: webPlatform },
])('RFC 9180 base mode vectors on the $name platform', ({ platform }) => {
  it('has the pinned number of base-mode vectors for our suite', () => {
    expect(base.length).toBeGreaterThanOrEqual(PINNED.baseVectors);
    for (const v of base) {
      expect([Number(v.kem_id), Number(v.kdf_id), Number(v.aead_id)]).toEqual([HPKE_SUITE_ID.kem, HPKE_SUITE_ID.kdf, HPKE_SUITE_ID.aead]);
    }
  });

  for (const v of base) {
    it('DeriveKeyPair gives skRm/pkRm and skEm/pkEm', async () => {
      const r = await deriveKeyPair(hex(v.ikmR), platform);
      expect(toHex(r.privateKey)).toBe(v.skRm);
      expect(toHex(r.publicKey)).toBe(v.pkRm);
      const e = await deriveKeyPair(hex(v.ikmE), platform);
      expect(toHex(e.privateKey)).toBe(v.skEm);
      expect(toHex(e.publicKey)).toBe(v.pkEm);
    });

    it('Encap with skEm and Decap through a KeyBackend give shared_secret; the key schedule, every encryption and export match', async () => {
      const ephemeral = await platform.importEcdhKeyPair(hex(v.skEm!), hex(v.pkEm));
      const { sharedSecret, enc } = await encap(hex(v.pkRm), ephemeral, platform);
      expect(toHex(enc)).toBe(v.enc);
      expect(toHex(sharedSecret)).toBe(v.shared_secret);

      const backend = new WebCryptoKeyBackend();
      const ref = await adoptVectorKey(backend, hex(v.skRm), hex(v.pkRm));
      expect(toHex(await decap({ backend, ref }, hex(v.enc), platform))).toBe(v.shared_secret);

      const sender = await keyScheduleBase(sharedSecret, hex(v.info), AES_256_GCM, platform);
      const receiver = await keyScheduleBase(hex(v.shared_secret), hex(v.info), AES_256_GCM, platform);
      expect(toHex(sender.keySchedule.keyScheduleContext)).toBe(v.key_schedule_context);
      expect(toHex(sender.keySchedule.secret)).toBe(v.secret);
      expect(toHex(sender.keySchedule.key)).toBe(v.key);
      expect(toHex(sender.keySchedule.baseNonce)).toBe(v.base_nonce);
      expect(toHex(await sender.exporterSecret())).toBe(v.exporter_secret);

      // The encryptions are listed in sequence order 0..256; seal and open each in turn.
      for (const [seq, e] of v.encryptions.entries()) {
        expect(sender.sequenceNumber).toBe(seq);
        expect(toHex(await sender.seal(hex(e.aad), hex(e.pt)))).toBe(e.ct);
        expect(toHex(await receiver.open(hex(e.aad), hex(e.ct)))).toBe(e.pt);
        executed.encryptions++;
      }
      expect(v.encryptions.length).toBeGreaterThanOrEqual(PINNED.encryptions);

      for (const x of v.exports) {
        expect(toHex(await sender.export(hex(x.exporter_context), x.L))).toBe(x.exported_value);
        expect(toHex(await receiver.export(hex(x.exporter_context), x.L))).toBe(x.exported_value);
        executed.exports++;
      }
      expect(v.exports.length).toBeGreaterThanOrEqual(PINNED.exports);
    });
  }

  it('DeriveKeyPair rejection sampling edge vector: candidate 0 >= n is rejected, counter 1 is used', async () => {
    expect(edge).toBeDefined();
    const v = edge!;
    expect(Number(v.kem_id)).toBe(0x0010);
    // The rejected candidate, recomputed with the RFC 9180 §7.1.3 labels.
    const kemSuite = concatBytes(new TextEncoder().encode('KEM'), Uint8Array.of(0x00, 0x10));
    const dkpPrk = await labeledExtract(platform, kemSuite, new Uint8Array(0), 'dkp_prk', hex(v.ikmR));
    expect(toHex(await labeledExpand(platform, kemSuite, dkpPrk, 'candidate', Uint8Array.of(0), 32))).toBe(v.rejected_candidate_counter0);

    const r = await deriveKeyPair(hex(v.ikmR), platform);
    expect(toHex(r.privateKey)).toBe(v.skRm);
    expect(toHex(r.publicKey)).toBe(v.pkRm);
    const e = await deriveKeyPair(hex(v.ikmE), platform);
    expect(toHex(e.publicKey)).toBe(v.pkEm);

    // The edge vector is published for AES-128-GCM (aead_id 1): run its key schedule with that.
    expect(Number(v.aead_id)).toBe(AES_128_GCM.id);
    const { sharedSecret, enc } = await encap(hex(v.pkRm), await platform.importEcdhKeyPair(e.privateKey, e.publicKey), platform);
    expect(toHex(enc)).toBe(v.enc);
    expect(toHex(sharedSecret)).toBe(v.shared_secret);
    const backend = new WebCryptoKeyBackend();
    const ref = await adoptVectorKey(backend, r.privateKey, r.publicKey);
    expect(toHex(await decap({ backend, ref }, enc, platform))).toBe(v.shared_secret);
    const context = await keyScheduleBase(sharedSecret, hex(v.info), AES_128_GCM, platform);
    expect(toHex(context.keySchedule.key)).toBe(v.key);
    expect(toHex(context.keySchedule.baseNonce)).toBe(v.base_nonce);
    expect(toHex(await context.exporterSecret())).toBe(v.exporter_secret);
    for (const x of v.encryptions) expect(toHex(await context.seal(hex(x.aad), hex(x.pt)))).toBe(x.ct);
    for (const x of v.exports) expect(toHex(await context.export(hex(x.exporter_context), x.L))).toBe(x.exported_value);
  });
});

describe('sealBase / openBase against the vectors', () => {
  for (const v of base) {
    it('sealBase with ephemeralIkm = ikmE reproduces enc and the seq-0 ciphertext; openBase opens it through the backend', async () => {
      const first = v.encryptions[0]!;
      const sealed = await sealBase(hex(v.pkRm), hex(v.info), hex(first.aad), hex(first.pt), { ephemeralIkm: hex(v.ikmE) });
      expect(toHex(sealed.enc)).toBe(v.enc);
      expect(toHex(sealed.ciphertext)).toBe(first.ct);
      const backend = new WebCryptoKeyBackend();
      const ref = await adoptVectorKey(backend, hex(v.skRm), hex(v.pkRm));
      expect(toHex(await openBase({ backend, ref }, hex(v.enc), hex(v.info), hex(first.aad), hex(first.ct)))).toBe(first.pt);
    });
  }
});

afterAll(() => {
  // Two platforms x every base vector's encryptions and exports.
  expect(executed.encryptions).toBeGreaterThanOrEqual(2 * PINNED.baseVectors * PINNED.encryptions);
  expect(executed.exports).toBeGreaterThanOrEqual(2 * PINNED.baseVectors * PINNED.exports);
});
