// Malformed input to every route (fast-check): bodies (random JSON, valid bodies with fields
// replaced, dropped or retyped, text that is not JSON), path parameters and query strings, with
// and without a valid session. The server must answer every request without a 5xx, never grow
// the log or create an account, and write nothing at all when it answers with an error.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SoftWebAuthn } from '../../../test/support/soft-webauthn.js';
import { addDevice, b64u, createServiceAccount, makeDirectory, nextEpoch, postStatement, serviceSession, type Directory } from './directory-fixture.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'sigil-dir-fuzz-'));
const file = path.join(tmp, 'fuzz.db');
let dir: Directory;
let token: string;
let replay: Uint8Array;
let blob: Uint8Array;
let blobHash: string;

beforeAll(async () => {
  dir = await makeDirectory({ file });
  const svc = await createServiceAccount(dir, 'svc');
  const device = await addDevice(dir, svc);
  const epoch = await nextEpoch(svc, device);
  expect((await postStatement(dir, epoch.statement, epoch.blobs)).status).toBe(200);
  replay = epoch.statement; // already logged: submitting it again is always refused
  blob = epoch.blobs[0]!;
  blobHash = b64u(new Uint8Array(await crypto.subtle.digest('SHA-256', new Uint8Array(blob))));
  token = await serviceSession(dir, 'svc', svc.backend, svc.root);
});
afterAll(async () => {
  await dir.close();
  rmSync(tmp, { recursive: true, force: true });
});

const TABLES = ['accounts', 'statements', 'blobs', 'log_nodes', 'checkpoints', 'mailbox', 'webauthn_credentials', 'sessions'] as const;
function snapshot(): Record<string, number> {
  const db = new Database(file, { readonly: true });
  try {
    return Object.fromEntries(TABLES.map((t) => [t, (db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n]));
  } finally {
    db.close();
  }
}

/** Variations of a valid value: each field kept, replaced by random JSON or a string, or dropped. */
function mutate(template: unknown): fc.Arbitrary<unknown> {
  if (Array.isArray(template)) {
    return fc.oneof(fc.array(mutate(template[0]), { maxLength: 4 }), fc.jsonValue());
  }
  if (typeof template === 'object' && template !== null) {
    const entries = Object.entries(template);
    if (entries.length === 0) return fc.oneof(fc.constant({}), fc.jsonValue());
    const fields = Object.fromEntries(entries.map(([k, v]) => [k, fc.oneof({ weight: 4, arbitrary: mutate(v) }, { weight: 1, arbitrary: fc.jsonValue() })]));
    return fc.oneof(
      // one field changed (recursively), the rest valid: reaches the checks behind validation
      { weight: 6, arbitrary: fc.constantFrom(...entries).chain(([k, v]) => mutate(v).map((m) => ({ ...template, [k]: m }))) },
      { weight: 3, arbitrary: fc.record(fields, { requiredKeys: [] }) },
      { weight: 1, arbitrary: fc.tuple(fc.record(fields), fc.string(), fc.jsonValue()).map(([o, k, v]) => ({ ...o, [k]: v })) },
      { weight: 1, arbitrary: fc.jsonValue() },
    );
  }
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant(template) },
    fc.string(),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.integer(),
    fc.double(),
    fc.constantFrom(null, true, '', '=', 'AA==', '-_', 'A'.repeat(5000)),
  );
}

const segmentArb = () => fc.oneof(
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
  fc.string({ unit: 'grapheme', maxLength: 20 }).map(encodeURIComponent),
  fc.constantFrom('svc', '..', '%', '%zz', '%00', '%2F', 'a%20b', '-1', '1e3', '00', '9007199254740993', 'x'.repeat(300), blobHash),
);
const query = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.dictionary(fc.constantFrom('index', 'size', 'from', 'to', 'after', 'limit', 'x'), fc.oneof(fc.string({ maxLength: 20 }), fc.integer().map(String), fc.constantFrom('', '-1', '0', '1', '3', '01', '1.5', '9007199254740993')))
    .map((d) => new URLSearchParams(d).toString()),
);
const session = fc.oneof(fc.constant(undefined), fc.constant('valid'), fc.string({ maxLength: 50 }));
const rawBody = fc.oneof(fc.string({ maxLength: 100 }), fc.constantFrom('{', '[]', 'null', '{"a":', '\u0000', '{"statementB64":1}'));

const soft = new SoftWebAuthn({ rpId: 'localhost', origin: 'http://localhost:8787' });
const challenge = new Uint8Array(32).fill(5);

type Body = { json: unknown } | { raw: string } | undefined;
interface RouteCase {
  readonly name: string;
  readonly request: fc.Arbitrary<{ method: string; path: string; body: Body }>;
}

function bodyRoute(name: string, method: string, pathArb: fc.Arbitrary<string>, template: unknown): RouteCase {
  return {
    name,
    request: fc.record({
      method: fc.constant(method),
      path: pathArb,
      body: fc.oneof({ weight: 5, arbitrary: mutate(template).map((json) => ({ json })) }, { weight: 1, arbitrary: rawBody.map((raw) => ({ raw })) }, { weight: 1, arbitrary: fc.constant(undefined) }),
    }),
  };
}
function getRoute(name: string, method: string, pathArb: fc.Arbitrary<string>): RouteCase {
  // GET requests cannot carry a body (fetch refuses to make one).
  const body: fc.Arbitrary<Body> = method === 'GET' ? fc.constant(undefined) : fc.oneof(fc.constant(undefined), rawBody.map((raw) => ({ raw })));
  return { name, request: fc.record({ method: fc.constant(method), path: pathArb, body }) };
}

const routes = (): RouteCase[] => {
  const segment = segmentArb();
  return [
  getRoute('checkpoint', 'GET', query.map((q) => `/v1/log/checkpoint?${q}`)),
  getRoute('inclusion', 'GET', query.map((q) => `/v1/log/inclusion?${q}`)),
  getRoute('consistency', 'GET', query.map((q) => `/v1/log/consistency?${q}`)),
  getRoute('log key', 'GET', query.map((q) => `/v1/log/key?${q}`)),
  getRoute('health', 'GET', query.map((q) => `/v1/health?${q}`)),
  getRoute('openapi', 'GET', query.map((q) => `/v1/openapi.json?${q}`)),
  getRoute('account', 'GET', segment.map((s) => `/v1/accounts/${s}`)),
  getRoute('blob', 'GET', fc.tuple(segment, segment).map(([a, h]) => `/v1/accounts/${a}/blobs/${h}`)),
  bodyRoute('statements', 'POST', fc.constant('/v1/statements'), { statementB64: b64u(replay), blobs: [{ dataB64: b64u(blob) }] }),
  bodyRoute('service challenge', 'POST', fc.constant('/v1/auth/service/challenge'), { accountId: 'svc' }),
  bodyRoute('service session', 'POST', fc.constant('/v1/auth/service/session'), {
    accountId: 'svc',
    challengeB64: 'A'.repeat(43),
    signerKeyId: '0'.repeat(32),
    signatureB64: b64u(new Uint8Array(64)),
  }),
  bodyRoute('register options', 'POST', fc.constant('/v1/auth/webauthn/register/options'), { accountId: 'svc', displayName: 'x' }),
  bodyRoute('register verify', 'POST', fc.constant('/v1/auth/webauthn/register/verify'), { accountId: 'new-user', response: soft.register(challenge) }),
  bodyRoute('login options', 'POST', fc.constant('/v1/auth/webauthn/login/options'), { accountId: 'svc' }),
  bodyRoute('login verify', 'POST', fc.constant('/v1/auth/webauthn/login/verify'), { response: soft.assertJSON(challenge) }),
  bodyRoute('mailbox post', 'POST', segment.map((s) => `/v1/mailbox/${s}`), { envelopeB64: 'AQID' }),
  getRoute('mailbox list', 'GET', query.map((q) => `/v1/mailbox?${q}`)),
  getRoute('mailbox delete', 'DELETE', segment.map((s) => `/v1/mailbox/${s}`)),
  bodyRoute('backup put', 'PUT', segment.map((s) => `/v1/accounts/${s}/backup`), { dataB64: 'AQID' }),
  getRoute('backup get', 'GET', segment.map((s) => `/v1/accounts/${s}/backup`)),
  getRoute('unknown method', 'PATCH', fc.constantFrom('/v1/statements', '/v1/accounts/svc', '/v1/mailbox/1', '/v1/log/checkpoint')),
  ];
};
const ROUTE_NAMES = ['checkpoint', 'inclusion', 'consistency', 'log key', 'health', 'openapi', 'account', 'blob', 'statements', 'service challenge',
  'service session', 'register options', 'register verify', 'login options', 'login verify', 'mailbox post', 'mailbox list', 'mailbox delete', 'backup put', 'backup get', 'unknown method'];

describe('malformed requests to every route', () => {
  it('covers every route', () => {
    expect(routes().map((r) => r.name)).toEqual(ROUTE_NAMES);
  });
  for (const name of ROUTE_NAMES) {
    it(`${name}: no 5xx, no log growth, no account, no write on an error`, async () => {
      const route = routes().find((r) => r.name === name)!;
      await fc.assert(
        fc.asyncProperty(route.request, session, async (req, auth) => {
          const before = snapshot();
          const headers: Record<string, string> = {};
          if (auth !== undefined) headers['authorization'] = auth === 'valid' ? `Bearer ${token}` : auth;
          const init: RequestInit = { method: req.method, headers };
          if (req.body !== undefined) {
            headers['content-type'] = 'application/json';
            init.body = 'json' in req.body ? JSON.stringify(req.body.json) : req.body.raw;
          }
          const res = await dir.app.request(req.path, init);
          const text = await res.text();
          expect(res.status, `${req.method} ${req.path} -> ${text}`).toBeLessThan(500);
          const after = snapshot();
          expect(after.statements).toBe(before.statements);
          expect(after.accounts).toBe(before.accounts);
          if (res.status >= 400) {
            expect(after).toEqual(before);
            const body = JSON.parse(text) as { error: { code: string; message: string } };
            expect(body.error.code).toMatch(/^E_[A-Z_]+$/);
          }
        }),
        { numRuns: 150 },
      );
    });
  }
});
