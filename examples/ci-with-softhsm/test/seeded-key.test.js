// A second file: on the same worker it finds the token, and the key the first file seeded.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Pkcs11KeyBackend } from '@sigil/hsm-adapter';
import { seedKeys, SOFTHSM_ROOT_ENV, workerSoftHsmToken } from '@sigil/hsm-adapter/testing';

/** @type {Pkcs11KeyBackend} */
let keys;
/** @type {import('@sigil/hsm-adapter/testing').SoftHsmTestToken} */
let token;
beforeAll(async () => {
  token = await workerSoftHsmToken();
  keys = await Pkcs11KeyBackend.open(token.location);
});
afterAll(async () => {
  await keys?.close();
});

it('the seeded log key is one key, whichever file seeds it first', async () => {
  const { 'directory-log': logKey } = await seedKeys(keys, [{ label: 'directory-log', usage: 'sign' }]);
  expect(await keys.listKeys({ label: 'directory-log' })).toEqual([expect.objectContaining({ id: logKey.id })]);
  expect((await keys.describeKey(logKey)).extractable).toBe(false);
});

it("is this worker's token, in the directory the globalSetup made for the run", () => {
  const root = process.env[SOFTHSM_ROOT_ENV];
  expect(root).toBeTruthy();
  expect(token.dir).toBe(`${root}/worker-${process.env['VITEST_POOL_ID']}`);
});
