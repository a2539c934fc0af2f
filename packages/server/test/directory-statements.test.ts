// Statement submission: valid chains are accepted; every invalid statement or blob set is
// refused with a 4xx and the SigilError code, and NOTHING is written (tree size, accounts,
// statements, blobs, log nodes and checkpoints all unchanged).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebCryptoKeyBackend, type KeyRef } from '@sigil/sdk';
import { chainAfter, signStatement } from '@sigil/sdk/identity';
import { proveDevicePossession } from '@sigil/sdk/identity';
import { SqliteStore, TransparencyLog, createDirectoryApp, type Store } from '@sigil/server';
import {
  addDevice,
  b64u,
  createServiceAccount,
  makeDirectory,
  nextEpoch,
  postStatement,
  signServiceGenesis,
  type Directory,
  type ServiceAccount,
} from './directory-fixture.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'sigil-dir-stmt-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
let dir: Directory;
let file: string;
beforeEach(async () => {
  file = path.join(tmp, `t${n++}.db`);
  dir = await makeDirectory({ file });
});
afterEach(() => dir.close());

const TABLES = ['accounts', 'statements', 'blobs', 'log_nodes', 'checkpoints', 'mailbox', 'webauthn_credentials'] as const;
function snapshot(): Record<string, number> {
  const db = new Database(file, { readonly: true });
  try {
    return Object.fromEntries(TABLES.map((t) => [t, (db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n]));
  } finally {
    db.close();
  }
}

/** Posts and expects a refusal with `status` and `code`, and no write at all. */
async function refused(statement: Uint8Array, blobs: Uint8Array[], status: number, code: string, token?: string): Promise<void> {
  const before = snapshot();
  const size = await dir.store.treeSize();
  const res = await postStatement(dir, statement, blobs, token);
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body.error.code).toBe(code);
  expect(await dir.store.treeSize()).toBe(size);
  expect(snapshot()).toEqual(before);
}

async function deviceCert(account: ServiceAccount, header: Partial<ReturnType<typeof chainAfter>> = {}, signer?: { backend: WebCryptoKeyBackend | ServiceAccount['backend']; ref: KeyRef }) {
  const keys = new WebCryptoKeyBackend();
  const s = await keys.generateKeyPair({ usage: 'sign', label: 's' });
  const a = await keys.generateKeyPair({ usage: 'agree', label: 'a' });
  const by = signer ?? { backend: account.backend, ref: account.root };
  return signStatement(
    { kind: 'device-certificate', ...chainAfter(account.state, by.ref.id, account.state.time), ...header, device: { signingKey: s.publicKey, agreementKey: a.publicKey, possessionSignature: await proveDevicePossession(account.state.accountId, { backend: keys, signing: s, agreement: a }), name: 'x' } },
    by,
  );
}

describe('valid chains', () => {
  it('accepts genesis, device certificates, an epoch with its blobs, a revocation and a new epoch', async () => {
    const a = await createServiceAccount(dir, 'svc');
    const d1 = await addDevice(dir, a, 'd1');
    const d2 = await addDevice(dir, a, 'd2');
    const e1 = await nextEpoch(a, d1);
    expect((await postStatement(dir, e1.statement, e1.blobs)).status).toBe(200);
    const { applyStatement } = await import('@sigil/sdk/identity');
    a.state = await applyStatement(a.state, e1.statement);
    const revoke = await signStatement({ kind: 'device-revocation', ...chainAfter(a.state, a.root.id, a.state.time), deviceId: d2.signing.id }, { backend: a.backend, ref: a.root });
    expect((await postStatement(dir, revoke)).status).toBe(200);
    a.state = await applyStatement(a.state, revoke);
    expect(a.state.rotationNeeded).toBe(true);
    const e2 = await nextEpoch(a, d1, e1.userKey);
    expect((await postStatement(dir, e2.statement, e2.blobs)).status).toBe(200);
    expect(await dir.store.treeSize()).toBe(6);
    expect(snapshot().blobs).toBe(2 + 2); // epoch 1: two wraps; epoch 2: one wrap + chain link
  });
});

describe('invalid statements are refused and nothing is written', () => {
  it('malformed bytes: 422 E_FORMAT', async () => {
    const a = await createServiceAccount(dir, 'svc');
    const good = await deviceCert(a);
    await refused(good.subarray(0, good.length - 1), [], 422, 'E_FORMAT');
    await refused(Uint8Array.of(...good, 0), [], 422, 'E_FORMAT');
    await refused(new Uint8Array(100), [], 422, 'E_FORMAT');
  });

  it('a bad signature, on a genesis and on a later statement', async () => {
    const backend = new WebCryptoKeyBackend();
    const root = await backend.generateKeyPair({ usage: 'sign', label: 'r' });
    const genesis = await signServiceGenesis('svc-new', backend, root);
    genesis[genesis.length - 1]! ^= 1;
    await refused(genesis, [], 422, 'E_DIRECTORY_PROOF');
    expect(await dir.store.getAccount('svc-new')).toBeUndefined();
    const a = await createServiceAccount(dir, 'svc');
    const cert = await deviceCert(a);
    cert[cert.length - 5]! ^= 0x80;
    await refused(cert, [], 422, 'E_DIRECTORY_PROOF');
  });

  it('a wrong seq, a wrong prev, a time before the previous statement, a replay, a second genesis', async () => {
    const a = await createServiceAccount(dir, 'svc');
    await refused(await deviceCert(a, { seq: 2 }), [], 422, 'E_DIRECTORY_PROOF');
    await refused(await deviceCert(a, { seq: 0 }), [], 422, 'E_DIRECTORY_PROOF');
    await refused(await deviceCert(a, { prev: new Uint8Array(32).fill(9) }), [], 422, 'E_DIRECTORY_PROOF');
    await refused(await deviceCert(a, { time: a.state.time - 1 }), [], 422, 'E_DIRECTORY_PROOF');
    await refused(a.statements[0]!, [], 422, 'E_DIRECTORY_PROOF');
    // A second genesis links where the first did: a lost race for the id (issue 13, item 5).
    await refused(await signServiceGenesis('svc', a.backend, a.root), [], 409, 'E_CONFLICT');
    await addDevice(dir, a);
    await refused(a.statements[1]!, [], 422, 'E_DIRECTORY_PROOF'); // replay of an accepted statement
  });

  it("a statement for another account, signed by a key that is not that account's root", async () => {
    const a = await createServiceAccount(dir, 'svc-a');
    const b = await createServiceAccount(dir, 'svc-b');
    await refused(await deviceCert(a, {}, { backend: b.backend, ref: b.root }), [], 422, 'E_DIRECTORY_PROOF');
    // ...and a device certificate of a that names b in its header
    await refused(await deviceCert(a, { accountId: 'svc-b' }), [], 422, 'E_DIRECTORY_PROOF');
  });

  it('an epoch signed by a revoked device: 422 E_KEY_REVOKED', async () => {
    const a = await createServiceAccount(dir, 'svc');
    const d1 = await addDevice(dir, a, 'd1');
    const d2 = await addDevice(dir, a, 'd2');
    const revoke = await signStatement({ kind: 'device-revocation', ...chainAfter(a.state, a.root.id, a.state.time), deviceId: d2.signing.id }, { backend: a.backend, ref: a.root });
    const { applyStatement } = await import('@sigil/sdk/identity');
    const before = a.state;
    expect((await postStatement(dir, revoke)).status).toBe(200);
    a.state = await applyStatement(a.state, revoke);
    // An epoch made before the revocation would be signed by d2 at the old head: stale and revoked signer.
    const stale = await nextEpoch({ ...a, state: before }, d2);
    // Made from a head the account had: refetch and retry (409), which then meets the revocation.
    await refused(stale.statement, stale.blobs, 409, 'E_CONFLICT');
    // Built on the current head but signed by d2 (statement crafted by hand).
    const { createUserKeyEpoch } = await import('@sigil/sdk/identity');
    const forged = await createUserKeyEpoch({ ...a.state, devices: [...a.state.devices, ...a.state.revokedDevices] }, { signer: { backend: d2.backend, ref: d2.signing }, time: a.state.time });
    await refused(forged.statement, forged.wraps.map((w) => w.blob), 422, 'E_KEY_REVOKED');
    expect(d1.signing.id).not.toBe(d2.signing.id);
  });

  it('blobs: missing, extra, wrong, duplicated, or given with a statement that takes none', async () => {
    const a = await createServiceAccount(dir, 'svc');
    const d1 = await addDevice(dir, a, 'd1');
    await addDevice(dir, a, 'd2');
    const e = await nextEpoch(a, d1);
    expect(e.blobs).toHaveLength(2);
    const other = new Uint8Array(e.blobs[0]!.length).fill(3);
    await refused(e.statement, [], 422, 'E_DIRECTORY_PROOF');
    await refused(e.statement, [e.blobs[0]!], 422, 'E_DIRECTORY_PROOF');
    await refused(e.statement, [...e.blobs, other], 422, 'E_DIRECTORY_PROOF');
    await refused(e.statement, [e.blobs[0]!, other], 422, 'E_DIRECTORY_PROOF');
    await refused(e.statement, [e.blobs[0]!, e.blobs[0]!], 422, 'E_DIRECTORY_PROOF');
    const tampered = Uint8Array.from(e.blobs[1]!);
    tampered[10]! ^= 1;
    await refused(e.statement, [e.blobs[0]!, tampered], 422, 'E_DIRECTORY_PROOF');
    await refused(await deviceCert(a), [other], 422, 'E_DIRECTORY_PROOF');
    expect((await postStatement(dir, e.statement, [e.blobs[1]!, e.blobs[0]!])).status).toBe(200); // any order
  });

  it('a statement over the store limit: 413 E_LIMIT', async () => {
    await dir.close();
    file = path.join(tmp, `t${n++}.db`);
    dir = await makeDirectory({ file, store: { limits: { maxStatementBytes: 200 } } });
    const backend = new WebCryptoKeyBackend();
    const root = await backend.generateKeyPair({ usage: 'sign', label: 'r' });
    const genesis = await signServiceGenesis('a-rather-long-account-id-'.repeat(4), backend, root);
    expect(genesis.length).toBeGreaterThan(200);
    await refused(genesis, [], 413, 'E_LIMIT');
  });

  it('two valid successors of one head submitted at once: one is logged, the other refused', async () => {
    const a = await createServiceAccount(dir, 'svc');
    const [x, y] = await Promise.all([deviceCert(a), deviceCert(a)]);
    const results = await Promise.all([postStatement(dir, x!), postStatement(dir, y!)]);
    // The loser is told it lost a race (docs/DIRECTORY.md), not that its statement is invalid.
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    expect(results.find((r) => r.status === 409)!.body.error.code).toBe('E_CONFLICT');
    expect(await dir.store.treeSize()).toBe(2);
  });

  it('two server processes on one database fold the same head: one successor lands, the other is 409 E_CONFLICT, nothing written', async () => {
    const a = await createServiceAccount(dir, 'svc');
    const [x, y] = await Promise.all([deviceCert(a), deviceCert(a)]);
    // Process B: its own connection to the file. Its read of the account's history is held at the
    // head both processes saw, as when B folds while A's append commits.
    const storeB = new SqliteStore(file);
    const seen = await storeB.listStatements('svc');
    const viewB = new Proxy(storeB, {
      get(target, p) {
        if (p === 'listStatements') return async () => seen;
        const v: unknown = Reflect.get(target, p, target);
        return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(target) : v;
      },
    }) as Store;
    const backend = new WebCryptoKeyBackend();
    const log = new TransparencyLog(viewB, { origin: 'b.test/log', signer: { backend, key: await backend.generateKeyPair({ usage: 'sign', label: 'b' }) } });
    const b = createDirectoryApp({ store: viewB, log });
    try {
      expect((await postStatement(dir, x!)).status).toBe(200);
      const before = snapshot();
      const res = await b.app.request('/v1/statements', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ statementB64: b64u(y!) }) });
      expect(res.status).toBe(409);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('E_CONFLICT');
      expect(snapshot()).toEqual(before);
      expect((await dir.store.listStatements('svc')).map((s) => s.bytes)).toEqual([a.statements[0], x]);
    } finally {
      await storeB.close();
    }
  });
});
