// DirectoryClient: the only way the SDK reads the key directory. Nothing the directory says is
// used before it is verified (docs/ARCHITECTURE.md "An encrypt, step by step"; docs/TRANSPARENCY.md "What a client checks"): the checkpoint's signature against the
// PINNED log key, a consistency proof from the last checkpoint this client stored (RFC 9162
// §2.1.4), each statement's inclusion proof (§2.1.3), then the account's signature chain from its
// genesis (docs/STATEMENTS.md §7), which must belong to the account asked for and must extend the
// highest head this client verified for it before.
import { SigilError } from '../errors.js';
import type { KeyBackend, KeyRef } from '../backend/key-backend.js';
import { concatBytes, equalConstantTime, toBase64Url } from '../internal/bytes.js';
import { applyStatement, type AccountState } from '../identity/account-state.js';
import { decodeSignedStatement } from '../identity/signed-statement.js';
import { contextPrefix } from '../identity/contexts.js';
import { encodeUtf8 } from '../identity/wire.js';
import type { WebAuthnPolicy } from '../identity/webauthn.js';
import { openCheckpoint, type SignedCheckpoint } from '../transparency/checkpoint.js';
import { CheckpointVerifier, verifyLeafInCheckpoint } from '../transparency/checkpoint-verifier.js';
import { HASH_SIZE } from '../transparency/hashing.js';
import { parseLogVerifierKey, type LogVerifierKey } from '../transparency/signed-note.js';
import { compareOpened, type CheckpointComparison } from './gossip.js';
import { DirectoryHttp, badAnswer, bytesOf, expiryOf, field, isArray, isIndex, isString, type FetchLike } from './http.js';
import { MemoryClientStateStore, type ClientStateStore } from './state-store.js';

export interface DirectoryClientOptions {
  /** Base URL of the directory, e.g. `https://keys.example.com`. */
  readonly url: string;
  /**
   * The log's verifier key (`name+keyid+base64`, c2sp.org/signed-note), PINNED by the app from
   * its configuration. Never take it from the directory's `/v1/log/key`.
   */
  readonly logPublicKey: string | LogVerifierKey;
  /** Where to remember the last checkpoint and account heads; defaults to memory. */
  readonly state?: ClientStateStore | undefined;
  /** Relying-party policy for statements signed by WebAuthn roots (needed to read such accounts). */
  readonly webauthn?: WebAuthnPolicy | undefined;
  /** A fetch implementation; defaults to `globalThis.fetch`. */
  readonly fetch?: FetchLike | undefined;
}

/** One statement of an account as served, verified. */
export interface VerifiedStatement {
  readonly leafIndex: number;
  /** The signed statement bytes (docs/STATEMENTS.md §6), the log leaf. */
  readonly statement: Uint8Array;
}

/** An account after every check: what `lookup` returns. */
export interface VerifiedAccount {
  readonly accountId: string;
  /** From the account's roots (the directory's own label is not trusted). */
  readonly kind: 'user' | 'service';
  /** The fold of the account's statements: roots, devices, user-key epochs. */
  readonly state: AccountState;
  /** The checkpoint the statements were proved against (verified, and stored if newer). */
  readonly checkpoint: SignedCheckpoint;
  readonly statements: readonly VerifiedStatement[];
}

/** A session with the directory (bearer token), for blobs and the mailbox. */
export interface DirectorySession {
  readonly accountId: string;
  /** Secret: never log it. */
  readonly token: string;
  /** Milliseconds since the Unix epoch. */
  readonly expiresAt: number;
}

/** A mailbox message as listed (the envelope is unverified until decrypted). */
export interface MailboxEntry {
  readonly id: number;
  /** The sending account as the directory says; `Sigil.decrypt` checks it against the signature. */
  readonly senderId: string;
  readonly envelope: Uint8Array;
  readonly createdAt: string | number;
}

/** A signer for the service-session challenge: the account's service root or a device key. */
export interface SessionSigner {
  readonly backend: KeyBackend;
  readonly ref: KeyRef;
}

const SESSION_CONTEXT = contextPrefix('serviceSession');

/**
 * A client of the Sigil key directory that verifies everything before use.
 *
 * Lookups are serialised per client, so the stored checkpoint and account heads only move
 * forward. `kind`, counts, ids and every other field the directory adds are re-derived or checked.
 *
 * What it cannot see alone (docs: the malicious-directory suite shows each case): a client with
 * no memory of an account cannot tell that the directory stopped serving the account's latest
 * statements (say a revocation): the hidden statements are still in the log, but nothing marks
 * them as that account's. It is caught by any client that saw them (`E_DIRECTORY_ROLLBACK`), by
 * the account's own devices (`Sigil` looks its own account up on every operation), and by
 * monitors that read the whole log. Likewise a forked log is caught when two clients compare
 * checkpoints (`compareCheckpoint`), not by either alone. Keep the state store durable.
 *
 * @example
 * ```ts
 * const directory = new DirectoryClient({ url: 'https://keys.example.com', logPublicKey: PINNED_VKEY });
 * const bob = await directory.lookup('bob@example.com');
 * const key = bob.state.userKey?.publicKey; // proved in the log, signed up to bob's root
 * ```
 */
export class DirectoryClient {
  readonly #http: DirectoryHttp;
  readonly #key: Promise<LogVerifierKey>;
  readonly #state: ClientStateStore;
  readonly #webauthn: WebAuthnPolicy | undefined;
  #verifier: Promise<CheckpointVerifier> | undefined;
  /** Verified folds by account (least recently looked up first), to verify only new statements. */
  readonly #folds = new Map<string, { readonly statements: readonly VerifiedStatement[]; readonly states: readonly AccountState[] }>();
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: DirectoryClientOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('"options" expected { url, logPublicKey }');
    this.#http = new DirectoryHttp(options.url, options.fetch);
    const k = options.logPublicKey;
    if (typeof k === 'string') this.#key = parseLogVerifierKey(k);
    else if (typeof k === 'object' && k !== null && typeof k.vkey === 'string') this.#key = Promise.resolve(k);
    else throw new TypeError('"logPublicKey" expected the pinned vkey string');
    this.#key.catch(() => undefined); // reported on first use, not as an unhandled rejection
    this.#state = options.state ?? new MemoryClientStateStore();
    this.#webauthn = options.webauthn;
  }

  #checkpoints(): Promise<CheckpointVerifier> {
    this.#verifier ??= this.#key.then((logKey) => {
      const s = this.#state;
      return new CheckpointVerifier({ logKey, state: { load: () => s.loadCheckpoint(), save: (n) => s.saveCheckpoint(n) } });
    });
    return this.#verifier;
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Verifies `note` and its consistency with the stored checkpoint, then stores it if newer. */
  async #accept(note: string): Promise<SignedCheckpoint> {
    const verifier = await this.#checkpoints();
    const next = await openCheckpoint(note, await this.#key);
    const previous = await verifier.latest();
    let proof: Uint8Array[] = [];
    if (previous !== undefined && previous.size > 0 && next.size > previous.size) {
      proof = await this.#consistencyProof(previous.size, next.size);
    }
    return verifier.update(note, proof);
  }

  async #consistencyProof(from: number, to: number): Promise<Uint8Array[]> {
    const body = await this.#http.request(`/v1/log/consistency?from=${from}&to=${to}`);
    if (field(body, 'from', isIndex) !== from || field(body, 'to', isIndex) !== to) throw badAnswer('consistency proof for other sizes');
    return field(body, 'hashesB64', isArray).map((h) => bytesOf(h, 'consistency hash'));
  }

  /**
   * The directory's latest checkpoint, verified against the pinned key and proved consistent
   * with the last one stored (which it then replaces).
   *
   * @throws SigilError `E_DIRECTORY_PROOF` (bad signature, other key or origin, malformed),
   *   `E_DIRECTORY_ROLLBACK` (older than the stored one), `E_DIRECTORY_FORK` (not an extension
   *   of it), `E_NETWORK`, `E_DIRECTORY`.
   * @example
   * ```ts
   * const cp = await directory.checkpoint(); // { origin, size, rootHash, note }
   * ```
   */
  checkpoint(): Promise<SignedCheckpoint> {
    return this.#serial(async () => {
      const body = await this.#http.request('/v1/log/checkpoint');
      return this.#accept(field(body, 'note', isString));
    });
  }

  /**
   * The last checkpoint this client verified (the signed note), to compare with other clients.
   *
   * @throws SigilError `E_DIRECTORY_PROOF` if the stored note no longer verifies under the pinned key.
   * @example
   * ```ts
   * await peer.compareCheckpoint((await directory.latestCheckpoint())!);
   * ```
   */
  async latestCheckpoint(): Promise<string | undefined> {
    return (await (await this.#checkpoints()).latest())?.note;
  }

  /**
   * Gossip: checks a checkpoint another client saw against this client's, with a consistency
   * proof from the directory between the two. A directory that showed the two clients different
   * histories cannot produce one.
   *
   * @throws SigilError `E_DIRECTORY_FORK` if the two checkpoints cannot both be true;
   *   `E_DIRECTORY_ROLLBACK` if the other is larger than anything the directory now shows;
   *   `E_DIRECTORY_PROOF` if `note` does not verify under the pinned key.
   * @example
   * ```ts
   * await aliceDirectory.compareCheckpoint((await bobDirectory.latestCheckpoint())!);
   * ```
   */
  compareCheckpoint(note: string): Promise<CheckpointComparison> {
    if (typeof note !== 'string') throw new TypeError('"note" expected a signed-note string');
    return this.#serial(async () => {
      const other = await openCheckpoint(note, await this.#key);
      let mine = await (await this.#checkpoints()).latest();
      if (mine === undefined) {
        const body = await this.#http.request('/v1/log/checkpoint');
        mine = await this.#accept(field(body, 'note', isString));
      }
      if (other.size > mine.size) {
        // The other client saw a larger tree: catch up first (consistently with what we stored).
        const body = await this.#http.request('/v1/log/checkpoint');
        mine = await this.#accept(field(body, 'note', isString));
        if (other.size > mine.size) {
          throw new SigilError(
            'E_DIRECTORY_ROLLBACK',
            `The directory signed a log of ${other.size} entries for another client but shows ${mine.size} now. Report the directory.`,
            { detail: 'gossip' },
          );
        }
      }
      if (mine.size === other.size || other.size === 0) return compareOpened(mine, other, []);
      return compareOpened(mine, other, await this.#consistencyProof(other.size, mine.size));
    });
  }

  /**
   * Looks an account up and verifies it: checkpoint (pinned key, consistency with the stored
   * one), each statement's inclusion proof, the signature chain from the genesis, the account id
   * of every statement, and that the chain extends the highest head this client saw for the
   * account (which it then remembers).
   *
   * @throws SigilError `E_UNKNOWN_ACCOUNT` (no such account), `E_DIRECTORY_PROOF` (a proof,
   *   signature, chain link or account id is wrong; `detail` says which), `E_KEY_REVOKED` (a
   *   statement by a revoked device), `E_DIRECTORY_ROLLBACK` (an older checkpoint, or a shorter
   *   account history than one seen before: e.g. a dropped revocation), `E_DIRECTORY_FORK` (a
   *   checkpoint that does not extend the stored one, or an account history that diverges from
   *   the one seen before), `E_NETWORK`, `E_DIRECTORY`.
   * @example
   * ```ts
   * const { state } = await directory.lookup('bob@example.com');
   * if (state.userKey === undefined) throw new Error('bob has no key yet');
   * ```
   */
  lookup(accountId: string): Promise<VerifiedAccount> {
    checkAccountId(accountId);
    return this.#serial(() => this.#lookup(accountId));
  }

  async #lookup(accountId: string): Promise<VerifiedAccount> {
    const body = await this.#http.request(`/v1/accounts/${encodeURIComponent(accountId)}`);
    if (field(body, 'accountId', isString) !== accountId) {
      throw new SigilError('E_DIRECTORY_PROOF', 'The directory answered for another account.', { detail: 'account' });
    }
    const checkpoint = await this.#accept(field(body, 'checkpoint', isString));
    const served = field(body, 'statements', isArray);
    if (served.length === 0) throw new SigilError('E_DIRECTORY_PROOF', 'The directory served an account with no statements.', { detail: 'sequence' });

    const statements: VerifiedStatement[] = [];
    const states: AccountState[] = [];
    let state: AccountState | undefined;
    let lastIndex = -1;
    const policy = { accountId, ...(this.#webauthn ?? {}) };
    const cached = this.#folds.get(accountId);
    let prefix = cached !== undefined; // still inside the prefix verified before
    for (const s of served) {
      const leafIndex = field(s, 'leafIndex', isIndex);
      const statement = bytesOf(field(s, 'statementB64', isString), 'statement');
      const proof = hashesOf(bytesOf(field(s, 'inclusionB64', isString), 'inclusion path'));
      // The account's statements are log leaves in log order: a later statement has a later leaf.
      if (leafIndex <= lastIndex || leafIndex >= checkpoint.size) {
        throw new SigilError('E_DIRECTORY_PROOF', 'The directory served statements out of log order or beyond its checkpoint.', {
          detail: 'leaf-index',
        });
      }
      lastIndex = leafIndex;
      // Every statement is proved in THIS checkpoint; only the fold of a prefix this client
      // verified before (same leaves, same bytes) is reused instead of re-checking signatures.
      await verifyLeafInCheckpoint(checkpoint, leafIndex, statement, proof);
      const i = statements.length;
      const known = cached?.statements[i];
      prefix = prefix && known !== undefined && known.leafIndex === leafIndex && sameBytes(known.statement, statement);
      state = prefix ? cached!.states[i]! : await applyStatement(state, statement, policy);
      states.push(state);
      statements.push({ leafIndex, statement });
    }
    const verified = state as AccountState;
    const heads = states.map((x) => x.head);

    // Never go back on an account: the history must extend the highest head verified before.
    const seen = await this.#state.loadAccountHead(accountId);
    if (seen !== undefined) {
      if (verified.seq < seen.seq) {
        throw new SigilError(
          'E_DIRECTORY_ROLLBACK',
          `The directory served ${accountId} up to statement ${verified.seq} after showing statement ${seen.seq}: it dropped statements (a revocation or a rotation). Report the directory.`,
          { detail: 'account-rollback' },
        );
      }
      const at = heads[seen.seq];
      if (at === undefined || !equalConstantTime(at, seen.head)) {
        throw new SigilError('E_DIRECTORY_FORK', `The directory served a history of ${accountId} that differs from the one it showed before.`, {
          detail: 'account-fork',
        });
      }
    }
    if (seen === undefined || verified.seq > seen.seq) await this.#state.saveAccountHead(accountId, { seq: verified.seq, head: verified.head });
    this.#folds.delete(accountId);
    this.#folds.set(accountId, { statements, states });
    if (this.#folds.size > FOLD_CACHE_ACCOUNTS) this.#folds.delete(this.#folds.keys().next().value as string);

    const kind = verified.roots.every((r) => r.type === 'service') ? 'service' : 'user';
    return Object.freeze({ accountId, kind, state: verified, checkpoint, statements: Object.freeze(statements) });
  }

  /**
   * Publishes a signed statement (with the wrap blobs a user-key epoch commits to), then looks
   * the account up and checks that the verified history now ends with it.
   *
   * @param options.blobs - For a user-key epoch: every device wrap and the previous-key wrap.
   * @param options.session - Needed only for the genesis of a WebAuthn account.
   * A 409 `E_CONFLICT` (a lost race, or an earlier attempt that landed) is handled once: the
   * account is fetched again, and the statement is published if it now ends the account's
   * history, else sent once more.
   *
   * @throws SigilError `E_DIRECTORY` (refused: `detail` is the server's code, e.g. a statement
   *   that does not verify, or `E_CONFLICT` a second time), `E_DIRECTORY_PROOF` (accepted but not
   *   served back in the log), and every code of `lookup`.
   * @example
   * ```ts
   * const next = await createUserKeyEpoch(state, { signer, previous });
   * await directory.publish(next.statement, { blobs: [...next.wraps.map((w) => w.blob), next.previousKeyWrap!] });
   * ```
   */
  async publish(
    statement: Uint8Array,
    options: { readonly blobs?: readonly Uint8Array[] | undefined; readonly session?: DirectorySession | undefined } = {},
  ): Promise<VerifiedAccount> {
    if (!(statement instanceof Uint8Array)) throw new TypeError('"statement" expected Uint8Array');
    const bytes = new Uint8Array(statement);
    const blobs = (options.blobs ?? []).map((b, i) => {
      if (!(b instanceof Uint8Array)) throw new TypeError(`"blobs[${i}]" expected Uint8Array`);
      return { dataB64: toBase64Url(b) };
    });
    const accountId = decodeSignedStatement(bytes).statement.accountId;
    const body = { statementB64: toBase64Url(bytes), ...(blobs.length > 0 ? { blobs } : {}) };
    const post = () => this.#http.request('/v1/statements', { method: 'POST', body, token: options.session?.token });
    try {
      await post();
    } catch (e) {
      // 409 E_CONFLICT: another statement took this one's place meanwhile, or an earlier attempt
      // of this very call landed and its answer was lost (docs/DIRECTORY.md). Refetch: if the
      // account now ends with this statement, it is published; else try once more.
      if (!SigilError.is(e, 'E_DIRECTORY') || e.detail !== 'E_CONFLICT') throw e;
      const now = await this.lookup(accountId).catch((l: unknown) => {
        if (SigilError.is(l, 'E_UNKNOWN_ACCOUNT')) return undefined;
        throw l;
      });
      const head = now?.statements[now.statements.length - 1];
      if (head !== undefined && equalConstantTime(head.statement, bytes)) return now as VerifiedAccount;
      await post();
    }
    const account = await this.lookup(accountId);
    const last = account.statements[account.statements.length - 1];
    if (last === undefined || !equalConstantTime(last.statement, bytes)) {
      throw new SigilError('E_DIRECTORY_PROOF', 'The directory accepted the statement but does not serve it at the head of the account.', {
        detail: 'publish',
      });
    }
    return account;
  }

  /**
   * A wrap blob of the account (a user key sealed to one of its devices), served only to the
   * account's own sessions. Unverified here: `openUserKeyWrap` checks it against the signed hash.
   *
   * @throws SigilError `E_UNAUTHORIZED`, `E_DIRECTORY`, `E_NETWORK`, `E_DIRECTORY_PROOF` (malformed).
   * @example
   * ```ts
   * const blob = await directory.blob(account, epoch.wraps.get(deviceId)!, session);
   * const userKey = await openUserKeyWrap(state, epoch.epoch, blob, { id: deviceId, backend, agreementKey });
   * ```
   */
  async blob(accountId: string, hash: Uint8Array, session: DirectorySession): Promise<Uint8Array> {
    checkAccountId(accountId);
    const body = await this.#http.request(`/v1/accounts/${encodeURIComponent(accountId)}/blobs/${toBase64Url(hash)}`, { token: tokenOf(session) });
    return bytesOf(field(body, 'dataB64', isString), 'blob');
  }

  /**
   * Stores (replaces) the account's passkey backup: bytes already sealed on the device
   * (docs/BACKUP.md). The directory keeps them as an opaque blob for the account's own sessions.
   *
   * @throws SigilError `E_UNAUTHORIZED` (no session of this account), `E_DIRECTORY` (detail
   *   `E_LIMIT`: too large), `E_NETWORK`.
   * @example
   * ```ts
   * await directory.putBackup('alice@example.org', sealedChain, session);
   * ```
   */
  async putBackup(accountId: string, sealed: Uint8Array, session: DirectorySession): Promise<void> {
    checkAccountId(accountId);
    if (!(sealed instanceof Uint8Array) || sealed.length === 0) throw new TypeError('"sealed" expected a non-empty Uint8Array');
    await this.#http.request(`/v1/accounts/${encodeURIComponent(accountId)}/backup`, {
      method: 'PUT',
      body: { dataB64: toBase64Url(sealed) },
      token: tokenOf(session),
    });
  }

  /**
   * The account's passkey backup as stored (unauthenticated here: the caller opens it with the
   * passkey-backup KEK, which authenticates it), or `undefined` if the account has none.
   *
   * @throws SigilError `E_UNAUTHORIZED`, `E_DIRECTORY`, `E_NETWORK`, `E_DIRECTORY_PROOF` (malformed answer).
   * @example
   * ```ts
   * const sealed = await directory.getBackup('alice@example.org', session);
   * ```
   */
  async getBackup(accountId: string, session: DirectorySession): Promise<Uint8Array | undefined> {
    checkAccountId(accountId);
    let body: unknown;
    try {
      body = await this.#http.request(`/v1/accounts/${encodeURIComponent(accountId)}/backup`, { token: tokenOf(session) });
    } catch (e) {
      if (SigilError.is(e, 'E_DIRECTORY') && e.detail === 'E_NOT_FOUND') return undefined;
      throw e;
    }
    return bytesOf(field(body, 'dataB64', isString), 'backup');
  }

  /**
   * Opens a session for a service account (or any account, by one of its current device keys)
   * by signing the directory's challenge (contract: `sigil/v1 service-session\0 || challenge ||
   * accountId`).
   *
   * @throws SigilError `E_UNAUTHORIZED` (the key is not a current root or device of the
   *   account), `E_DIRECTORY`, `E_NETWORK`, backend errors (`E_HSM*`, `E_KEY_*`).
   * @example
   * ```ts
   * const session = await directory.serviceSession('svc@example.com', { backend: hsm, ref: deviceSigningKey });
   * ```
   */
  async serviceSession(accountId: string, signer: SessionSigner): Promise<DirectorySession> {
    checkAccountId(accountId);
    const c = await this.#http.request('/v1/auth/service/challenge', { method: 'POST', body: { accountId } });
    const challengeB64 = field(c, 'challengeB64', isString);
    const challenge = bytesOf(challengeB64, 'challenge');
    const signature = await signer.backend.sign(signer.ref, concatBytes(SESSION_CONTEXT, challenge, encodeUtf8(accountId)));
    const s = await this.#http.request('/v1/auth/service/session', {
      method: 'POST',
      body: { accountId, challengeB64, signerKeyId: signer.ref.id, signatureB64: toBase64Url(signature) },
    });
    return { accountId, token: field(s, 'token', isString), expiresAt: expiryOf((s as { expiresAt?: unknown }).expiresAt) };
  }

  /**
   * WebAuthn registration, step 1: the creation options for `navigator.credentials.create`.
   * @throws SigilError `E_DIRECTORY` (`detail` `E_CONFLICT`: the account id is taken), `E_NETWORK`.
   * @example
   * ```ts
   * const options = await directory.webAuthnRegistrationOptions('carol@example.com', 'Carol');
   * const response = await startRegistration({ optionsJSON: options }); // @simplewebauthn/browser
   * ```
   */
  async webAuthnRegistrationOptions(accountId: string, displayName: string): Promise<unknown> {
    checkAccountId(accountId);
    return field(await this.#http.request('/v1/auth/webauthn/register/options', { method: 'POST', body: { accountId, displayName } }), 'options', isObject);
  }

  /**
   * WebAuthn registration, step 2: sends the authenticator's response; returns the new
   * account's session and the credential the genesis must name.
   * @throws SigilError `E_DIRECTORY` (the server refused the attestation), `E_NETWORK`.
   * @example
   * ```ts
   * const { session, credential } = await directory.webAuthnRegister('carol@example.com', response);
   * // then Sigil.enrolWebAuthn({ ..., registrationSession: session, root: { credentialId: credential.id, ... } })
   * ```
   */
  async webAuthnRegister(
    accountId: string,
    response: unknown,
  ): Promise<{ session: DirectorySession; credential: { id: Uint8Array; publicKey: Uint8Array } }> {
    checkAccountId(accountId);
    const r = await this.#http.request('/v1/auth/webauthn/register/verify', { method: 'POST', body: { accountId, response } });
    const cred = field(r, 'credential', isObject);
    return {
      session: { accountId, token: field(r, 'token', isString), expiresAt: expiryOf((r as { expiresAt?: unknown }).expiresAt) },
      credential: { id: bytesOf(field(cred, 'idB64', isString), 'credential id'), publicKey: bytesOf(field(cred, 'publicKeyB64', isString), 'credential key') },
    };
  }

  /**
   * WebAuthn sign-in, step 1: request options for `navigator.credentials.get`.
   * @throws SigilError `E_DIRECTORY`, `E_NETWORK`.
   * @example
   * ```ts
   * const response = await startAuthentication({ optionsJSON: await directory.webAuthnLoginOptions(account) });
   * ```
   */
  async webAuthnLoginOptions(accountId?: string): Promise<unknown> {
    if (accountId !== undefined) checkAccountId(accountId);
    return field(await this.#http.request('/v1/auth/webauthn/login/options', { method: 'POST', body: accountId === undefined ? {} : { accountId } }), 'options', isObject);
  }

  /**
   * WebAuthn sign-in, step 2: the assertion response → a session.
   * @throws SigilError `E_DIRECTORY` (refused), `E_NETWORK`.
   * @example
   * ```ts
   * const session = await directory.webAuthnLogin(response);
   * ```
   */
  async webAuthnLogin(response: unknown): Promise<DirectorySession> {
    const r = await this.#http.request('/v1/auth/webauthn/login/verify', { method: 'POST', body: { response } });
    return { accountId: field(r, 'accountId', isString), token: field(r, 'token', isString), expiresAt: expiryOf((r as { expiresAt?: unknown }).expiresAt) };
  }

  /**
   * Mailbox: stores an envelope for `recipientId` (`Sigil.send` encrypts and posts in one call).
   * @throws SigilError `E_UNAUTHORIZED`, `E_DIRECTORY`, `E_NETWORK`.
   * @example
   * ```ts
   * const id = await directory.postMessage('bob@example.com', envelope, session);
   * ```
   */
  async postMessage(recipientId: string, envelope: Uint8Array, session: DirectorySession): Promise<number> {
    checkAccountId(recipientId);
    if (!(envelope instanceof Uint8Array)) throw new TypeError('"envelope" expected Uint8Array');
    const r = await this.#http.request(`/v1/mailbox/${encodeURIComponent(recipientId)}`, {
      method: 'POST',
      body: { envelopeB64: toBase64Url(envelope) },
      token: tokenOf(session),
    });
    return field(r, 'id', isIndex);
  }

  /**
   * Mailbox: the session's own messages after id `after`.
   * @throws SigilError as `postMessage`.
   * @example
   * ```ts
   * const messages = await directory.listMessages(session, { after: lastSeenId });
   * ```
   */
  async listMessages(session: DirectorySession, options: { readonly after?: number | undefined } = {}): Promise<MailboxEntry[]> {
    const q = options.after === undefined ? '' : `?after=${checkIndex('after', options.after)}`;
    const r = await this.#http.request(`/v1/mailbox${q}`, { token: tokenOf(session) });
    return field(r, 'messages', isArray).map((m) => ({
      id: field(m, 'id', isIndex),
      senderId: field(m, 'senderId', isString),
      envelope: bytesOf(field(m, 'envelopeB64', isString), 'envelope'),
      createdAt: field(m, 'createdAt', (v): v is string | number => typeof v === 'string' || typeof v === 'number'),
    }));
  }

  /**
   * Mailbox: deletes one of the session's messages.
   * @throws SigilError as `postMessage`.
   * @example
   * ```ts
   * await directory.deleteMessage(message.id, session);
   * ```
   */
  async deleteMessage(id: number, session: DirectorySession): Promise<void> {
    await this.#http.request(`/v1/mailbox/${checkIndex('id', id)}`, { method: 'DELETE', token: tokenOf(session) });
  }
}

const isObject = (v: unknown): v is object => typeof v === 'object' && v !== null;

/** Accounts whose verified fold a client keeps in memory. */
const FOLD_CACHE_ACCOUNTS = 1000;

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function checkAccountId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || !/^[\x21-\x7e]{1,128}$/.test(id)) {
    throw new TypeError('"accountId" expected 1 to 128 visible ASCII characters');
  }
}

function checkIndex(name: string, v: unknown): number {
  if (!isIndex(v)) throw new TypeError(`"${name}" expected a non-negative integer`);
  return v;
}

function tokenOf(session: DirectorySession): string {
  if (typeof session?.token !== 'string') throw new TypeError('"session" expected a DirectorySession');
  return session.token;
}

/** An audit path served as one byte string (its 32-byte hashes concatenated), split into views. */
function hashesOf(path: Uint8Array): Uint8Array[] {
  if (path.length % HASH_SIZE !== 0) throw badAnswer('inclusion path length');
  return Array.from({ length: path.length / HASH_SIZE }, (_, i) => path.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE));
}
