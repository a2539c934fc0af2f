// @sigil/sdk public API. Every export is listed by name: nothing internal leaks by `export *`.
export { SigilError, SIGIL_ERROR_CODES } from './errors.js';
export type { SigilErrorCode, SigilErrorOptions } from './errors.js';
export type {
  KeyBackend,
  KeyRef,
  KeyUsage,
  KeyDescription,
  GenerateKeyPairOptions,
  ListKeysOptions,
} from './key-backend.js';
export { WebCryptoKeyBackend, checkGenerateOptions } from './webcrypto-key-backend.js';
export type { WebCryptoKeyBackendOptions } from './webcrypto-key-backend.js';
export { keyIdOf, checkP256PublicKey } from './internal/p256.js';
export { encrypt } from './envelope/encrypt.js';
export type { EncryptOptions, EnvelopeRecipient, EnvelopeSender } from './envelope/encrypt.js';
export { decrypt } from './envelope/decrypt.js';
export type { DecryptOptions, DecryptResult, EnvelopeParties } from './envelope/decrypt.js';
export { encryptStream, decryptStream } from './envelope/streams.js';
export type { DecryptStream } from './envelope/streams.js';
export { ENVELOPE_LIMITS } from './envelope/format.js';
export { parseEnvelopeHeader, type EnvelopeHeader } from './envelope/parse-header.js';
export { hashLeaf, hashChildren, emptyRoot, HASH_SIZE } from './transparency/hashing.js';
export { verifyInclusion, verifyConsistency, rootFromInclusionProof } from './transparency/proof.js';
export type { TreeIndex } from './transparency/tree-size.js';
export {
  logVerifierKey,
  parseLogVerifierKey,
  parseNote,
  verifyNote,
  signNote,
  NOTE_SIGNATURE_TYPE_ECDSA,
} from './transparency/signed-note.js';
export type { LogVerifierKey, NoteSignature, ParsedNote } from './transparency/signed-note.js';
export { checkpointText, signCheckpoint, parseCheckpointText, openCheckpoint } from './transparency/checkpoint.js';
export type { Checkpoint, SignedCheckpoint, OpenCheckpointOptions } from './transparency/checkpoint.js';
export {
  CheckpointVerifier,
  MemoryCheckpointStateStore,
  checkCheckpointUpdate,
  verifyLeafInCheckpoint,
} from './transparency/checkpoint-verifier.js';
export type { CheckpointStateStore, CheckpointVerifierOptions } from './transparency/checkpoint-verifier.js';
export {
  encodeStatement,
  decodeStatement,
  encodeSignedStatement,
  decodeSignedStatement,
  statementHash,
  statementSignatureInput,
  signStatement,
  signStatementWithWebAuthn,
  verifyWebAuthnAssertion,
  cosePublicKeyToRaw,
  webAuthnRootFromAttestationObject,
  verifyAccountLog,
  applyStatement,
  chainAfter,
  genesisHeader,
  genesisPrev,
  STATEMENT_KINDS,
  STATEMENT_LIMITS,
  STATEMENT_MAGIC,
  STATEMENT_SIGNATURE_CONTEXT,
  ROOT_TYPES,
  PROOF_TYPES,
  USER_KEY_WRAP_LENGTH,
  generateUserKey,
  createUserKeyEpoch,
  openUserKeyWrap,
  openPreviousUserKey,
  importUserKey,
} from './identity/index.js';
export type {
  Statement,
  StatementKind,
  StatementHeader,
  StatementBody,
  GenesisStatement,
  RootAddStatement,
  DeviceCertificateStatement,
  DeviceRevocationStatement,
  UserKeyEpochStatement,
  EpochWrap,
  RootCredential,
  ServiceRoot,
  WebAuthnRoot,
  SignedStatement,
  StatementProof,
  EcdsaProof,
  WebAuthnProof,
  WebAuthnAssertion,
  WebAuthnPolicy,
  VerifyWebAuthnAssertionOptions,
  AccountState,
  AccountRoot,
  AccountDevice,
  RevokedDevice,
  UserKeyEpoch,
  VerifyStatementOptions,
  UserKeyPair,
  CreateUserKeyEpochOptions,
  CreatedUserKeyEpoch,
} from './identity/index.js';
export { DirectoryClient } from './directory/client.js';
export type {
  DirectoryClientOptions,
  VerifiedAccount,
  VerifiedStatement,
  DirectorySession,
  MailboxEntry,
  SessionSigner,
} from './directory/client.js';
export type { FetchLike } from './directory/http.js';
export { MemoryClientStateStore } from './directory/state-store.js';
export type { ClientStateStore, AccountHead, ClientStateJSON } from './directory/state-store.js';
export { compareCheckpoints } from './directory/gossip.js';
export type { CompareCheckpointsOptions, CheckpointComparison } from './directory/gossip.js';
export { Sigil } from './sigil.js';
export type {
  DeviceKeys,
  RootSigner,
  DirectoryOptions,
  SigilConnectOptions,
  EnrolServiceOptions,
  EnrolWebAuthnOptions,
  NewDevice,
  SigilDecryptResult,
} from './sigil.js';
export {
  BrowserKeyStore,
  IndexedDbClientStateStore,
  prfSalt,
  derivePrfKek,
  derivePrfKeks,
  sealWithPrfKek,
  openWithPrfKek,
  PRF_KEK_INFO,
  registerWebAuthnCredential,
  signInWithWebAuthn,
  webAuthnStatementSigner,
  assertStatement,
  registerBrowserAccount,
  signInBrowserAccount,
  enrolBrowserDevice,
} from './browser/index.js';
export type {
  BrowserKeyStoreOptions,
  StoredKeyInfo,
  IndexedDbClientStateStoreOptions,
  PrfKek,
  PrfKeks,
  PrfPurpose,
  PrfSealOptions,
  WebAuthnMode,
  WebAuthnCeremonyOptions,
  RegisteredWebAuthnCredential,
  WebAuthnSignIn,
  StatementAssertionOptions,
  BrowserAccount,
  BrowserAccountOptions,
  RegisterBrowserAccountOptions,
  SignInBrowserAccountOptions,
  EnrolBrowserDeviceOptions,
  SigilRegisterOptions,
  SigilSignInOptions,
  SigilSignIn,
  UserKeySource,
  BackupStatus,
} from './browser/index.js';
