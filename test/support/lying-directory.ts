// A key directory in memory that speaks the HTTP contract (/v1, docs/DIRECTORY.md "API") through a
// `fetch` function, honest by default, with hooks to lie: rewrite any JSON answer, append forged
// statements to its log (a directory that logs its lie, so inclusion proofs pass and only the
// signature chain can catch it), fork its history, roll back. Test support only: it keeps
// everything in memory and its Merkle tree is the naive recursive definition of RFC 9162 §2.1.
import { WebCryptoKeyBackend, type KeyRef } from '@sigil/sdk';
import type { FetchLike } from '@sigil/sdk/directory';
import { decodeSignedStatement, verifyAccountLog, type AccountState } from '@sigil/sdk/identity';
import { hashChildren, hashLeaf, emptyRoot, logVerifierKey, signCheckpoint } from '@sigil/sdk/transparency';

const b64u = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
const fromB64u = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64url'));
const sha256 = async (b: Uint8Array): Promise<Uint8Array> =>
  new Uint8Array(await crypto.subtle.digest('SHA-256', b as Uint8Array<ArrayBuffer>));

/** RFC 9162 §2.1.1 MTH over leaf hashes. */
async function mth(leaves: readonly Uint8Array[]): Promise<Uint8Array> {
  if (leaves.length === 0) return emptyRoot();
  if (leaves.length === 1) return leaves[0]!;
  const k = split(leaves.length);
  return hashChildren(await mth(leaves.slice(0, k)), await mth(leaves.slice(k)));
}

/** Largest power of two smaller than n (n > 1). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** RFC 9162 §2.1.3.1 PATH(m, D[n]). */
async function path(m: number, leaves: readonly Uint8Array[]): Promise<Uint8Array[]> {
  if (leaves.length <= 1) return [];
  const k = split(leaves.length);
  if (m < k) return [...(await path(m, leaves.slice(0, k))), await mth(leaves.slice(k))];
  return [...(await path(m - k, leaves.slice(k))), await mth(leaves.slice(0, k))];
}

/** RFC 9162 §2.1.4.1 SUBPROOF(m, D[n], b). */
async function subproof(m: number, leaves: readonly Uint8Array[], b: boolean): Promise<Uint8Array[]> {
  const n = leaves.length;
  if (m === n) return b ? [] : [await mth(leaves)];
  const k = split(n);
  if (m <= k) return [...(await subproof(m, leaves.slice(0, k), b)), await mth(leaves.slice(k))];
  return [...(await subproof(m - k, leaves.slice(k), false)), await mth(leaves.slice(0, k))];
}

interface AccountRow {
  kind: 'user' | 'service';
  leafIndexes: number[];
}

interface Snapshot {
  leaves: Uint8Array[];
  leafHashes: Uint8Array[];
  accounts: Map<string, AccountRow>;
  blobs: Map<string, { owner: string; data: Uint8Array }>;
}

/** Rewrites the JSON answer of one request; return the body to send. */
export type AnswerHook = (path: string, body: unknown) => unknown;

/** The JSON of GET /v1/accounts/:id, as hooks see and rewrite it (docs/DIRECTORY.md, API). */
export interface AccountAnswer {
  accountId: string;
  kind: string;
  checkpoint: string;
  /** `inclusionB64`: the audit path, its 32-byte hashes concatenated. */
  statements: { leafIndex: number; statementB64: string; inclusionB64: string }[];
}

export interface FakeDirectoryOptions {
  readonly origin?: string;
  readonly url?: string;
}

export class FakeDirectory {
  readonly url: string;
  readonly origin: string;
  /** The pinned key clients are given. */
  vkey = '';
  /** Every answer passes through these, in order. */
  readonly hooks: AnswerHook[] = [];
  /** Requests seen, as `METHOD path`. */
  readonly requests: string[] = [];
  readonly mailbox: { id: number; recipientId: string; senderId: string; envelopeB64: string; createdAt: number }[] = [];
  #backend!: WebCryptoKeyBackend;
  #key!: KeyRef;
  #data: Snapshot = { leaves: [], leafHashes: [], accounts: new Map(), blobs: new Map() };
  readonly #notes = new Map<string, string>();
  readonly #sessions = new Map<string, string>();
  readonly #challenges = new Map<string, string>();
  #nextMessage = 1;

  private constructor(options: FakeDirectoryOptions) {
    this.origin = options.origin ?? 'sigil.test/log';
    this.url = options.url ?? 'https://directory.test';
  }

  static async create(options: FakeDirectoryOptions = {}): Promise<FakeDirectory> {
    const d = new FakeDirectory(options);
    d.#backend = new WebCryptoKeyBackend();
    d.#key = await d.#backend.generateKeyPair({ usage: 'sign', label: 'log' });
    d.vkey = (await logVerifierKey(d.origin, d.#key.publicKey)).vkey;
    return d;
  }

  /**
   * A second directory with the same log key and a copy of this one's history: from here on the
   * two diverge (a forked log, both branches signed by the one key).
   */
  fork(): FakeDirectory {
    const d = new FakeDirectory({ origin: this.origin, url: this.url });
    d.#backend = this.#backend;
    d.#key = this.#key;
    d.vkey = this.vkey;
    d.#data = {
      leaves: [...this.#data.leaves],
      leafHashes: [...this.#data.leafHashes],
      accounts: new Map([...this.#data.accounts].map(([k, v]) => [k, { kind: v.kind, leafIndexes: [...v.leafIndexes] }])),
      blobs: new Map(this.#data.blobs),
    };
    for (const [t, a] of this.#sessions) d.#sessions.set(t, a);
    return d;
  }

  get treeSize(): number {
    return this.#data.leaves.length;
  }

  /** The signed checkpoint of the current tree (signed once per size and branch). */
  async checkpointNote(size = this.#data.leaves.length): Promise<string> {
    const rootHash = await mth(this.#data.leafHashes.slice(0, size));
    const key = `${size}:${b64u(rootHash)}`;
    let note = this.#notes.get(key);
    if (note === undefined) {
      note = await signCheckpoint({ origin: this.origin, size, rootHash }, this.#backend, this.#key);
      this.#notes.set(key, note);
    }
    return note;
  }

  async inclusion(index: number, size = this.#data.leaves.length): Promise<Uint8Array[]> {
    return path(index, this.#data.leafHashes.slice(0, size));
  }

  async consistency(from: number, to: number): Promise<Uint8Array[]> {
    return subproof(from, this.#data.leafHashes.slice(0, to), true);
  }

  /** The account's statements as stored (signed statement bytes). */
  statementsOf(accountId: string): Uint8Array[] {
    return (this.#data.accounts.get(accountId)?.leafIndexes ?? []).map((i) => this.#data.leaves[i]!);
  }

  async #append(accountId: string, statement: Uint8Array, kind: 'user' | 'service'): Promise<number> {
    const index = this.#data.leaves.length;
    this.#data.leaves.push(statement);
    this.#data.leafHashes.push(await hashLeaf(statement));
    const row = this.#data.accounts.get(accountId) ?? { kind, leafIndexes: [] };
    row.leafIndexes.push(index);
    this.#data.accounts.set(accountId, row);
    return index;
  }

  /**
   * LIE: appends any bytes to the log as a statement of `accountId`, unchecked (a directory that
   * logs a forged statement: its inclusion proof will verify).
   */
  async appendForged(accountId: string, statement: Uint8Array): Promise<number> {
    return this.#append(accountId, statement, 'user');
  }

  /** LIE: stops serving the last `count` statements of the account (they stay in the log). */
  hideLast(accountId: string, count: number): void {
    const row = this.#data.accounts.get(accountId);
    if (row !== undefined) row.leafIndexes.splice(row.leafIndexes.length - count, count);
  }

  /** Forgets every session (a restart of a directory that keeps sessions in memory). */
  dropSessions(): void {
    this.#sessions.clear();
  }

  /** LIE: replaces a stored blob's bytes. */
  replaceBlob(hash: Uint8Array, data: Uint8Array): void {
    const b = this.#data.blobs.get(b64u(hash));
    if (b !== undefined) this.#data.blobs.set(b64u(hash), { owner: b.owner, data });
  }

  /** The fetch function clients are given. */
  readonly fetch: FetchLike = async (input, init) => {
    const req = new Request(input, init);
    const url = new URL(req.url);
    this.requests.push(`${req.method} ${url.pathname}`);
    try {
      const out = await this.#route(req, url);
      if (out === undefined) return new Response(null, { status: 204 });
      let body = out.body;
      for (const h of this.hooks) body = await h(url.pathname + url.search, body);
      return Response.json(body, { status: out.status });
    } catch (e) {
      if (e instanceof HttpError) return Response.json({ error: { code: e.code, message: e.message } }, { status: e.status });
      throw e;
    }
  };

  #session(req: Request): string {
    const t = req.headers.get('authorization')?.replace(/^Bearer /, '');
    const a = t === undefined ? undefined : this.#sessions.get(t);
    if (a === undefined) throw new HttpError(401, 'E_UNAUTHORIZED', 'Sign in.');
    return a;
  }

  async #route(req: Request, url: URL): Promise<{ status: number; body: unknown } | undefined> {
    const p = url.pathname;
    const m = req.method;
    const ok = (body: unknown) => ({ status: 200, body });
    if (m === 'GET' && p === '/v1/log/checkpoint') return ok({ note: await this.checkpointNote() });
    if (m === 'GET' && p === '/v1/log/consistency') {
      const from = Number(url.searchParams.get('from'));
      const to = Number(url.searchParams.get('to'));
      if (!(from >= 1 && from <= to && to <= this.treeSize)) throw new HttpError(400, 'E_VALIDATION', 'bad sizes');
      return ok({ from, to, hashesB64: (await this.consistency(from, to)).map(b64u) });
    }
    if (m === 'GET' && p === '/v1/log/inclusion') {
      const index = Number(url.searchParams.get('index'));
      const size = Number(url.searchParams.get('size'));
      return ok({ index, size, hashesB64: (await this.inclusion(index, size)).map(b64u) });
    }
    if (m === 'GET' && p === '/v1/log/key') return ok({ origin: this.origin, publicKeyB64: b64u(this.#key.publicKey), vkey: this.vkey });
    let match = /^\/v1\/accounts\/([^/]+)$/.exec(p);
    if (m === 'GET' && match) {
      const accountId = decodeURIComponent(match[1]!);
      const row = this.#data.accounts.get(accountId);
      if (row === undefined) throw new HttpError(404, 'E_UNKNOWN_ACCOUNT', 'No such account.');
      const size = this.treeSize;
      const statements = [];
      for (const i of row.leafIndexes) {
        statements.push({ leafIndex: i, statementB64: b64u(this.#data.leaves[i]!), inclusionB64: b64u(Buffer.concat(await this.inclusion(i, size))) });
      }
      return ok({ accountId, kind: row.kind, checkpoint: await this.checkpointNote(size), statements });
    }
    match = /^\/v1\/accounts\/([^/]+)\/blobs\/([^/]+)$/.exec(p);
    if (m === 'GET' && match) {
      const accountId = decodeURIComponent(match[1]!);
      if (this.#session(req) !== accountId) throw new HttpError(403, 'E_FORBIDDEN', 'Not your blob.');
      const blob = this.#data.blobs.get(match[2]!);
      if (blob === undefined || blob.owner !== accountId) throw new HttpError(404, 'E_NOT_FOUND', 'No such blob.');
      return ok({ dataB64: b64u(blob.data) });
    }
    if (m === 'POST' && p === '/v1/statements') return ok(await this.#postStatement((await req.json()) as { statementB64: string; blobs?: { dataB64: string }[] }));
    if (m === 'POST' && p === '/v1/auth/service/challenge') {
      const { accountId } = (await req.json()) as { accountId: string };
      const challengeB64 = b64u(crypto.getRandomValues(new Uint8Array(32)));
      this.#challenges.set(challengeB64, accountId);
      return ok({ challengeB64, expiresAt: Date.now() + 120_000 });
    }
    if (m === 'POST' && p === '/v1/auth/service/session') return ok(await this.#serviceSession((await req.json()) as Record<string, string>));
    match = /^\/v1\/mailbox\/([^/]+)$/.exec(p);
    if (m === 'POST' && match) {
      const senderId = this.#session(req);
      const { envelopeB64 } = (await req.json()) as { envelopeB64: string };
      const id = this.#nextMessage++;
      this.mailbox.push({ id, recipientId: decodeURIComponent(match[1]!), senderId, envelopeB64, createdAt: Date.now() });
      return ok({ id });
    }
    if (m === 'GET' && p === '/v1/mailbox') {
      const me = this.#session(req);
      const after = Number(url.searchParams.get('after') ?? 0);
      return ok({ messages: this.mailbox.filter((x) => x.recipientId === me && x.id > after).map(({ recipientId: _, ...rest }) => rest) });
    }
    if (m === 'DELETE' && match) {
      const me = this.#session(req);
      const i = this.mailbox.findIndex((x) => x.id === Number(match![1]) && x.recipientId === me);
      if (i < 0) throw new HttpError(404, 'E_NOT_FOUND', 'No such message.');
      this.mailbox.splice(i, 1);
      return undefined;
    }
    throw new HttpError(404, 'E_NOT_FOUND', 'No such route.');
  }

  async #fold(accountId: string, extra?: Uint8Array): Promise<AccountState> {
    const list = this.statementsOf(accountId);
    return verifyAccountLog(extra === undefined ? list : [...list, extra], { accountId, rpId: 'example.test', origins: ['https://example.test'] });
  }

  async #postStatement(body: { statementB64: string; blobs?: { dataB64: string }[] }): Promise<unknown> {
    const bytes = fromB64u(body.statementB64);
    let accountId: string;
    try {
      accountId = decodeSignedStatement(bytes).statement.accountId;
    } catch {
      throw new HttpError(422, 'E_FORMAT', 'Not a statement.');
    }
    const exists = this.#data.accounts.has(accountId);
    let state: AccountState;
    try {
      state = await this.#fold(accountId, bytes);
    } catch (e) {
      const code = (e as { code?: string }).code ?? 'E_DIRECTORY_PROOF';
      throw new HttpError(exists ? 422 : 409, code, 'Statement refused.');
    }
    const s = decodeSignedStatement(bytes).statement;
    const blobs = await Promise.all((body.blobs ?? []).map(async (b) => ({ data: fromB64u(b.dataB64), hash: await sha256(fromB64u(b.dataB64)) })));
    const expected = new Set<string>();
    if (s.kind === 'user-key-epoch') {
      for (const w of s.wraps) expected.add(b64u(w.wrapHash));
      if (s.previousKeyWrapHash !== undefined) expected.add(b64u(s.previousKeyWrapHash));
    }
    const got = new Set(blobs.map((b) => b64u(b.hash)));
    if (got.size !== expected.size || [...got].some((h) => !expected.has(h))) throw new HttpError(422, 'E_BLOBS', 'Blobs do not match the statement.');
    for (const b of blobs) this.#data.blobs.set(b64u(b.hash), { owner: accountId, data: b.data });
    const kind = state.roots.every((r) => r.type === 'service') ? 'service' : 'user';
    const leafIndex = await this.#append(accountId, bytes, kind);
    return { leafIndex, checkpoint: await this.checkpointNote() };
  }

  async #serviceSession(body: Record<string, string>): Promise<unknown> {
    const { accountId, challengeB64, signerKeyId, signatureB64 } = body as { accountId: string; challengeB64: string; signerKeyId: string; signatureB64: string };
    if (this.#challenges.get(challengeB64) !== accountId) throw new HttpError(401, 'E_UNAUTHORIZED', 'Unknown challenge.');
    this.#challenges.delete(challengeB64);
    const state = await this.#fold(accountId);
    const key = state.devices.find((d) => d.id === signerKeyId)?.signingKey ?? state.roots.find((r) => r.id === signerKeyId && r.type === 'service')?.publicKey;
    if (key === undefined) throw new HttpError(401, 'E_UNAUTHORIZED', 'Not a key of the account.');
    const input = Buffer.concat([Buffer.from('sigil/v1 service-session\0'), fromB64u(challengeB64), Buffer.from(accountId)]);
    const pub = await crypto.subtle.importKey('raw', key as Uint8Array<ArrayBuffer>, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    const valid = await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, pub, fromB64u(signatureB64) as Uint8Array<ArrayBuffer>, input);
    if (!valid) throw new HttpError(401, 'E_UNAUTHORIZED', 'Bad signature.');
    const token = b64u(crypto.getRandomValues(new Uint8Array(32)));
    this.#sessions.set(token, accountId);
    return { token, expiresAt: Date.now() + 15 * 60_000 };
  }
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A fresh device (signing + agreement keys) in its own WebCrypto backend. */
export async function newDeviceKeys(label = 'device'): Promise<{ backend: WebCryptoKeyBackend; signing: KeyRef; agreement: KeyRef }> {
  const backend = new WebCryptoKeyBackend();
  return {
    backend,
    signing: await backend.generateKeyPair({ usage: 'sign', label }),
    agreement: await backend.generateKeyPair({ usage: 'agree', label }),
  };
}

/** A fresh service root in its own WebCrypto backend (the tests' stand-in for a PKCS#11 key). */
export async function newRoot(label = 'root'): Promise<{ backend: WebCryptoKeyBackend; ref: KeyRef }> {
  const backend = new WebCryptoKeyBackend();
  return { backend, ref: await backend.generateKeyPair({ usage: 'sign', label }) };
}

/**
 * A man in the middle over any directory's fetch (e.g. the real Hono app of @sigil/server): every
 * JSON answer passes through `hooks`, in order, so a test can make the real directory lie.
 */
export function lyingFetch(inner: FetchLike): { fetch: FetchLike; hooks: AnswerHook[] } {
  const hooks: AnswerHook[] = [];
  const fetch: FetchLike = async (input, init) => {
    const res = await inner(input, init);
    if (hooks.length === 0 || !(res.headers.get('content-type') ?? '').includes('application/json')) return res;
    const url = new URL(input);
    let body: unknown = await res.json();
    for (const h of hooks) body = await h(url.pathname + url.search, body);
    return Response.json(body, { status: res.status });
  };
  return { fetch, hooks };
}
