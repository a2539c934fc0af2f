// The directory with keys in a PKCS#11 token (SoftHSM): the log key generated on the token on
// first start and found again on the next, and a service account whose root lives on the token
// signs its genesis and its session challenge through Pkcs11KeyBackend.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pkcs11KeyBackend } from '@sigil/hsm-adapter';
import { openCheckpoint, parseLogVerifierKey } from '@sigil/sdk/transparency';
import { openPkcs11LogKey, silentLogger, type LoadedLogKey } from '@sigil/server';
import { createSoftHsmTestToken, type SoftHsmTestToken } from '@sigil/hsm-adapter/testing';
import { addDevice, createServiceAccount, lookupVerified, makeDirectory, serviceSession, type Directory } from './directory-fixture.js';

let token: SoftHsmTestToken;
let backend: Pkcs11KeyBackend;
let logKey: LoadedLogKey;
let dir: Directory;

beforeAll(async () => {
  token = await createSoftHsmTestToken({ label: 'sigil-directory' });
  const location = token.location;
  logKey = await openPkcs11LogKey({ ...location, label: 'sigil-log' }, silentLogger);
  backend = await Pkcs11KeyBackend.open(location);
  dir = await makeDirectory({ logBackend: { backend: logKey.signer.backend, key: logKey.signer.key } });
});
afterAll(async () => {
  await dir?.close();
  await backend?.close();
  await logKey?.close();
  await token?.remove();
});

describe('directory with SoftHSM keys', () => {
  it('keeps the log key on the token: generated once, found again by label, non-extractable', async () => {
    const again = await openPkcs11LogKey({ ...token.location, label: 'sigil-log' }, silentLogger);
    try {
      expect(again.signer.key.id).toBe(logKey.signer.key.id);
      expect(await again.signer.backend.describeKey(again.signer.key)).toMatchObject({ extractable: false, sensitive: true });
    } finally {
      await again.close();
    }
    expect((await backend.listKeys({ label: 'sigil-log', usage: 'sign' })).map((k) => k.id)).toEqual([logKey.signer.key.id]);
  });

  it('a service account rooted on the token: genesis, device, session by the token root, proofs under the token-signed checkpoint', async () => {
    const svc = await createServiceAccount(dir, 'billing@example.com', backend);
    expect(await backend.describeKey(svc.root)).toMatchObject({ extractable: false });
    await addDevice(dir, svc, 'worker');
    const session = await serviceSession(dir, 'billing@example.com', backend, svc.root);
    expect((await dir.call('GET', '/v1/mailbox', { token: session })).status).toBe(200);
    const { checkpoint } = await lookupVerified(dir, 'billing@example.com');
    expect(checkpoint.size).toBe(2);
    const note = (await dir.call('GET', '/v1/log/checkpoint')).body.note as string;
    const pinned = await parseLogVerifierKey((await dir.log.verifierKey()).vkey);
    expect((await openCheckpoint(note, pinned)).size).toBe(2);
  });
});
