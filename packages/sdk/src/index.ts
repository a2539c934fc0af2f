// @sigil/sdk: what an app developer uses. `Sigil` (one device of an account over the verifying
// directory), the envelope's two verbs and their streams for those who hold keys themselves, the
// software key backend, and the one error class. Every export is listed by name.
//
// Everything else is a subpath by audience:
//   @sigil/sdk/browser       a person's account in a browser (register and sign in with a passkey)
//   @sigil/sdk/node          Node-only helpers (a file-backed client state store)
//   @sigil/sdk/envelope      the envelope's header parser and limits, for relays that check posts
//   @sigil/sdk/directory     the directory client's plumbing (state stores, verified results)
//   @sigil/sdk/identity      identity statements and their verification (docs/STATEMENTS.md)
//   @sigil/sdk/transparency  log proofs, signed notes, checkpoints (auditors, monitors, servers)
//   @sigil/sdk/backend       the KeyBackend contract and key wrapping, for backend implementers
//   @sigil/sdk/testing       the KeyBackend conformance suite (test files only)
//   @sigil/sdk/errors        SigilError and its codes and details, alone
export { Sigil } from './sigil.js';
export type {
  SigilConnectOptions,
  EnrolServiceOptions,
  EnrolWebAuthnOptions,
  DeviceKeys,
  RootSigner,
  NewDevice,
  SigilDecryptResult,
} from './sigil.js';
// A new device proves it holds its keys; the device that certifies it (`addDevice`) passes this on.
export { proveDevicePossession } from './identity/possession.js';
export { DirectoryClient } from './directory/client.js';
export type { DirectoryClientOptions } from './directory/client.js';
export { encrypt } from './envelope/encrypt.js';
export type { EncryptOptions, EnvelopeRecipient, EnvelopeSender } from './envelope/encrypt.js';
export { decrypt } from './envelope/decrypt.js';
export type { DecryptOptions, DecryptResult } from './envelope/decrypt.js';
export { encryptStream, decryptStream } from './envelope/streams.js';
export { ENVELOPE_LIMITS } from './envelope/format.js';
export { WebCryptoKeyBackend } from './backend/webcrypto-key-backend.js';
export type { KeyBackend, KeyRef } from './backend/key-backend.js';
export { SigilError } from './errors.js';
export type { SigilErrorCode } from './errors.js';
