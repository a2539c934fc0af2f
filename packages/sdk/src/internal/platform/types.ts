// The crypto seam: the one interface through which Sigil reaches primitives. Two
// implementations with the same shape: node.ts (synchronous node:crypto, wrapped in promises)
// and web.ts (WebCrypto). package.json "imports" selects one as "#platform" by export
// condition, so a browser bundle never contains a `node:` import.
//
// Everything here is a primitive from the platform (HMAC, AES-GCM, ECDH, CSPRNG). The one
// composition, HKDF-Expand over HMAC (RFC 5869 §2.3), is in hkdf.ts and shared by both.

/** The hashes Sigil uses: SHA-256 (HPKE's HKDF) and SHA-512 (Cobblestone's HKDF). */
export type HashName = 'SHA-256' | 'SHA-512';

/** An AES-GCM key (128 or 256 bits) with a 96-bit nonce and a 128-bit tag. */
export interface AesGcmKey {
  /** Returns ciphertext || tag (plaintext.length + 16 bytes). */
  seal(nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
  /**
   * The same encryption with the tag apart: `ciphertext` (plaintext.length bytes) and `tag`
   * (16 bytes), without copying them into one array (which costs ~25% at 64 KiB on Node).
   */
  sealDetached(nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Promise<{ ciphertext: Uint8Array; tag: Uint8Array }>;
  /**
   * Returns the plaintext only if the tag verifies.
   * @throws SigilError `E_AUTH_FAILED` if it does not (or the input is shorter than a tag).
   */
  open(nonce: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
}

/** A P-256 key pair held by the platform for one ECDH: HPKE's ephemeral key. */
export interface EcdhKeyPair {
  /** Uncompressed SEC1 point, 65 bytes. */
  readonly publicKey: Uint8Array;
  /**
   * ECDH with a peer public key that the caller has ALREADY validated with
   * checkP256PublicKey; returns the 32-byte x coordinate (RFC 9180 §4.1 DH).
   * @throws SigilError `E_BAD_PUBLIC_KEY` if the platform rejects the point.
   */
  deriveSharedSecret(peerPublicKey: Uint8Array): Promise<Uint8Array>;
}

/** A fresh P-256 signing key pair held by the platform: an envelope's per-message key (FORMAT.md §4.1). */
export interface EcdsaKeyPair {
  /** Uncompressed SEC1 point, 65 bytes. */
  readonly publicKey: Uint8Array;
  /** ECDSA P-256 with SHA-256 over `data`; the 64-byte IEEE P1363 signature, either S form. */
  sign(data: Uint8Array): Promise<Uint8Array>;
}

export interface CryptoPlatform {
  readonly name: 'node' | 'web';
  /** Bytes from the platform's CSPRNG. */
  randomBytes(length: number): Uint8Array;
  /** The hash of `data` (key ids, FORMAT.md §1: synchronous node:crypto in Node, ~1 µs, against ~20-35 µs for a WebCrypto digest). */
  digest(hash: HashName, data: Uint8Array): Promise<Uint8Array>;
  hmac(hash: HashName, key: Uint8Array, data: Uint8Array): Promise<Uint8Array>;
  /** AES-GCM with a 16- or 32-byte key (96-bit nonce, 128-bit tag). */
  aesGcm(key: Uint8Array): Promise<AesGcmKey>;
  /** A fresh P-256 key pair from the platform's CSPRNG. */
  generateEcdhKeyPair(): Promise<EcdhKeyPair>;
  /**
   * A P-256 key pair from a known scalar (32 bytes, 1 <= d < n) and its public key: for
   * HPKE DeriveKeyPair (RFC 9180 §7.1.3), i.e. test vectors and deterministic vectors only.
   */
  importEcdhKeyPair(privateKey: Uint8Array, publicKey: Uint8Array): Promise<EcdhKeyPair>;
  /**
   * ECDSA P-256 with SHA-256 over `data`: true only if the 64-byte IEEE P1363 signature r || s
   * verifies under `publicKey`, which the caller has ALREADY validated with checkP256PublicKey.
   */
  verifyEcdsaP256(publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array): Promise<boolean>;
  /**
   * A fresh ECDSA P-256 key pair whose private half never leaves the returned object (a
   * non-extractable CryptoKey, or a node:crypto KeyObject: WebCrypto's sign in Node costs about
   * ten times node:crypto's, one envelope segment's worth of AES-GCM).
   */
  generateEcdsaKeyPair(): Promise<EcdsaKeyPair>;
}
