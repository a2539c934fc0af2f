// @sigil/sdk/browser: a person's account in a browser. ONE register path (`registerWithPasskey`)
// and ONE sign-in path (`signInWithPasskey`, which also enrols a new browser); device keys kept in
// IndexedDB; the client's directory memory in IndexedDB; the PRF key-encryption keys of the
// sealed cache and the passkey backup (docs/BACKUP.md); the WebAuthn statement signer a root
// uses for `sigil.addDevice` / `sigil.revokeDevice`. The ceremonies underneath (account.ts,
// webauthn.ts) are package-internal. No module here touches a browser global at import time.
export { registerWithPasskey, signInWithPasskey } from './passkey.js';
export type { RegisterWithPasskeyOptions, SignInWithPasskeyOptions, PasskeySignIn, UserKeySource } from './passkey.js';
export type { BackupStatus } from './key-chain.js';
export type { BrowserAccount, BrowserAccountOptions } from './account.js';
export { BrowserKeyStore } from './key-store.js';
export type { BrowserKeyStoreOptions, StoredKeyInfo } from './key-store.js';
export { IndexedDbClientStateStore } from './client-state-store.js';
export type { IndexedDbClientStateStoreOptions } from './client-state-store.js';
export { prfSalt, derivePrfKek, derivePrfKeks, sealWithPrfKek, openWithPrfKek, PRF_KEK_INFO } from './prf.js';
export type { PrfKek, PrfKeks, PrfPurpose, PrfSealOptions } from './prf.js';
export { webAuthnStatementSigner, assertStatement } from './webauthn.js';
export type { WebAuthnMode, StatementAssertionOptions } from './webauthn.js';
