// Test fixture for the directory tests: an in-process directory (app.request()) over a SQLite
// store, a log with a software key, a settable clock, and builders for accounts, devices and
// user-key epochs signed the way clients sign them.
import { WebCryptoKeyBackend, type KeyBackend, type KeyRef } from '@sigil/sdk';
import {
  applyStatement,
  chainAfter,
  createUserKeyEpoch,
  genesisHeader,
  signStatement,
  type AccountState,
  type UserKeyPair,
} from '@sigil/sdk/identity';
import { openCheckpoint, parseLogVerifierKey, verifyLeafInCheckpoint, type SignedCheckpoint } from '@sigil/sdk/transparency';
import { proveDevicePossession } from '@sigil/sdk/identity';
import {
  SqliteStore,
  TransparencyLog,
  createDirectoryApp,
  memoryLogger,
  serviceSessionSignatureInput,
  type DirectoryConfig,
  type SqliteStoreOptions,
} from '@sigil/server';
import { expect } from 'vitest';

export const LOG_ORIGIN = 'sigil.test/log';
export const T0 = 1_800_000_000_000;
export const b64u = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
export const unb64u = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64url'));
/** A lookup's audit path (one byte string of 32-byte hashes) as its hashes; the length is checked. */
export function splitPath(path: Uint8Array): Uint8Array[] {
  expect(path.length % 32).toBe(0);
  return Array.from({ length: path.length / 32 }, (_, i) => path.subarray(32 * i, 32 * i + 32));
}

export interface Directory {
  readonly app: ReturnType<typeof createDirectoryApp>['app'];
  readonly store: SqliteStore;
  readonly log: TransparencyLog;
  readonly logger: ReturnType<typeof memoryLogger>;
  readonly vkey: string;
  /** Moves the server clock. */
  advance(ms: number): void;
  now(): number;
  call(method: string, path: string, options?: { body?: unknown; token?: string | undefined; raw?: string }): Promise<{ status: number; body: any }>;
  /** Opens the note with the pinned key. */
  openNote(note: string): Promise<SignedCheckpoint>;
  close(): Promise<void>;
}

export async function makeDirectory(
  options: { config?: Partial<DirectoryConfig>; file?: string; store?: SqliteStoreOptions; logBackend?: { backend: KeyBackend; key: KeyRef } } = {},
): Promise<Directory> {
  const store = new SqliteStore(options.file ?? ':memory:', options.store);
  const signer = options.logBackend ?? (await (async () => {
    const backend = new WebCryptoKeyBackend();
    return { backend, key: await backend.generateKeyPair({ usage: 'sign', label: 'log' }) };
  })());
  let clock = T0;
  const now = () => clock;
  const log = new TransparencyLog(store, { origin: LOG_ORIGIN, signer, now });
  const logger = memoryLogger();
  const { app } = createDirectoryApp({
    store,
    log,
    logger,
    now,
    config: { authRateLimit: { limit: 100_000, windowMs: 60_000 }, statementRateLimit: { limit: 100_000, windowMs: 60_000 }, ...options.config },
  });
  const vkey = (await log.verifierKey()).vkey;
  const pinned = await parseLogVerifierKey(vkey);
  return {
    app,
    store,
    log,
    logger,
    vkey,
    advance: (ms) => {
      clock += ms;
    },
    now,
    call: appCaller(app),
    openNote: (note) => openCheckpoint(note, pinned),
    close: () => store.close(),
  };
}

/** `Directory.call` over any directory app: JSON in, status and parsed JSON (or text) out. */
export function appCaller(app: Directory['app']): Directory['call'] {
  return async (method, path, o = {}) => {
    const headers: Record<string, string> = {};
    if (o.body !== undefined || o.raw !== undefined) headers['content-type'] = 'application/json';
    if (o.token !== undefined) headers['authorization'] = `Bearer ${o.token}`;
    const init: RequestInit = { method, headers };
    if (o.raw !== undefined) init.body = o.raw;
    else if (o.body !== undefined) init.body = JSON.stringify(o.body);
    const res = await app.request(path, init);
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body };
  };
}

/**
 * Bytes shaped like an envelope (docs/FORMAT.md §3, version 2): a well-formed header with one
 * stanza that names no account, then `size` bytes in all (filler standing for the signatures and
 * payload, which the mailbox does not read). A fixed, valid P-256 sender key (the SEC1 base point
 * G); `tag` varies the filler.
 */
export function envelopeLike(size = 300, tag = 0): Uint8Array {
  const header = 111 + 135; // fixed preamble, one stanza of kind 0x00 (FORMAT.md §3.1, §3.2)
  if (size < header) throw new RangeError(`"size" expected >= ${header}, got ${size}`);
  const out = new Uint8Array(size).fill(tag);
  const view = new DataView(out.buffer);
  out.set([0x53, 0x49, 0x47, 0x49, 0x4c, 2, 0, 1], 0); // SIGIL, v2, suite 1
  view.setUint32(8, header); // header_length
  view.setUint32(12, 65536); // chunk size
  view.setUint16(16, 16); // chunks per segment: 1 MiB segments
  view.setBigUint64(34, 0n); // created_at
  out.set(Buffer.from(P256_G, 'hex'), 42); // sender key
  out[107] = 0x01; // signing mode: the sender signs
  view.setUint16(108, 1); // one stanza
  out[110] = 0; // no sender account id
  out[111] = 0x00; // stanza: no recipient account
  out[112] = 0;
  return out;
}
const P256_G =
  '046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296' + '4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5';

/** A service account: its root in a KeyBackend (WebCrypto here, a PKCS#11 token in production). */
export interface ServiceAccount {
  readonly id: string;
  readonly backend: WebCryptoKeyBackend | KeyBackend;
  readonly root: KeyRef;
  state: AccountState;
  statements: Uint8Array[];
}

export async function signServiceGenesis(id: string, backend: KeyBackend, root: KeyRef, time = T0): Promise<Uint8Array> {
  return signStatement({ kind: 'genesis', ...genesisHeader(id, root.id, time), roots: [{ type: 'service', publicKey: root.publicKey }] }, { backend, ref: root });
}

export async function postStatement(dir: Directory, statement: Uint8Array, blobs: Uint8Array[] = [], token?: string) {
  return dir.call('POST', '/v1/statements', { body: { statementB64: b64u(statement), ...(blobs.length > 0 ? { blobs: blobs.map((b) => ({ dataB64: b64u(b) })) } : {}) }, token });
}

/** Creates a service account through the API and returns it with its verified state. */
export async function createServiceAccount(dir: Directory, id: string, backend: KeyBackend = new WebCryptoKeyBackend()): Promise<ServiceAccount> {
  const root = await backend.generateKeyPair({ usage: 'sign', label: `${id} root` });
  const genesis = await signServiceGenesis(id, backend, root);
  const res = await postStatement(dir, genesis);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return { id, backend, root, state: await applyStatement(undefined, genesis, { accountId: id }), statements: [genesis] };
}

export interface Device {
  readonly backend: WebCryptoKeyBackend;
  readonly signing: KeyRef;
  readonly agreement: KeyRef;
}

/** Certifies a new device (software keys) on the account through the API. */
export async function addDevice(dir: Directory, account: ServiceAccount, name = 'device'): Promise<Device> {
  const backend = new WebCryptoKeyBackend();
  const signing = await backend.generateKeyPair({ usage: 'sign', label: `${name} sign` });
  const agreement = await backend.generateKeyPair({ usage: 'agree', label: `${name} agree` });
  const statement = await signStatement(
    { kind: 'device-certificate', ...chainAfter(account.state, account.root.id, account.state.time), device: { signingKey: signing.publicKey, agreementKey: agreement.publicKey, possessionSignature: await proveDevicePossession(account.state.accountId, { backend, signing, agreement }), name } },
    { backend: account.backend, ref: account.root },
  );
  const res = await postStatement(dir, statement);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  account.state = await applyStatement(account.state, statement);
  account.statements.push(statement);
  return { backend, signing, agreement };
}

/** Makes (but does not publish) the account's next user-key epoch, signed by `device`. */
export async function nextEpoch(account: ServiceAccount, device: Device, previous?: UserKeyPair) {
  const epoch = await createUserKeyEpoch(account.state, { signer: { backend: device.backend, ref: device.signing }, previous, time: account.state.time });
  const blobs = [...epoch.wraps.map((w) => w.blob), ...(epoch.previousKeyWrap === undefined ? [] : [epoch.previousKeyWrap])];
  return { ...epoch, blobs };
}

/** A session for a service account: challenge, signature by `signer` (root or device), session. */
export async function serviceSession(dir: Directory, accountId: string, backend: KeyBackend, signer: KeyRef): Promise<string> {
  const ch = await dir.call('POST', '/v1/auth/service/challenge', { body: { accountId } });
  expect(ch.status, JSON.stringify(ch.body)).toBe(200);
  const signature = await backend.sign(signer, serviceSessionSignatureInput(unb64u(ch.body.challengeB64), accountId));
  const res = await dir.call('POST', '/v1/auth/service/session', {
    body: { accountId, challengeB64: ch.body.challengeB64, signerKeyId: signer.id, signatureB64: b64u(signature) },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.token as string;
}

/** Fetches the account and checks every statement's inclusion proof against the served checkpoint. */
export async function lookupVerified(dir: Directory, accountId: string) {
  const res = await dir.call('GET', `/v1/accounts/${encodeURIComponent(accountId)}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const cp = await dir.openNote(res.body.checkpoint);
  for (const s of res.body.statements as { leafIndex: number; statementB64: string; inclusionB64: string }[]) {
    await verifyLeafInCheckpoint(cp, s.leafIndex, unb64u(s.statementB64), splitPath(unb64u(s.inclusionB64)));
  }
  return { body: res.body, checkpoint: cp };
}
