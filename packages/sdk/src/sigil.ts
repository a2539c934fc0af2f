// `Sigil`: the account-level API over the verified directory. Recipients are account ids; every
// key used comes out of DirectoryClient (pinned log key, inclusion and consistency proofs,
// signature chain to the account's root), so a lying directory cannot make this encrypt to a key
// the recipient's root did not sign, nor accept a sender key its account did not certify.
import { SigilError } from './errors.js';
import { equalConstantTime } from './internal/bytes.js';
import { keyIdOf } from './internal/p256.js';
import { encrypt as encryptEnvelope, type EnvelopeRecipient, type EnvelopeSender } from './envelope/encrypt.js';
import { decrypt as decryptEnvelope, type EnvelopeParties } from './envelope/decrypt.js';
import { decryptStream as decryptEnvelopeStream, encryptStream as encryptEnvelopeStream } from './envelope/streams.js';
import { chainAfter } from './identity/account-state.js';
import type { WebAuthnAssertion, WebAuthnPolicy } from './identity/webauthn.js';
import type { LogVerifierKey } from './transparency/signed-note.js';
import { DirectoryClient, type DirectorySession, type MailboxEntry } from './directory/client.js';
import type { FetchLike } from './directory/http.js';
import type { ClientStateStore } from './directory/state-store.js';
import { certify, checkDeviceKeys, rootId, signWithRoot, type DeviceAccount, type DeviceKeys, type NewDevice, type RootSigner } from './account/device-account.js';
import { connectDevice, enrolServiceAccount, enrolWebAuthnAccount } from './account/enrol.js';
import type { KeyBackend, KeyRef } from './backend/key-backend.js';

export type { DeviceKeys, NewDevice, RootSigner } from './account/device-account.js';

/** How to reach and verify the directory. */
export interface DirectoryOptions {
  /** The directory's URL, or a `DirectoryClient` already made (then omit the other fields). */
  readonly directory: string | DirectoryClient;
  /** The pinned log verifier key (vkey text); required with a URL. */
  readonly logPublicKey?: string | LogVerifierKey | undefined;
  /** Client memory (checkpoint, account heads); memory by default. Use a durable one in apps. */
  readonly state?: ClientStateStore | undefined;
  /** Relying-party policy, to verify accounts rooted at WebAuthn credentials. */
  readonly webauthn?: WebAuthnPolicy | undefined;
  readonly fetch?: FetchLike | undefined;
}

export interface SigilConnectOptions extends DirectoryOptions {
  /** This device's account. */
  readonly account: string;
  readonly keys: DeviceKeys;
  /**
   * Gets a directory session (for wrapped keys and the mailbox). Default: sign the directory's
   * challenge with this device's signing key.
   */
  readonly session?: (() => Promise<DirectorySession>) | undefined;
}

export interface EnrolServiceOptions extends DirectoryOptions {
  readonly account: string;
  /** The account's service root, e.g. a key in a PKCS#11 token through Pkcs11KeyBackend. */
  readonly root: { readonly backend: KeyBackend; readonly ref: KeyRef };
  readonly keys: DeviceKeys;
  /** 1 to 64 bytes of UTF-8, shown to the account's other devices. */
  readonly deviceName: string;
}

export interface EnrolWebAuthnOptions extends DirectoryOptions {
  readonly account: string;
  /** The credential registered with the directory (`DirectoryClient.webAuthnRegister`). */
  readonly root: {
    readonly rpId: string;
    readonly credentialId: Uint8Array;
    readonly publicKey: Uint8Array;
    readonly getAssertion: (challenge: Uint8Array) => Promise<WebAuthnAssertion>;
  };
  /** The session returned by the registration (the genesis of a WebAuthn account needs it). */
  readonly registrationSession: DirectorySession;
  /** As in `connect`: default, sessions signed by this device's key. */
  readonly keys: DeviceKeys;
  readonly deviceName: string;
  readonly webauthn: WebAuthnPolicy;
  readonly session?: (() => Promise<DirectorySession>) | undefined;
}

/** What `decrypt` returns: the plaintext and who sent it, both verified. */
export interface SigilDecryptResult {
  readonly plaintext: Uint8Array;
  readonly sender: {
    readonly accountId: string;
    /** Key id of the sender's signing key: a current device of the account, or its service root. */
    readonly deviceId: string;
  };
}

function makeDirectory(o: DirectoryOptions): DirectoryClient {
  if (o.directory instanceof DirectoryClient) {
    if (o.logPublicKey !== undefined || o.state !== undefined || o.webauthn !== undefined || o.fetch !== undefined) {
      throw new TypeError('"logPublicKey", "state", "webauthn" and "fetch" belong to the DirectoryClient when one is given');
    }
    return o.directory;
  }
  if (typeof o.directory !== 'string') throw new TypeError('"directory" expected a URL string or a DirectoryClient');
  if (o.logPublicKey === undefined) throw new TypeError('"logPublicKey" expected the pinned log verifier key');
  return new DirectoryClient({ url: o.directory, logPublicKey: o.logPublicKey, state: o.state, webauthn: o.webauthn, fetch: o.fetch });
}

function uniqueAccounts(to: unknown): string[] {
  if (!Array.isArray(to) || to.length === 0) throw new TypeError('"to" expected a non-empty array of account ids');
  for (const [i, id] of to.entries()) if (typeof id !== 'string') throw new TypeError(`"to[${i}]" expected an account id string`);
  return [...new Set(to as string[])];
}

/**
 * One device of one account, connected to a verifying directory client.
 *
 * @example
 * ```ts
 * const sigil = await Sigil.connect({ directory: 'https://keys.example.com', logPublicKey: PINNED_VKEY,
 *   account: 'alice@example.com', keys: { backend, signing, agreement } });
 * const envelope = await sigil.encrypt(data, { to: ['bob@example.com'] });
 * const { plaintext, sender } = await sigil.decrypt(envelope);
 * ```
 */
export class Sigil {
  /** The verifying directory client this device uses. */
  readonly directory: DirectoryClient;
  readonly account: string;
  /** This device's id: `keyIdOf(keys.signing.publicKey)`. */
  readonly deviceId: string;
  /** This device's keys, session and user-key chain (account/): shared with the browser layer, never exported. */
  readonly #device: DeviceAccount;

  /**
   * Wraps a device already verified or enrolled. Apps get a `Sigil` from `connect`,
   * `enrolService` or `enrolWebAuthn` (or `@sigil/sdk/browser`'s `registerWithPasskey` /
   * `signInWithPasskey`); a `DeviceAccount` is package-internal, so there is no other way to
   * make one.
   */
  constructor(device: DeviceAccount) {
    this.#device = device;
    this.directory = device.directory;
    this.account = device.account;
    this.deviceId = device.deviceId;
  }

  /**
   * Connects this device to its account: looks the account up through the verified path and
   * checks that this device is a current device of it (its signing and agreement keys certified
   * by a root, not revoked).
   *
   * @throws SigilError `E_KEY_REVOKED` (this device was revoked), `E_KEY_NOT_FOUND` (not a device
   *   of the account, or its certified agreement key is another one), every code of
   *   `DirectoryClient.lookup`.
   * @example
   * ```ts
   * const sigil = await Sigil.connect({ directory: url, logPublicKey, account: 'svc@example.com',
   *   keys: { backend: hsm, signing, agreement }, state: new FileClientStateStore('state.json') });
   * ```
   */
  static async connect(options: SigilConnectOptions): Promise<Sigil> {
    if (typeof options !== 'object' || options === null) throw new TypeError('"options" expected { directory, account, keys, logPublicKey }');
    checkDeviceKeys(options.keys);
    return new Sigil(await connectDevice(makeDirectory(options), options.account, options.keys, options.session));
  }

  /**
   * Enrols a service account whose root is a key in a PKCS#11 token (or any KeyBackend): the
   * genesis naming the root, the certificate of this device (both signed by the root), then the
   * first user-key epoch (signed by this device), and connects.
   *
   * @throws SigilError `E_DIRECTORY` (`detail` `E_CONFLICT` or similar: the account id is
   *   taken), backend errors (`E_HSM*`, `E_KEY_*`), and every code of `connect`.
   * @example
   * ```ts
   * const hsm = await Pkcs11KeyBackend.open({ module, token: 'svc', pin });
   * const root = await hsm.generateKeyPair({ usage: 'sign', label: 'svc root' });
   * const keys = { backend: hsm, signing: await hsm.generateKeyPair({ usage: 'sign', label: 'svc device' }),
   *   agreement: await hsm.generateKeyPair({ usage: 'agree', label: 'svc device' }) };
   * const sigil = await Sigil.enrolService({ directory: url, logPublicKey, account: 'svc@example.com',
   *   root: { backend: hsm, ref: root }, keys, deviceName: 'svc-1' });
   * ```
   */
  static async enrolService(options: EnrolServiceOptions): Promise<Sigil> {
    if (typeof options !== 'object' || options === null) throw new TypeError('"options" expected { directory, account, root, keys, deviceName, logPublicKey }');
    checkDeviceKeys(options.keys);
    return new Sigil(await enrolServiceAccount(makeDirectory(options), options));
  }

  /**
   * Enrols an account rooted at a WebAuthn credential just registered with the directory: the
   * genesis and this device's certificate, each signed by an assertion of the credential (two
   * touches), then the first user-key epoch, and connects.
   *
   * @throws SigilError `E_DIRECTORY` (refused: e.g. the credential is not the registered one),
   *   `E_WEBAUTHN`, and every code of `connect`.
   * @example
   * ```ts
   * const { session, credential } = await directory.webAuthnRegister(account, await startRegistration(options));
   * const sigil = await Sigil.enrolWebAuthn({ directory, account, registrationSession: session, keys, deviceName: 'laptop',
   *   root: { rpId, credentialId: credential.id, publicKey: credential.publicKey, getAssertion }, webauthn: { rpId, origins } });
   * ```
   */
  static async enrolWebAuthn(options: EnrolWebAuthnOptions): Promise<Sigil> {
    if (typeof options !== 'object' || options === null) throw new TypeError('"options" expected { directory, account, root, ... }');
    checkDeviceKeys(options.keys);
    const directory = makeDirectory(options.directory instanceof DirectoryClient ? { directory: options.directory } : options);
    return new Sigil(await enrolWebAuthnAccount(directory, options));
  }

  /**
   * Encrypts to accounts: looks each one up through the verified directory path and encrypts to
   * its current user-key epoch; this device signs the header, which names this account.
   *
   * @param options.to - Account ids (duplicates count once); include your own to read it later.
   * @throws SigilError `E_KEY_NOT_FOUND` (a recipient has no user key yet), `E_KEY_REVOKED` with
   *   detail `rotation-needed` (a recipient's current user key is still held by a device it
   *   revoked: it must rotate first; test with `SigilError.hasDetail`),
   *   every code of `DirectoryClient.lookup` (`E_UNKNOWN_ACCOUNT`, `E_DIRECTORY_PROOF`, ...).
   *   Nothing is encrypted unless every recipient verified.
   * @example
   * ```ts
   * const envelope = await sigil.encrypt(new TextEncoder().encode('hi'), { to: ['bob@example.com'] });
   * ```
   */
  async encrypt(data: Uint8Array, options: { readonly to: readonly string[] }): Promise<Uint8Array> {
    if (!(data instanceof Uint8Array)) throw new TypeError('"data" expected Uint8Array');
    const plaintext = new Uint8Array(data);
    const to = await this.#recipients(options?.to);
    return encryptEnvelope(plaintext, { to, from: this.#from() });
  }

  /** Each account's current user key, verified; refused while a revoked device holds it. */
  async #recipients(accounts: unknown): Promise<EnvelopeRecipient[]> {
    const to: EnvelopeRecipient[] = [];
    for (const id of uniqueAccounts(accounts)) {
      const { state } = await this.directory.lookup(id);
      const key = state.userKey;
      if (key === undefined) throw new SigilError('E_KEY_NOT_FOUND', `${id} has no user key yet; it must finish enrolment.`);
      const revoked = new Set(state.revokedDevices.map((d) => d.id));
      if ([...key.wraps.keys()].some((d) => revoked.has(d))) {
        throw new SigilError('E_KEY_REVOKED', `${id} revoked a device that holds its current user key; it must rotate before you can write to it.`, {
          detail: 'rotation-needed',
        });
      }
      to.push({ publicKey: key.publicKey, epoch: key.epoch, accountId: id });
    }
    return to;
  }

  /** This device as the envelope sender, for this account (signed into the header, FORMAT.md §3.1). */
  #from(): EnvelopeSender {
    const { keys } = this.#device;
    return { backend: keys.backend, ref: keys.signing, accountId: this.account };
  }

  /**
   * Decrypts an envelope sent to this account: finds the user-key epoch it was sealed to among
   * the account's verified epochs (unwrapping this device's copy, walking back older epochs),
   * then checks that the signing key is a current device (or the service root) of the sender
   * account, looked up through the verified path. Plaintext is returned only after all of it.
   *
   * @param options.from - The account the caller expects the envelope from (e.g. a mailbox
   *   message's `senderId`); optional, as the envelope names its sender account under the
   *   signature. If both are there they must agree; if neither, `E_BAD_SIGNATURE`.
   * @throws SigilError `E_NOT_RECIPIENT` (not sealed to an epoch this device can read: e.g. sent
   *   after it was revoked), `E_BAD_SIGNATURE` (bad signature, or the key is not a device of the
   *   sender account), `E_KEY_REVOKED` (signed by a device the sender revoked), the envelope
   *   codes of `decrypt` (`E_FORMAT`, `E_AUTH_FAILED`, `E_TRUNCATED`, ...), and every code of
   *   `DirectoryClient.lookup`.
   * @example
   * ```ts
   * const { plaintext, sender } = await sigil.decrypt(envelope);
   * console.log(`${sender.accountId} (${sender.deviceId}) says`, new TextDecoder().decode(plaintext));
   * ```
   */
  async decrypt(envelope: Uint8Array, options: { readonly from?: string | undefined } = {}): Promise<SigilDecryptResult> {
    if (!(envelope instanceof Uint8Array)) throw new TypeError('"envelope" expected Uint8Array');
    const bytes = new Uint8Array(envelope);
    const result = await decryptEnvelope(bytes, { keys: this.#device.userKeys.keyring(), recipientAccountId: this.account });
    try {
      return { plaintext: result.plaintext, sender: await this.#verifySender(result.sender, options.from) };
    } catch (e) {
      result.plaintext.fill(0);
      throw e;
    }
  }

  /**
   * `decrypt` as a stream: envelope bytes in, plaintext out. No plaintext leaves the stream
   * before the sender is verified as `decrypt` does; then each chunk once it authenticated.
   *
   * @returns The stream, and `sender`, which resolves once the sender verified (or rejects with
   *   the stream's error).
   * @throws (errors the stream) the codes of `decrypt`.
   * @example
   * ```ts
   * const { readable, writable, sender } = sigil.decryptStream({ from: 'bob@example.com' });
   * await Promise.all([response.body!.pipeTo(writable), readable.pipeTo(file), sender]);
   * ```
   */
  decryptStream(options: { readonly from?: string | undefined } = {}): {
    readonly readable: ReadableStream<Uint8Array>;
    readonly writable: WritableStream<Uint8Array>;
    readonly sender: Promise<SigilDecryptResult['sender']>;
  } {
    const inner = decryptEnvelopeStream({ keys: this.#device.userKeys.keyring(), recipientAccountId: this.account });
    const sender = inner.parties.then((p) => this.#verifySender(p.sender, options.from));
    sender.catch(() => undefined); // also reported through the stream
    const gate = new TransformStream<Uint8Array, Uint8Array>({
      async transform(chunk, controller) {
        await sender;
        controller.enqueue(chunk);
      },
      async flush() {
        await sender;
      },
    });
    return { readable: inner.readable.pipeThrough(gate), writable: inner.writable, sender };
  }

  /**
   * `encrypt` as a stream: looks the recipients up (as `encrypt`), then returns a
   * TransformStream of plaintext to envelope bytes.
   *
   * @throws SigilError as `encrypt`, before any byte is written.
   * @example
   * ```ts
   * await file.stream().pipeThrough(await sigil.encryptStream({ to: ['bob@example.com'] })).pipeTo(upload);
   * ```
   */
  async encryptStream(options: { readonly to: readonly string[] }): Promise<TransformStream<Uint8Array, Uint8Array>> {
    const to = await this.#recipients(options?.to);
    return encryptEnvelopeStream({ to, from: this.#from() });
  }

  /** The envelope's signing key must be a current device (or the service root) of the sender account. */
  async #verifySender(signer: EnvelopeParties['sender'], from: string | undefined): Promise<SigilDecryptResult['sender']> {
    // The account the header claims, under the sender's signature (FORMAT.md §3.1).
    const claimed = signer.accountId;
    if (claimed !== undefined && from !== undefined && claimed !== from) {
      throw new SigilError('E_BAD_SIGNATURE', 'The envelope is signed for another sender account than the one given.', { detail: 'sender-account' });
    }
    const accountId = claimed ?? from;
    if (accountId === undefined) {
      throw new SigilError('E_BAD_SIGNATURE', 'The envelope names no sender account; pass { from }.', { detail: 'sender-account' });
    }
    const sender = (await this.directory.lookup(accountId)).state;
    const keyId = signer.keyId;
    const device = sender.devices.find((d) => d.id === keyId);
    const root = sender.roots.find((r) => r.id === keyId && r.type === 'service');
    const key = device?.signingKey ?? root?.publicKey;
    if (key === undefined || !equalConstantTime(key, signer.publicKey)) {
      if (sender.revokedDevices.some((d) => d.id === keyId)) {
        throw new SigilError('E_KEY_REVOKED', `The envelope is signed by a device ${accountId} revoked.`);
      }
      throw new SigilError('E_BAD_SIGNATURE', `The envelope is not signed by a key of ${accountId}.`, { detail: 'sender-key' });
    }
    return { accountId, deviceId: keyId };
  }

  /**
   * Opens a new user-key epoch: a fresh user key wrapped to the account's current devices, the
   * previous key sealed to it, signed by this device, published and verified back.
   *
   * @returns The new epoch number.
   * @throws SigilError `E_KEY_REVOKED` / `E_KEY_NOT_FOUND` (this device is not a current device),
   *   `E_NOT_RECIPIENT` (this device cannot read the current epoch, so cannot chain to it),
   *   every code of `DirectoryClient.publish`.
   * @example
   * ```ts
   * const epoch = await sigil.rotate();
   * ```
   */
  async rotate(): Promise<number> {
    return this.#device.rotate();
  }

  /**
   * Certifies another device of this account (a root signs its keys), then rotates so that the
   * new device holds the current user key (and, by walking back, every older one).
   *
   * @returns The new device's id.
   * @throws SigilError `E_DIRECTORY` (refused), `E_WEBAUTHN`, backend errors, and as `rotate`.
   * @example
   * ```ts
   * // on the phone: const possessionSignature = await proveDevicePossession(account, phoneKeys);
   * const id = await sigil.addDevice({ name: 'phone', signingKey, agreementKey, possessionSignature }, { root });
   * ```
   */
  async addDevice(device: NewDevice, options: { readonly root: RootSigner }): Promise<string> {
    const { state } = await this.#device.verified();
    await certify(this.directory, state, options.root, device, device.name);
    await this.rotate();
    return keyIdOf(device.signingKey);
  }

  /**
   * Revokes another device of this account (a root signs the revocation), then rotates, so that
   * nothing encrypted to the account afterwards is readable by the revoked device.
   *
   * @throws RangeError if `deviceId` is this device (revoke it from another device).
   * @throws SigilError `E_KEY_NOT_FOUND` (not a current device of the account), and as `rotate`.
   * @example
   * ```ts
   * await sigil.revokeDevice(lostPhoneId, { root: { backend: hsm, ref: rootKey } });
   * ```
   */
  async revokeDevice(deviceId: string, options: { readonly root: RootSigner }): Promise<void> {
    if (deviceId === this.deviceId) throw new RangeError('"deviceId" is this device: revoke it from another device of the account');
    const { state } = await this.#device.verified();
    if (!state.devices.some((d) => d.id === deviceId)) throw new SigilError('E_KEY_NOT_FOUND', 'No current device of the account has this id.');
    const statement = await signWithRoot({ kind: 'device-revocation', ...chainAfter(state, rootId(options.root)), deviceId }, options.root);
    await this.directory.publish(statement);
    await this.rotate();
  }

  /**
   * Mailbox: encrypts `data` to account `to` (as `encrypt`) and leaves it in its mailbox.
   *
   * @returns The message id.
   * @throws SigilError as `encrypt`, and `E_UNAUTHORIZED`, `E_DIRECTORY`, `E_NETWORK`.
   * @example
   * ```ts
   * await sigil.send('bob@example.com', new TextEncoder().encode('hi'));
   * ```
   */
  async send(to: string, data: Uint8Array): Promise<number> {
    const envelope = await this.encrypt(data, { to: [to] });
    return this.#device.sessions.withSession((session) => this.directory.postMessage(to, envelope, session));
  }

  /**
   * Mailbox: this account's messages (envelopes, unverified; open each with
   * `decrypt(m.envelope, { from: m.senderId })`).
   *
   * @throws SigilError `E_UNAUTHORIZED`, `E_DIRECTORY`, `E_NETWORK`.
   * @example
   * ```ts
   * for (const m of await sigil.list()) { const { plaintext } = await sigil.decrypt(m.envelope, { from: m.senderId }); }
   * ```
   */
  async list(options: { readonly after?: number | undefined } = {}): Promise<MailboxEntry[]> {
    return this.#device.sessions.withSession((session) => this.directory.listMessages(session, options));
  }

  /**
   * Mailbox: deletes one of this account's messages.
   * @throws SigilError `E_UNAUTHORIZED`, `E_DIRECTORY`, `E_NETWORK`.
   * @example
   * ```ts
   * await sigil.delete(message.id);
   * ```
   */
  async delete(id: number): Promise<void> {
    return this.#device.sessions.withSession((session) => this.directory.deleteMessage(id, session));
  }
}
