// The directory's routes in-process (app.request()): every route's success path, sessions
// (none, malformed, expired, foreign), service sessions, blobs served only to their account,
// the mailbox, the log endpoints checked with the sdk's verifiers, and the OpenAPI document.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebCryptoKeyBackend } from '@sigil/sdk';
import { chainAfter, signStatement, verifyAccountLog } from '@sigil/sdk/identity';
import { hashLeaf, verifyConsistency, verifyInclusion } from '@sigil/sdk/transparency';
import { proveDevicePossession } from '@sigil/sdk/identity';
import {
  addDevice,
  b64u,
  createServiceAccount,
  envelopeLike,
  lookupVerified,
  makeDirectory,
  nextEpoch,
  postStatement,
  serviceSession,
  unb64u,
  type Directory,
} from './directory-fixture.js';
import { AccountResponse } from '../src/directory/schemas.js';

let dir: Directory;
beforeEach(async () => {
  dir = await makeDirectory();
});
afterEach(() => dir.close());

describe('log and health', () => {
  it('serves health, the log key and a checkpoint signed by it', async () => {
    expect((await dir.call('GET', '/v1/health')).body).toEqual({ ok: true, treeSize: 0 });
    const key = await dir.call('GET', '/v1/log/key');
    expect(key.status).toBe(200);
    expect(key.body.origin).toBe('sigil.test/log');
    expect(key.body.vkey).toBe(dir.vkey);
    expect(unb64u(key.body.publicKeyB64)).toHaveLength(65);
    const cp = await dir.call('GET', '/v1/log/checkpoint');
    expect((await dir.openNote(cp.body.note)).size).toBe(0);
  });

  it('signs a new checkpoint after appends; inclusion and consistency proofs verify against checkpoints', async () => {
    const a = await createServiceAccount(dir, 'svc-a');
    const first = await dir.openNote((await dir.call('GET', '/v1/log/checkpoint')).body.note);
    expect(first.size).toBe(1);
    await addDevice(dir, a, 'd1');
    await addDevice(dir, a, 'd2');
    const second = await dir.openNote((await dir.call('GET', '/v1/log/checkpoint')).body.note);
    expect(second.size).toBe(3);
    for (let i = 0; i < 3; i++) {
      const res = await dir.call('GET', `/v1/log/inclusion?index=${i}&size=3`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ index: i, size: 3 });
      await verifyInclusion(i, 3, await hashLeaf(a.statements[i]!), res.body.hashesB64.map(unb64u), second.rootHash);
    }
    const cons = await dir.call('GET', '/v1/log/consistency?from=1&to=3');
    expect(cons.status).toBe(200);
    await verifyConsistency(1, 3, cons.body.hashesB64.map(unb64u), first.rootHash, second.rootHash);
  });

  it('refuses proofs outside the tree with 400', async () => {
    await createServiceAccount(dir, 'svc-a');
    for (const q of ['inclusion?index=1&size=1', 'inclusion?index=0&size=2', 'consistency?from=0&to=1', 'consistency?from=2&to=1', 'consistency?from=1&to=2']) {
      const res = await dir.call('GET', `/v1/log/${q}`);
      expect(res.status, q).toBe(400);
      expect(res.body.error.code).toBe('E_BAD_REQUEST');
    }
  });
});

describe('accounts and statements', () => {
  it('serves an account: statements in order, each with a proof against one checkpoint, a history that verifies', async () => {
    const a = await createServiceAccount(dir, 'alice@example.com');
    const device = await addDevice(dir, a, 'laptop');
    const epoch = await nextEpoch(a, device);
    const res = await postStatement(dir, epoch.statement, epoch.blobs);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.leafIndex).toBe(2);
    expect((await dir.openNote(res.body.checkpoint)).size).toBe(3);
    const { body, checkpoint } = await lookupVerified(dir, 'alice@example.com');
    expect(body.accountId).toBe('alice@example.com');
    expect(body.kind).toBe('service');
    expect(checkpoint.size).toBe(3);
    expect(body.statements.map((s: { leafIndex: number }) => s.leafIndex)).toEqual([0, 1, 2]);
    const state = await verifyAccountLog(body.statements.map((s: { statementB64: string }) => unb64u(s.statementB64)), { accountId: 'alice@example.com' });
    expect(state.userKey?.epoch).toBe(1);
    expect(state.devices.map((d) => d.name)).toEqual(['laptop']);
  });

  it('serves a lookup as ASCII JSON bytes of exactly its schema (AccountResponse), whose checkpoint is the signed note, em dash and all', async () => {
    await createServiceAccount(dir, 'ascii@example.com');
    const note = (await dir.call('GET', '/v1/log/checkpoint')).body.note as string;
    expect(note).toContain('\u2014'); // C2SP signed-note signature lines
    for (let i = 0; i < 3; i++) {
      // Made, then offered to the cache, then served from it: the same bytes each time.
      const res = await dir.app.request('/v1/accounts/ascii@example.com');
      const bytes = new Uint8Array(await res.arrayBuffer());
      expect(res.headers.get('content-type')).toBe('application/json');
      expect(bytes.every((b) => b < 0x80)).toBe(true);
      expect(Number(res.headers.get('content-length') ?? bytes.length)).toBe(bytes.length);
      const body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
      expect(body.checkpoint).toBe(note);
      expect(body.accountId).toBe('ascii@example.com');
      // The hand-written JSON is an AccountResponse: every field of the schema, nothing else.
      expect(AccountResponse.parse(body)).toEqual(body);
      expect(body.statements).toHaveLength(1);
    }
  });

  it('answers 404 E_UNKNOWN_ACCOUNT for an unknown account', async () => {
    const res = await dir.call('GET', '/v1/accounts/nobody');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('E_UNKNOWN_ACCOUNT');
  });

  it('accepts a later statement with no session (self-authenticating) and folds incrementally across epochs', async () => {
    const a = await createServiceAccount(dir, 'svc');
    const d1 = await addDevice(dir, a, 'd1');
    const e1 = await nextEpoch(a, d1);
    expect((await postStatement(dir, e1.statement, e1.blobs)).status).toBe(200);
    a.state = (await verifyAccountLog([...a.statements, e1.statement]));
    a.statements.push(e1.statement);
    await addDevice(dir, a, 'd2');
    const e2 = await nextEpoch(a, d1, e1.userKey);
    expect(e2.blobs).toHaveLength(3); // two devices + the chain link
    const res = await postStatement(dir, e2.statement, e2.blobs);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  });

  it('takes a later statement whatever Authorization header comes with it (expired, malformed)', async () => {
    const a = await createServiceAccount(dir, 'svc');
    const token = await serviceSession(dir, 'svc', a.backend, a.root);
    dir.advance(16 * 60_000);
    const keys = new WebCryptoKeyBackend();
    const s = await keys.generateKeyPair({ usage: 'sign', label: 's' });
    const g = await keys.generateKeyPair({ usage: 'agree', label: 'a' });
    const cert = await signStatement(
      { kind: 'device-certificate', ...chainAfter(a.state, a.root.id, a.state.time), device: { signingKey: s.publicKey, agreementKey: g.publicKey, possessionSignature: await proveDevicePossession(a.state.accountId, { backend: keys, signing: s, agreement: g }), name: 'x' } },
      { backend: a.backend, ref: a.root },
    );
    expect((await postStatement(dir, cert, [], token)).status).toBe(200);
    expect((await dir.call('GET', '/v1/mailbox', { token })).status).toBe(401); // the token did expire
  });

  it('serves blobs only to a session of the account: 401 without, 403 foreign, 404 unknown hash', async () => {
    const a = await createServiceAccount(dir, 'svc-a');
    const b = await createServiceAccount(dir, 'svc-b');
    const device = await addDevice(dir, a);
    const epoch = await nextEpoch(a, device);
    expect((await postStatement(dir, epoch.statement, epoch.blobs)).status).toBe(200);
    const wrap = epoch.wraps[0]!.blob;
    const hash = b64u(new Uint8Array(await crypto.subtle.digest('SHA-256', new Uint8Array(wrap))));
    const path = `/v1/accounts/svc-a/blobs/${hash}`;

    const none = await dir.call('GET', path);
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('E_UNAUTHORIZED');
    const tokenB = await serviceSession(dir, 'svc-b', b.backend, b.root);
    const foreign = await dir.call('GET', path, { token: tokenB });
    expect(foreign.status).toBe(403);
    expect(foreign.body.error.code).toBe('E_FORBIDDEN');

    const tokenA = await serviceSession(dir, 'svc-a', device.backend, device.signing); // a device may sign in too
    const own = await dir.call('GET', path, { token: tokenA });
    expect(own.status).toBe(200);
    expect(unb64u(own.body.dataB64)).toEqual(wrap);
    const missing = await dir.call('GET', `/v1/accounts/svc-a/blobs/${'A'.repeat(43)}`, { token: tokenA });
    expect(missing.status).toBe(404);
  });
});

describe('lookups are cached only while they stay true', () => {
  it('a new statement shows in the next lookup, under a new checkpoint', async () => {
    const a = await createServiceAccount(dir, 'svc');
    const first = await lookupVerified(dir, 'svc');
    expect((await lookupVerified(dir, 'svc')).body).toEqual(first.body); // served again
    await addDevice(dir, a);
    const second = await lookupVerified(dir, 'svc');
    expect(second.body.statements).toHaveLength(2);
    expect(second.checkpoint.size).toBe(2);
    await createServiceAccount(dir, 'other'); // the log grows elsewhere: a newer checkpoint
    expect((await lookupVerified(dir, 'svc')).checkpoint.size).toBe(3);
  });

  it('two server processes on one store: each sees what the other appended', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'sigil-dir-two-')), 'shared.db');
    const backend = new WebCryptoKeyBackend();
    const logBackend = { backend, key: await backend.generateKeyPair({ usage: 'sign', label: 'log' }) };
    const one = await makeDirectory({ file, logBackend });
    const two = await makeDirectory({ file, logBackend });
    try {
      const a = await createServiceAccount(one, 'svc');
      expect((await lookupVerified(two, 'svc')).body.statements).toHaveLength(1); // two caches it
      await addDevice(one, a);
      const seen = await lookupVerified(two, 'svc');
      expect(seen.body.statements).toHaveLength(2);
      expect(seen.checkpoint.size).toBe(2);
      const d = await addDevice(two, a); // and the other way round, through two's fold of the account
      expect((await lookupVerified(one, 'svc')).body.statements).toHaveLength(3);
      expect(d.signing.id).toMatch(/^[0-9a-f]{32}$/);
    } finally {
      await one.close();
      await two.close();
      rmSync(path.dirname(file), { recursive: true, force: true });
    }
  });
});

describe('sessions', () => {
  it('rejects missing, malformed, unknown and expired tokens with 401', async () => {
    const a = await createServiceAccount(dir, 'svc-a');
    const token = await serviceSession(dir, 'svc-a', a.backend, a.root);
    expect(unb64u(token)).toHaveLength(32);
    expect((await dir.call('GET', '/v1/mailbox', { token })).status).toBe(200);
    for (const bad of [undefined, 'x', token.slice(1), b64u(new Uint8Array(32)), `${token}A`]) {
      const res = await dir.call('GET', '/v1/mailbox', { token: bad });
      expect(res.status, String(bad)).toBe(401);
      expect(res.body.error.code).toBe('E_UNAUTHORIZED');
    }
    dir.advance(15 * 60_000);
    expect((await dir.call('GET', '/v1/mailbox', { token })).status).toBe(401);
  });

  it('deletes expired challenges and sessions as new ones are made (at most once a minute)', async () => {
    const a = await createServiceAccount(dir, 'svc-a');
    await serviceSession(dir, 'svc-a', a.backend, a.root); // a session, and a used challenge
    expect((await dir.call('POST', '/v1/auth/service/challenge', { body: { accountId: 'svc-a' } })).status).toBe(200);
    dir.advance(16 * 60_000); // the session and the open challenge have expired
    expect((await dir.call('POST', '/v1/auth/webauthn/login/options', { body: {} })).status).toBe(200); // sweeps
    expect(await dir.store.deleteExpired(dir.now())).toBe(0); // nothing left to delete
  });

  it('stores only SHA-256 of the token and logs neither token nor signature', async () => {
    const a = await createServiceAccount(dir, 'svc-a');
    const token = await serviceSession(dir, 'svc-a', a.backend, a.root);
    expect(await dir.store.getSession(unb64u(token), dir.now())).toMatchObject({ accountId: 'svc-a' });
    const logged = dir.logger.lines.join('');
    expect(logged).not.toContain(token);
    expect(logged).toContain('service session');
  });

  it('service session: refuses a replayed, expired, foreign or wrongly signed challenge, and a signer that is not current', async () => {
    const a = await createServiceAccount(dir, 'svc-a');
    await createServiceAccount(dir, 'svc-b');
    const attempt = async (o: { challengeFor?: string; accountId?: string; sign?: (c: Uint8Array, id: string) => Promise<Uint8Array>; signer?: string; wait?: number; replay?: boolean }) => {
      const ch = await dir.call('POST', '/v1/auth/service/challenge', { body: { accountId: o.challengeFor ?? 'svc-a' } });
      expect(ch.status).toBe(200);
      if (o.wait !== undefined) dir.advance(o.wait);
      const accountId = o.accountId ?? 'svc-a';
      const { serviceSessionSignatureInput } = await import('@sigil/server');
      const sign = o.sign ?? ((c: Uint8Array, id: string) => a.backend.sign(a.root, serviceSessionSignatureInput(c, id)));
      const body = { accountId, challengeB64: ch.body.challengeB64, signerKeyId: o.signer ?? a.root.id, signatureB64: b64u(await sign(unb64u(ch.body.challengeB64), accountId)) };
      const first = await dir.call('POST', '/v1/auth/service/session', { body });
      return o.replay === true ? [first, await dir.call('POST', '/v1/auth/service/session', { body })] : [first];
    };
    const [ok, replay] = await attempt({ replay: true });
    expect(ok!.status).toBe(200);
    expect(replay!.status).toBe(401);
    expect((await attempt({ wait: 2 * 60_000 }))[0]!.status).toBe(401);
    expect((await attempt({ challengeFor: 'svc-b' }))[0]!.status).toBe(401);
    expect((await attempt({ sign: async () => new Uint8Array(64).fill(7) }))[0]!.status).toBe(401);
    const { serviceSessionSignatureInput } = await import('@sigil/server');
    expect((await attempt({ sign: (c) => a.backend.sign(a.root, serviceSessionSignatureInput(c, 'svc-b')) }))[0]!.status).toBe(401);
    // A revoked device cannot sign in.
    const device = await addDevice(dir, a);
    const revocation = await signStatement({ kind: 'device-revocation', ...chainAfter(a.state, a.root.id, a.state.time), deviceId: device.signing.id }, { backend: a.backend, ref: a.root });
    expect((await postStatement(dir, revocation)).status).toBe(200);
    const revoked = await attempt({ signer: device.signing.id, sign: (c, id) => device.backend.sign(device.signing, serviceSessionSignatureInput(c, id)) });
    expect(revoked[0]!.status).toBe(401);
    const unknown = await dir.call('POST', '/v1/auth/service/challenge', { body: { accountId: 'nobody' } });
    expect(unknown.status).toBe(404);
  });
});

describe('mailbox', () => {
  it('sends, lists (own messages only, after an id) and deletes', async () => {
    const a = await createServiceAccount(dir, 'svc-a');
    const b = await createServiceAccount(dir, 'svc-b');
    const ta = await serviceSession(dir, 'svc-a', a.backend, a.root);
    const tb = await serviceSession(dir, 'svc-b', b.backend, b.root);
    const m1 = await dir.call('POST', '/v1/mailbox/svc-b', { body: { envelopeB64: b64u(envelopeLike(300, 1)) }, token: ta });
    const m2 = await dir.call('POST', '/v1/mailbox/svc-b', { body: { envelopeB64: b64u(envelopeLike(301, 4)) }, token: ta });
    expect([m1.status, m2.status]).toEqual([200, 200]);
    const list = await dir.call('GET', '/v1/mailbox', { token: tb });
    expect(list.body.messages.map((m: { senderId: string; envelopeB64: string }) => [m.senderId, m.envelopeB64])).toEqual([
      ['svc-a', b64u(envelopeLike(300, 1))],
      ['svc-a', b64u(envelopeLike(301, 4))],
    ]);
    expect(list.body.messages[0].createdAt).toBe(dir.now());
    expect((await dir.call('GET', '/v1/mailbox', { token: ta })).body.messages).toEqual([]);
    expect((await dir.call('GET', `/v1/mailbox?after=${m1.body.id}`, { token: tb })).body.messages).toHaveLength(1);
    expect((await dir.call('DELETE', `/v1/mailbox/${m1.body.id}`, { token: ta })).status).toBe(404); // not a's message
    const del = await dir.call('DELETE', `/v1/mailbox/${m1.body.id}`, { token: tb });
    expect(del.status).toBe(204);
    expect((await dir.call('DELETE', `/v1/mailbox/${m1.body.id}`, { token: tb })).status).toBe(404);
    expect((await dir.call('GET', '/v1/mailbox', { token: tb })).body.messages).toHaveLength(1);
    const nobody = await dir.call('POST', '/v1/mailbox/nobody', { body: { envelopeB64: b64u(envelopeLike()) }, token: ta });
    expect(nobody.status).toBe(404);
    expect(nobody.body.error.code).toBe('E_UNKNOWN_ACCOUNT');
    expect((await dir.call('POST', '/v1/mailbox/svc-b', { body: { envelopeB64: b64u(envelopeLike()) } })).status).toBe(401);
  });

  it('refuses messages over the store limit (413 E_LIMIT) and bodies over the body limit (413)', async () => {
    const small = await makeDirectory({ store: { limits: { maxMessageBytes: 400 } }, config: { maxBodyBytes: 4096 } });
    try {
      const a = await createServiceAccount(small, 'svc-a');
      const t = await serviceSession(small, 'svc-a', a.backend, a.root);
      expect((await small.call('POST', '/v1/mailbox/svc-a', { body: { envelopeB64: b64u(envelopeLike(400)) }, token: t })).status).toBe(200);
      const over = await small.call('POST', '/v1/mailbox/svc-a', { body: { envelopeB64: b64u(envelopeLike(401)) }, token: t });
      expect(over.status).toBe(413);
      expect(over.body.error.code).toBe('E_LIMIT');
      const huge = await small.call('POST', '/v1/mailbox/svc-a', { body: { envelopeB64: b64u(new Uint8Array(5000)) }, token: t });
      expect(huge.status).toBe(413);
      expect(huge.body.error.code).toBe('E_BODY_TOO_LARGE');
      expect((await small.store.listMessages('svc-a')).length).toBe(1);
    } finally {
      await small.close();
    }
  });
});

describe('OpenAPI', () => {
  it('documents every route of the contract, generated from the schemas', async () => {
    const res = await dir.call('GET', '/v1/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    expect(Object.keys(res.body.paths).sort()).toEqual(
      [
        '/v1/accounts/{id}',
        '/v1/accounts/{id}/backup',
        '/v1/accounts/{id}/blobs/{hashB64}',
        '/v1/auth/service/challenge',
        '/v1/auth/service/session',
        '/v1/auth/webauthn/login/options',
        '/v1/auth/webauthn/login/verify',
        '/v1/auth/webauthn/register/options',
        '/v1/auth/webauthn/register/verify',
        '/v1/health',
        '/v1/log/checkpoint',
        '/v1/log/consistency',
        '/v1/log/inclusion',
        '/v1/log/key',
        '/v1/mailbox',
        '/v1/mailbox/{id}',
        '/v1/mailbox/{recipientId}',
        '/v1/statements',
      ].sort(),
    );
    expect(res.body.paths['/v1/statements'].post.requestBody.content['application/json'].schema).toBeDefined();
  });
});
