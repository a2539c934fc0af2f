import { Crypto as PeculiarCrypto } from '@peculiar/webcrypto';
import { describe, expect, it } from 'vitest';
import { WebCryptoKeyBackend } from '@sigil/sdk';
import { describeKeyBackendConformance } from '@sigil/sdk/testing';

function target(backend: WebCryptoKeyBackend, subtle: SubtleCrypto) {
  return {
    backend,
    assertPrivateKeyUnexportable: async (ref: Parameters<WebCryptoKeyBackend['privateKeyOf']>[0]) => {
      const key = backend.privateKeyOf(ref);
      expect(key.extractable).toBe(false);
      for (const format of ['pkcs8', 'jwk', 'raw'] as const) {
        await expect(subtle.exportKey(format, key)).rejects.toThrow();
      }
    },
  };
}

describeKeyBackendConformance('WebCryptoKeyBackend (platform WebCrypto)', async () =>
  target(new WebCryptoKeyBackend(), globalThis.crypto.subtle),
);

// @peculiar/webcrypto is the provider behind the WebCrypto seam on runtimes whose crypto.subtle
// is missing or incomplete; the same suite proves it is a drop-in.
describeKeyBackendConformance('WebCryptoKeyBackend (@peculiar/webcrypto provider)', async () => {
  const crypto = new PeculiarCrypto() as unknown as Crypto;
  return target(new WebCryptoKeyBackend({ crypto }), crypto.subtle);
});

// The KeyWrapping contract leaves empty data out (key-wrapping.ts): refused before any crypto.
describe('WebCryptoKeyBackend wrapping', () => {
  it('refuses to wrap empty data with a RangeError', async () => {
    const backend = new WebCryptoKeyBackend();
    const kek = await backend.generateWrappingKey({ label: 'kek' });
    await expect(backend.wrap(kek, new Uint8Array(0))).rejects.toBeInstanceOf(RangeError);
  });
});
