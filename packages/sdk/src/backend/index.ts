// @sigil/sdk/backend: for implementers of a KeyBackend (a token, a KMS, a platform keystore):
// the contract, its argument checks, the key-id and public-key helpers every backend shares, and
// the optional AES key-wrapping capability. The conformance suite is `@sigil/sdk/testing`.
export type {
  KeyBackend,
  DecryptionKeys,
  KeyRef,
  KeyUsage,
  KeyDescription,
  GenerateKeyPairOptions,
  ListKeysOptions,
} from './key-backend.js';
export { supportsKeyWrapping, WRAP_FORMAT_VERSION, WRAP_IV_LENGTH, WRAP_TAG_LENGTH } from './key-wrapping.js';
export type { KeyWrapping, WrappingKeyRef, WrapOptions } from './key-wrapping.js';
export { WebCryptoKeyBackend, checkGenerateOptions } from './webcrypto-key-backend.js';
export type { WebCryptoKeyBackendOptions, AdoptKeyPairOptions } from './webcrypto-key-backend.js';
export { keyIdOf, checkP256PublicKey } from '../internal/p256.js';
