/**
 * The `KeyBackend` contract: every private-key operation of Sigil goes through it, so the same
 * HPKE and signing code runs with a non-extractable WebCrypto key in a browser and with a key
 * inside a PKCS#11 token on a server.
 *
 * Contract (every implementation passes the conformance suite of `@sigil/sdk/testing`):
 * - Keys are ECDSA or ECDH on P-256 and are generated *where they stay*: a backend never
 *   imports or exports private key material.
 * - `KeyRef.id` is `keyIdOf(publicKey)`: the same public key has the same id in every backend.
 * - `sign` takes the message (not a digest), hashes it with SHA-256 and returns the IEEE P1363
 *   signature `r || s` (64 bytes), the format of WebCrypto and of PKCS#11 CKM_ECDSA.
 * - `deriveSharedSecret` validates the peer key (65-byte uncompressed SEC1, on the curve) and
 *   returns the 32-byte x coordinate of the shared point: the DH output of RFC 9180 §4.1.
 * - A ref whose key is gone gives `E_KEY_NOT_FOUND`; a key used for the other purpose gives
 *   `E_KEY_USAGE`; a malformed peer key gives `E_BAD_PUBLIC_KEY`.
 */

/** What a key is for: one purpose per key (NIST SP 800-57 §5.2). */
export type KeyUsage = 'sign' | 'agree';

/** A handle on a private key held by a backend, with its public half. */
export interface KeyRef {
  /** `keyIdOf(publicKey)`: lowercase hex, 32 characters. */
  readonly id: string;
  readonly usage: KeyUsage;
  readonly label: string;
  /** P-256 public key, uncompressed SEC1 (65 bytes, first byte 0x04). */
  readonly publicKey: Uint8Array;
}

export interface GenerateKeyPairOptions {
  readonly usage: KeyUsage;
  /** A human-readable name; need not be unique. */
  readonly label: string;
}

/** What the backend itself reports about where a private key lives. */
export interface KeyDescription {
  /** Whether the backend would hand out the private key (must be false for Sigil keys). */
  readonly extractable: boolean;
  /** Whether the private value is protected from being read (PKCS#11 CKA_SENSITIVE). */
  readonly sensitive: boolean;
  /** Whether the key is held by a token or authenticator rather than by this process. */
  readonly hardware: boolean;
}

export interface ListKeysOptions {
  readonly label?: string | undefined;
  readonly usage?: KeyUsage | undefined;
}

/**
 * What decryption needs of the recipient's keys, and nothing more: find an agreement key by its
 * id (the key id of an envelope stanza, FORMAT.md §3.2) and run ECDH with it (the DH of the HPKE
 * decapsulation, RFC 9180 §4.1). Every `KeyBackend` is one; so is a keyring over an account's
 * user keys, which has no other operation to offer.
 */
export interface DecryptionKeys {
  /** The key with this id, or `undefined` if none is held here. */
  getKey(id: string): Promise<KeyRef | undefined>;
  /** ECDH P-256; 32-byte x coordinate of the shared point. */
  deriveSharedSecret(ref: KeyRef, peerPublicKey: Uint8Array): Promise<Uint8Array>;
}

/** The private-key operations Sigil needs. All methods are safe to call concurrently. */
export interface KeyBackend extends DecryptionKeys {
  generateKeyPair(options: GenerateKeyPairOptions): Promise<KeyRef>;
  /** ECDSA P-256 with SHA-256 over `data`; 64-byte IEEE P1363 signature. */
  sign(ref: KeyRef, data: Uint8Array): Promise<Uint8Array>;
  listKeys(options?: ListKeysOptions): Promise<KeyRef[]>;
  /** Destroys the private key. Deleting a key that is already gone is not an error. */
  deleteKey(ref: KeyRef): Promise<void>;
  describeKey(ref: KeyRef): Promise<KeyDescription>;
}
