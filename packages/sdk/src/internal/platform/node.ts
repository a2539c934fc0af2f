// The crypto seam on node:crypto. Synchronous primitives (createECDH, createHmac,
// createCipheriv) wrapped in promises: they avoid WebCrypto's per-call key import and thread
// hop, which is what makes HPKE here about 8x faster than @hpke/core (scripts/bench).
// Selected as "#platform" under the "node" export condition (packages/sdk/package.json).
import {
  createCipheriv,
  createDecipheriv,
  createECDH,
  createHash,
  createHmac,
  createPublicKey,
  createSecretKey,
  generateKeyPairSync,
  randomBytes as nodeRandomBytes,
  sign as nodeSign,
  verify as nodeVerify,
} from 'node:crypto';
import type { CipherGCM, KeyObject } from 'node:crypto';
import { SigilError } from '../../errors.js';
import { fromBase64Url, toBase64Url, toHex } from '../bytes.js';
import type { AesGcmKey, CryptoPlatform, EcdhKeyPair, EcdsaKeyPair, HashName } from './types.js';

const TAG_LENGTH = 16;
const CIPHER_OPTIONS = Object.freeze({ authTagLength: TAG_LENGTH });
const HASH: Record<HashName, string> = { 'SHA-256': 'sha256', 'SHA-512': 'sha512' };

function bytes(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

function authFailed(cause?: unknown): SigilError {
  return new SigilError('E_AUTH_FAILED', 'Decryption failed.', cause === undefined ? {} : { cause });
}

class NodeAesGcmKey implements AesGcmKey {
  readonly #key: KeyObject;
  readonly #algorithm: 'aes-128-gcm' | 'aes-256-gcm';

  constructor(key: Uint8Array) {
    this.#algorithm = key.length === 16 ? 'aes-128-gcm' : 'aes-256-gcm';
    this.#key = createSecretKey(key);
  }

  async seal(nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    const { ciphertext, tag } = this.#encrypt(nonce, plaintext, aad);
    // Uninitialised allocation is safe here: every byte is written just below, and skipping
    // the zero fill is measurable at 16-64 KiB chunks (scripts/bench/chunked-aead.ts).
    const out = Buffer.allocUnsafeSlow(plaintext.length + TAG_LENGTH);
    out.set(ciphertext, 0);
    out.set(tag, plaintext.length);
    return bytes(out);
  }

  async sealDetached(nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Promise<{ ciphertext: Uint8Array; tag: Uint8Array }> {
    // Once per stream chunk: no object here beyond the one returned.
    const cipher = this.#cipher(nonce, aad);
    const ciphertext = bytes(cipher.update(plaintext));
    cipher.final();
    return { ciphertext, tag: bytes(cipher.getAuthTag()) };
  }

  #encrypt(nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): { ciphertext: Buffer; tag: Buffer } {
    const cipher = this.#cipher(nonce, aad);
    // update() on a stream cipher returns as many bytes as it was given; final() returns none.
    const ciphertext = cipher.update(plaintext);
    cipher.final();
    return { ciphertext, tag: cipher.getAuthTag() };
  }

  #cipher(nonce: Uint8Array, aad: Uint8Array): CipherGCM {
    const cipher = createCipheriv(this.#algorithm, this.#key, nonce, CIPHER_OPTIONS);
    if (aad.length > 0) cipher.setAAD(aad);
    return cipher;
  }

  async open(nonce: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    if (ciphertext.length < TAG_LENGTH) throw authFailed();
    const bodyLength = ciphertext.length - TAG_LENGTH;
    const decipher = createDecipheriv(this.#algorithm, this.#key, nonce, CIPHER_OPTIONS);
    decipher.setAuthTag(ciphertext.subarray(bodyLength));
    if (aad.length > 0) decipher.setAAD(aad);
    const plaintext = decipher.update(ciphertext.subarray(0, bodyLength));
    try {
      decipher.final(); // throws if the tag does not verify
    } catch (cause) {
      plaintext.fill(0); // never hand out unauthenticated plaintext
      throw authFailed(cause);
    }
    return bytes(plaintext);
  }
}

function ecdhKeyPair(ecdh: ReturnType<typeof createECDH>, publicKey: Uint8Array): EcdhKeyPair {
  return {
    publicKey,
    async deriveSharedSecret(peerPublicKey: Uint8Array): Promise<Uint8Array> {
      try {
        return bytes(ecdh.computeSecret(peerPublicKey));
      } catch (cause) {
        throw new SigilError('E_BAD_PUBLIC_KEY', 'The P-256 public key is not a point on the curve.', { cause });
      }
    },
  };
}

// Imported verification keys, by hex: a recipient hears from the same senders again and
// again, and the import (~45 µs) costs as much as the verification. Public keys; bounded.
const verifyKeys = new Map<string, KeyObject>();
const VERIFY_KEY_CACHE_SIZE = 256;

function verifyKey(publicKey: Uint8Array): KeyObject {
  const hex = toHex(publicKey);
  let key = verifyKeys.get(hex);
  if (key === undefined) {
    // JWK rather than a hand-built SubjectPublicKeyInfo: no ASN.1 written here.
    key = createPublicKey({
      key: { kty: 'EC', crv: 'P-256', x: toBase64Url(publicKey.subarray(1, 33)), y: toBase64Url(publicKey.subarray(33, 65)) },
      format: 'jwk',
    });
    if (verifyKeys.size >= VERIFY_KEY_CACHE_SIZE) verifyKeys.delete(verifyKeys.keys().next().value as string);
    verifyKeys.set(hex, key);
  }
  return key;
}

export const platform: CryptoPlatform = {
  name: 'node',

  randomBytes(length: number): Uint8Array {
    return bytes(nodeRandomBytes(length));
  },

  async digest(hash: HashName, data: Uint8Array): Promise<Uint8Array> {
    return bytes(createHash(HASH[hash]).update(data).digest());
  },

  async hmac(hash: HashName, key: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
    return bytes(createHmac(HASH[hash], key).update(data).digest());
  },

  async aesGcm(key: Uint8Array): Promise<AesGcmKey> {
    if (key.length !== 16 && key.length !== 32) {
      throw new RangeError(`"key" expected Uint8Array of length 16 or 32, got length=${key.length}`);
    }
    return new NodeAesGcmKey(key);
  },

  async generateEcdhKeyPair(): Promise<EcdhKeyPair> {
    const ecdh = createECDH('prime256v1');
    return ecdhKeyPair(ecdh, bytes(ecdh.generateKeys()));
  },

  async importEcdhKeyPair(privateKey: Uint8Array, publicKey: Uint8Array): Promise<EcdhKeyPair> {
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(privateKey);
    return ecdhKeyPair(ecdh, Uint8Array.from(publicKey));
  },

  async verifyEcdsaP256(publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array): Promise<boolean> {
    if (signature.length !== 64) return false;
    return nodeVerify('sha256', data, { key: verifyKey(publicKey), dsaEncoding: 'ieee-p1363' }, signature);
  },

  async generateEcdsaKeyPair(): Promise<EcdsaKeyPair> {
    const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    // RFC 7518 §6.2.1.2: JWK x and y are the full 32-byte coordinates.
    const jwk = pair.publicKey.export({ format: 'jwk' });
    const publicKey = new Uint8Array(65);
    publicKey[0] = 0x04;
    publicKey.set(fromBase64Url(jwk.x ?? '') ?? new Uint8Array(0), 1);
    publicKey.set(fromBase64Url(jwk.y ?? '') ?? new Uint8Array(0), 33);
    const privateKey = pair.privateKey;
    return { publicKey, sign: async (data) => bytes(nodeSign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' })) };
  },
};
