// Identity statements and their verification (docs/STATEMENTS.md). Named exports only.
export {
  STATEMENT_MAGIC,
  STATEMENT_KINDS,
  ROOT_TYPES,
  STATEMENT_LIMITS,
  encodeStatement,
  decodeStatement,
  genesisPrev,
} from './statement.js';
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
} from './statement.js';
export {
  STATEMENT_SIGNATURE_CONTEXT,
  PROOF_TYPES,
  statementHash,
  statementSignatureInput,
  encodeSignedStatement,
  decodeSignedStatement,
  signStatement,
  signStatementWithWebAuthn,
} from './signed-statement.js';
export type { SignedStatement, StatementProof, EcdsaProof, WebAuthnProof } from './signed-statement.js';
export {
  SIGNATURE_CONTEXT_LABELS,
  contextPrefix,
  webAuthnStatementChallenge,
  webAuthnSignInChallenge,
  devicePossessionInput,
  userKeyPossessionInput,
} from './contexts.js';
export type { SignatureContext } from './contexts.js';
export { proveDevicePossession, signUserKeyPossession } from './possession.js';
export { verifyWebAuthnAssertion } from './webauthn.js';
export type { WebAuthnAssertion, WebAuthnPolicy, VerifyWebAuthnAssertionOptions } from './webauthn.js';
export { cosePublicKeyToRaw, webAuthnRootFromAttestationObject } from './cose.js';
export { verifyAccountLog, applyStatement, chainAfter, genesisHeader } from './account-state.js';
export type {
  AccountState,
  AccountRoot,
  AccountDevice,
  RevokedDevice,
  UserKeyEpoch,
  VerifyStatementOptions,
} from './account-state.js';
export {
  USER_KEY_WRAP_LENGTH,
  generateUserKey,
  createUserKeyEpoch,
  openUserKeyWrap,
  openPreviousUserKey,
  importUserKey,
} from './user-key.js';
export type { UserKeyPair, CreateUserKeyEpochOptions, CreatedUserKeyEpoch } from './user-key.js';
