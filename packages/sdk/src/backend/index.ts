// @sigil/sdk/backend: for implementers of a KeyBackend (a token, a KMS, a platform keystore):
// the contract, its argument checks, and the key-id and public-key helpers every backend shares.
export type {
  KeyBackend,
  KeyRef,
  KeyUsage,
  KeyDescription,
  GenerateKeyPairOptions,
  ListKeysOptions,
} from '../key-backend.js';
export { WebCryptoKeyBackend, checkGenerateOptions } from '../webcrypto-key-backend.js';
export type { WebCryptoKeyBackendOptions } from '../webcrypto-key-backend.js';
export { keyIdOf, checkP256PublicKey } from '../internal/p256.js';
