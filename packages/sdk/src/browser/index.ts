// Browser identity: device keys kept in IndexedDB, PRF key-encryption keys, WebAuthn ceremonies.
// No module here touches a browser global at import time, so they are exported from the main
// entry point (and this file gathers them for page code and tests).
export { BrowserKeyStore } from './key-store.js';
export type { BrowserKeyStoreOptions, StoredKeyInfo } from './key-store.js';
export { IndexedDbClientStateStore } from './client-state-store.js';
export type { IndexedDbClientStateStoreOptions } from './client-state-store.js';
export { prfSalt, derivePrfKek, derivePrfKeks, sealWithPrfKek, openWithPrfKek, PRF_KEK_INFO } from './prf.js';
export type { PrfKek, PrfKeks, PrfPurpose, PrfSealOptions } from './prf.js';
export { registerWebAuthnCredential, signInWithWebAuthn, webAuthnStatementSigner, assertStatement } from './webauthn.js';
export type {
  WebAuthnMode,
  WebAuthnCeremonyOptions,
  RegisteredWebAuthnCredential,
  WebAuthnSignIn,
  StatementAssertionOptions,
} from './webauthn.js';
export { registerBrowserAccount, signInBrowserAccount, enrolBrowserDevice } from './account.js';
export type {
  BrowserAccount,
  BrowserAccountOptions,
  RegisterBrowserAccountOptions,
  SignInBrowserAccountOptions,
  EnrolBrowserDeviceOptions,
} from './account.js';
export type { SigilRegisterOptions, SigilSignInOptions, SigilSignIn, UserKeySource } from './sigil-browser.js';
export type { BackupStatus } from './key-chain.js';
