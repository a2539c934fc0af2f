// The crypto seam on WebCrypto, for browsers (and any runtime with globalThis.crypto.subtle).
// Selected as "#platform" when the "node" export condition is absent (packages/sdk/package.json),
// so browser bundles contain no `node:` import. Private keys are imported non-extractable.
import { SigilError } from '../../errors.js';
import { toBase64Url, toHex } from '../bytes.js';
import type { AesGcmKey, CryptoPlatform, EcdhKeyPair, EcdsaKeyPair, HashName } from './types.js';

const TAG_LENGTH = 16;
const ECDH_P256 = { name: 'ECDH', namedCurve: 'P-256' } as const;

function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle;
  if (s === undefined) throw new TypeError('WebCrypto (globalThis.crypto.subtle) is not available in this runtime.');
  return s;
}

// WebCrypto takes BufferSource; a Uint8Array over a SharedArrayBuffer or a subarray is fine,
// but TypeScript's DOM lib wants an ArrayBuffer-backed view.
function buf(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes as Uint8Array<ArrayBuffer>;
}

class WebAesGcmKey implements AesGcmKey {
  readonly #key: CryptoKey;

  constructor(key: CryptoKey) {
    this.#key = key;
  }

  async seal(nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    return new Uint8Array(
      await subtle().encrypt({ name: 'AES-GCM', iv: buf(nonce), additionalData: buf(aad), tagLength: 128 }, this.#key, buf(plaintext)),
    );
  }

  async sealDetached(nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Promise<{ ciphertext: Uint8Array; tag: Uint8Array }> {
    const sealed = await this.seal(nonce, plaintext, aad);
    return { ciphertext: sealed.subarray(0, plaintext.length), tag: sealed.subarray(plaintext.length) };
  }

  async open(nonce: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    if (ciphertext.length < TAG_LENGTH) throw new SigilError('E_AUTH_FAILED', 'Decryption failed.');
    try {
      return new Uint8Array(
        await subtle().decrypt({ name: 'AES-GCM', iv: buf(nonce), additionalData: buf(aad), tagLength: 128 }, this.#key, buf(ciphertext)),
      );
    } catch (cause) {
      throw new SigilError('E_AUTH_FAILED', 'Decryption failed.', { cause });
    }
  }
}

function ecdhKeyPair(privateKey: CryptoKey, publicKey: Uint8Array): EcdhKeyPair {
  return {
    publicKey,
    async deriveSharedSecret(peerPublicKey: Uint8Array): Promise<Uint8Array> {
      let peer: CryptoKey;
      try {
        peer = await subtle().importKey('raw', buf(peerPublicKey), ECDH_P256, true, []);
      } catch (cause) {
        throw new SigilError('E_BAD_PUBLIC_KEY', 'The P-256 public key is not a point on the curve.', { cause });
      }
      return new Uint8Array(await subtle().deriveBits({ name: 'ECDH', public: peer }, privateKey, 256));
    },
  };
}

// Imported verification keys, by hex: a recipient hears from the same senders again and
// again, and the import is a third of a verification. Public keys; bounded.
const verifyKeys = new Map<string, CryptoKey>();
const VERIFY_KEY_CACHE_SIZE = 256;

async function verifyKey(publicKey: Uint8Array): Promise<CryptoKey> {
  const hex = toHex(publicKey);
  let key = verifyKeys.get(hex);
  if (key === undefined) {
    key = await subtle().importKey('raw', buf(publicKey), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    if (verifyKeys.size >= VERIFY_KEY_CACHE_SIZE) verifyKeys.delete(verifyKeys.keys().next().value as string);
    verifyKeys.set(hex, key);
  }
  return key;
}

export const platform: CryptoPlatform = {
  name: 'web',

  randomBytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    // getRandomValues fills at most 65,536 bytes per call.
    for (let offset = 0; offset < length; offset += 65_536) {
      globalThis.crypto.getRandomValues(out.subarray(offset, Math.min(length, offset + 65_536)));
    }
    return out;
  },

  async digest(hash: HashName, data: Uint8Array): Promise<Uint8Array> {
    return new Uint8Array(await subtle().digest(hash, buf(data)));
  },

  async hmac(hash: HashName, key: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
    const k = await subtle().importKey('raw', buf(key), { name: 'HMAC', hash }, false, ['sign']);
    return new Uint8Array(await subtle().sign('HMAC', k, buf(data)));
  },

  async aesGcm(key: Uint8Array): Promise<AesGcmKey> {
    if (key.length !== 16 && key.length !== 32) {
      throw new RangeError(`"key" expected Uint8Array of length 16 or 32, got length=${key.length}`);
    }
    return new WebAesGcmKey(await subtle().importKey('raw', buf(key), 'AES-GCM', false, ['encrypt', 'decrypt']));
  },

  async generateEcdhKeyPair(): Promise<EcdhKeyPair> {
    const pair = (await subtle().generateKey(ECDH_P256, false, ['deriveBits'])) as CryptoKeyPair;
    return ecdhKeyPair(pair.privateKey, new Uint8Array(await subtle().exportKey('raw', pair.publicKey)));
  },

  async importEcdhKeyPair(privateKey: Uint8Array, publicKey: Uint8Array): Promise<EcdhKeyPair> {
    // WebCrypto has no raw private-key import for EC; JWK carries d with the public x, y.
    const jwk: JsonWebKey = {
      kty: 'EC',
      crv: 'P-256',
      d: toBase64Url(privateKey),
      x: toBase64Url(publicKey.subarray(1, 33)),
      y: toBase64Url(publicKey.subarray(33, 65)),
      ext: false,
    };
    const key = await subtle().importKey('jwk', jwk, ECDH_P256, false, ['deriveBits']);
    return ecdhKeyPair(key, Uint8Array.from(publicKey));
  },

  async verifyEcdsaP256(publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array): Promise<boolean> {
    if (signature.length !== 64) return false;
    return subtle().verify({ name: 'ECDSA', hash: 'SHA-256' }, await verifyKey(publicKey), buf(signature), buf(data));
  },

  async generateEcdsaKeyPair(): Promise<EcdsaKeyPair> {
    const pair = (await subtle().generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify'])) as CryptoKeyPair;
    const publicKey = new Uint8Array(await subtle().exportKey('raw', pair.publicKey));
    return { publicKey, sign: async (data) => new Uint8Array(await subtle().sign({ name: 'ECDSA', hash: 'SHA-256' }, pair.privateKey, buf(data))) };
  },
};
