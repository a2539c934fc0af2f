// The passkey-backup routes: PUT/GET /v1/accounts/:id/backup, for the account's own sessions
// only, size-limited, error shapes, and their place in the OpenAPI document.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { b64u, createServiceAccount, makeDirectory, serviceSession, unb64u, type Directory } from './directory-fixture.js';

let dir: Directory;
beforeEach(async () => {
  dir = await makeDirectory();
});
afterEach(async () => {
  await dir.close();
});

const path = (id: string) => `/v1/accounts/${encodeURIComponent(id)}/backup`;

function expectError(res: { status: number; body: any }, status: number, code: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body).toEqual({ error: { code, message: expect.any(String) } });
}

describe('passkey backup routes', () => {
  it('stores, serves and replaces the backup of the session account', async () => {
    const a = await createServiceAccount(dir, 'svc-a');
    const token = await serviceSession(dir, 'svc-a', a.backend, a.root);
    expectError(await dir.call('GET', path('svc-a'), { token }), 404, 'E_NOT_FOUND');

    const first = Uint8Array.from({ length: 100 }, (_, i) => i);
    expect((await dir.call('PUT', path('svc-a'), { body: { dataB64: b64u(first) }, token })).status).toBe(204);
    const got = await dir.call('GET', path('svc-a'), { token });
    expect(got.status).toBe(200);
    expect(unb64u(got.body.dataB64)).toEqual(first);
    expect(got.body.updatedAt).toBe(dir.now());

    dir.advance(1000);
    const second = Uint8Array.of(9, 8, 7);
    expect((await dir.call('PUT', path('svc-a'), { body: { dataB64: b64u(second) }, token })).status).toBe(204);
    const again = await dir.call('GET', path('svc-a'), { token });
    expect(unb64u(again.body.dataB64)).toEqual(second);
    expect(again.body.updatedAt).toBe(dir.now());
    // Not reachable as a wrap blob.
    expect((await dir.call('GET', '/v1/accounts/svc-a/blobs/passkey-backup', { token })).status).toBe(400);
  });

  it('needs a session of that very account', async () => {
    const a = await createServiceAccount(dir, 'svc-a');
    const b = await createServiceAccount(dir, 'svc-b');
    const ta = await serviceSession(dir, 'svc-a', a.backend, a.root);
    const tb = await serviceSession(dir, 'svc-b', b.backend, b.root);
    const body = { dataB64: b64u(Uint8Array.of(1, 2, 3)) };
    expect((await dir.call('PUT', path('svc-a'), { body, token: ta })).status).toBe(204);

    expectError(await dir.call('GET', path('svc-a')), 401, 'E_UNAUTHORIZED');
    expectError(await dir.call('PUT', path('svc-a'), { body }), 401, 'E_UNAUTHORIZED');
    expectError(await dir.call('GET', path('svc-a'), { token: 'A'.repeat(43) }), 401, 'E_UNAUTHORIZED');
    expectError(await dir.call('GET', path('svc-a'), { token: tb }), 403, 'E_FORBIDDEN');
    expectError(await dir.call('PUT', path('svc-a'), { body: { dataB64: b64u(Uint8Array.of(6)) }, token: tb }), 403, 'E_FORBIDDEN');
    // Nothing changed for svc-a, and svc-b has none.
    expect(unb64u((await dir.call('GET', path('svc-a'), { token: ta })).body.dataB64)).toEqual(Uint8Array.of(1, 2, 3));
    expectError(await dir.call('GET', path('svc-b'), { token: tb }), 404, 'E_NOT_FOUND');
    // An expired session is refused.
    dir.advance(24 * 60 * 60 * 1000);
    expectError(await dir.call('GET', path('svc-a'), { token: ta }), 401, 'E_UNAUTHORIZED');
  });

  it('refuses malformed and oversized bodies with 4xx, writing nothing', async () => {
    const a = await createServiceAccount(dir, 'svc-a');
    const token = await serviceSession(dir, 'svc-a', a.backend, a.root);
    for (const body of [{}, { dataB64: '' }, { dataB64: 'AB=' }, { dataB64: 'A' }, { dataB64: 'AB+/' }, { dataB64: 'AR' }, { dataB64: 7 }]) {
      const res = await dir.call('PUT', path('svc-a'), { body, token });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toMatch(/^E_(VALIDATION|BAD_REQUEST)$/);
    }
    expect((await dir.call('PUT', path('svc-a'), { raw: '{not json', token })).status).toBe(400);
    expectError(await dir.call('GET', path('svc-a'), { token }), 404, 'E_NOT_FOUND');

    await dir.call('PUT', path('svc-a'), { body: { dataB64: b64u(Uint8Array.of(5)) }, token });
    expectError(await dir.call('PUT', path('svc-a'), { body: { dataB64: b64u(new Uint8Array(64 * 1024 + 1)) }, token }), 413, 'E_LIMIT');
    expect((await dir.call('PUT', path('svc-a'), { body: { dataB64: b64u(new Uint8Array(64 * 1024)) }, token })).status).toBe(204);
    expect(unb64u((await dir.call('GET', path('svc-a'), { token })).body.dataB64).length).toBe(64 * 1024);
    const huge = await dir.call('PUT', path('svc-a'), { body: { dataB64: 'A'.repeat(3 * 1024 * 1024) }, token });
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toMatch(/^E_(BODY_TOO_LARGE|LIMIT)$/);
    expectError(await dir.call('GET', path('bad id'), { token }), 400, 'E_VALIDATION');
    // Only the accepted bodies were stored.
    expect(unb64u((await dir.call('GET', path('svc-a'), { token })).body.dataB64).length).toBe(64 * 1024);
  });

  it('is in the OpenAPI document', async () => {
    const res = await dir.call('GET', '/v1/openapi.json');
    expect(res.status).toBe(200);
    const op = res.body.paths['/v1/accounts/{id}/backup'];
    expect(Object.keys(op).sort()).toEqual(['get', 'put']);
    expect(op.put.security).toEqual([{ bearer: [] }]);
    expect(Object.keys(op.put.responses).sort()).toEqual(['204', '400', '401', '403', '413']);
    expect(res.body.components.schemas.Backup).toBeDefined();
  });
});
